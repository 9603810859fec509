/**
 * The ONNX text engine: CLIP's text tower as `onnx/text_model.onnx`, run by transformers.js'
 * `CLIPTextModelWithProjection` (onnxruntime-node, fp32, CPU). The session is created on the first
 * `encode` call, so building an encoder only to hit a cache costs one file hash.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ShapeError, WeightsError } from '@lss/core';
import { createTokenizedTextEncoder, type TextEncoder } from '../encoder.js';
import type { Tokenizer } from '../tokens.js';
import { findTextWeights, hashFile, ONNX_TEXT_MODEL } from './model-files.js';
import { loadClipTokenizer } from './tokenizer.js';
import { transformers, withModelLocation } from './transformers-env.js';

export interface OnnxTextEncoderOptions {
  /** A tokenizer to use instead of the folder's own. */
  readonly tokenizer?: Tokenizer;
  /** Rows per ONNX call (default 64). */
  readonly batchSize?: number;
  /** Model id for provenance (default: the folder name). */
  readonly id?: string;
}

interface OnnxModel {
  (inputs: Record<string, unknown>): Promise<Record<string, { dims: number[]; data: Float32Array }>>;
  dispose(): Promise<unknown>;
}

/**
 * Text encoder for a local CLIP folder with `onnx/text_model.onnx`. A folder with only safetensors
 * text weights is a {@link WeightsError} that points to the tfjs engine ({@link createTokenizedTextEncoder}
 * with `@lss/backbone`'s text tower, wired by the apps); a folder without text weights is one too.
 */
export async function loadOnnxTextEncoder(modelDir: string, options: OnnxTextEncoderOptions = {}): Promise<TextEncoder> {
  const weights = findTextWeights(modelDir);
  if (weights.format !== 'onnx') {
    throw new WeightsError(
      `Model folder ${modelDir} has safetensors text weights (${basename(weights.path)}) but no ${ONNX_TEXT_MODEL}; the ONNX engine needs the ONNX export. Use createTokenizedTextEncoder with the tfjs text tower of @lss/backbone for safetensors-only checkpoints.`,
    );
  }
  if (!existsSync(resolve(modelDir, 'config.json'))) {
    throw new WeightsError(
      `Model folder ${modelDir} has ${ONNX_TEXT_MODEL} but no config.json; transformers.js needs the Hugging Face CLIPConfig next to it.`,
    );
  }
  const tokenizer = options.tokenizer ?? (await loadClipTokenizer(modelDir));
  const modelHash = hashFile(weights.path);
  let model: Promise<OnnxModel> | undefined;
  const getModel = (): Promise<OnnxModel> => {
    model ??= (async () => {
      const { CLIPTextModelWithProjection } = await transformers();
      return (await withModelLocation(modelDir, true, (id) =>
        CLIPTextModelWithProjection.from_pretrained(id, { dtype: 'fp32', device: 'cpu' }),
      )) as unknown as OnnxModel;
    })();
    return model;
  };
  return createTokenizedTextEncoder({
    tokenizer,
    id: options.id ?? basename(resolve(modelDir)),
    modelHash,
    batchSize: options.batchSize ?? 64,
    async embedIds(ids, n, batch) {
      const { Tensor } = await transformers();
      const m = await getModel();
      const l = batch.shape[1];
      const input = new Tensor(
        'int64',
        BigInt64Array.from(ids, (v) => BigInt(v)),
        [n, l],
      ); // [n, L]
      const out = await m({ input_ids: input });
      const emb = out.text_embeds;
      if (!emb || emb.dims.length !== 2 || emb.dims[0] !== n) {
        throw new ShapeError(`${ONNX_TEXT_MODEL} returned text_embeds ${emb ? `[${emb.dims.join(', ')}]` : 'none'}; expected [${n}, D].`);
      }
      return Float32Array.from(emb.data);
    },
    async dispose() {
      if (model) await (await model).dispose();
      model = undefined;
    },
  });
}
