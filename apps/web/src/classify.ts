/**
 * Zero-shot labels for one sampled view, as `lss-eval classify` computes them (apps/eval `classifyVideo`):
 * class prototypes = `buildZeroShotClassifier` of `@lss/concepts` (per label: the L2-normalised text embeddings
 * of every prompt template, averaged, normalised again; templates `DEFAULT_CATEGORY_TEMPLATES`), the video
 * embedding is L2-normalised, the score of a label is the cosine, and the probability is
 * `softmax(100 * cosine)` over the labels (CLIP's logit scale).
 */
import { buildZeroShotClassifier, createTokenizedTextEncoder, DEFAULT_CATEGORY_TEMPLATES } from '@lss/concepts';
import { ConfigError, ShapeError } from '@lss/core';
import type { HostVideo } from '@lss/data';
import type * as Ort from 'onnxruntime-web';
import type { ModelFolder } from './model-folder.js';

export interface RankedLabel {
  readonly label: string;
  /** Cosine between the video and the label's prototype, in [-1, 1]. */
  readonly cosine: number;
  /** `softmax(100 * cosine)` over all labels. */
  readonly probability: number;
}

/** Splits a comma- or newline-separated list, trimming and dropping empty entries. */
export function parseLabels(text: string): string[] {
  return text
    .split(/[,\n]/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}

/** `[K, D]` unit-norm class prototypes for `labels`, from the folder's ONNX text tower. */
export async function labelPrototypes(
  ort: typeof Ort,
  model: ModelFolder,
  labels: readonly string[],
): Promise<{ matrix: Float32Array; dim: number }> {
  if (labels.length < 1) throw new ConfigError('No labels given; type at least one, e.g. "waving, jumping".');
  const encoder = createTokenizedTextEncoder({
    tokenizer: model.tokenizer,
    id: model.url,
    modelHash: 'browser',
    batchSize: 64,
    async embedIds(ids, n, batch) {
      const input = new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (v) => BigInt(v)),
        [n, batch.shape[1]],
      ); // [n, 77]
      const out = await model.text.run({ input_ids: input });
      const emb = out.text_embeds;
      if (!emb || emb.dims.length !== 2 || emb.dims[0] !== n) {
        throw new ShapeError(`onnx/text_model.onnx returned text_embeds ${emb ? `[${emb.dims.join(', ')}]` : 'none'}; expected [${n}, D].`);
      }
      return Float32Array.from(emb.data as Float32Array);
    },
  });
  const zs = await buildZeroShotClassifier(encoder, labels, { templates: DEFAULT_CATEGORY_TEMPLATES, source: 'labels typed in the page' });
  return { matrix: zs.space.matrix, dim: zs.space.shape[1] };
}

/** `video_embeds [1, D]` of one `[T, S, S, 3]` view. */
export async function embedView(ort: typeof Ort, model: ModelFolder, view: HostVideo): Promise<Float32Array> {
  const { frames: T, imageSize: S } = model.meta;
  const want = [T, S, S, 3];
  if (view.shape.length !== 4 || view.shape.some((v, i) => v !== want[i])) {
    throw new ShapeError(`The sampled view has shape [${view.shape.join(', ')}]; the model expects [${want.join(', ')}] (lss_video.json).`);
  }
  const input = new ort.Tensor('float32', view.data, [1, T, S, S, 3]);
  const out = await model.video.run({ pixel_values: input });
  const emb = out.video_embeds;
  if (!emb || emb.dims.length !== 2 || emb.dims[0] !== 1) {
    throw new ShapeError(`onnx/video_model.onnx returned video_embeds ${emb ? `[${emb.dims.join(', ')}]` : 'none'}; expected [1, D].`);
  }
  const data = Float32Array.from(emb.data as Float32Array);
  for (const v of data) {
    if (!Number.isFinite(v)) throw new ShapeError('The video tower returned a non-finite embedding; check the exported weights.');
  }
  return data;
}

/** Labels ranked by cosine (ties keep label order). */
export function rankLabels(
  videoEmbedding: Float32Array,
  prototypes: { matrix: Float32Array; dim: number },
  labels: readonly string[],
): RankedLabel[] {
  const d = prototypes.dim;
  if (videoEmbedding.length !== d) {
    throw new ShapeError(
      `The video embedding has ${videoEmbedding.length} values but the text prototypes have D = ${d}; the two towers come from different models.`,
    );
  }
  let norm = 0;
  for (const v of videoEmbedding) norm += v * v;
  const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
  const cos = labels.map((_, k) => {
    let s = 0;
    for (let j = 0; j < d; j++) s += (videoEmbedding[j] as number) * inv * (prototypes.matrix[k * d + j] as number);
    return s;
  });
  const logits = cos.map((c) => 100 * c);
  const max = Math.max(...logits);
  const exp = logits.map((l) => Math.exp(l - max));
  const sum = exp.reduce((a, b) => a + b, 0);
  return labels
    .map((label, k) => ({ label, cosine: cos[k] as number, probability: (exp[k] as number) / sum, k }))
    .sort((a, b) => b.cosine - a.cosine || a.k - b.k)
    .map(({ label, cosine, probability }) => ({ label, cosine, probability }));
}
