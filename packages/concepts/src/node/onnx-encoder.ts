/**
 * The ONNX text engine: CLIP's text tower as `onnx/text_model.onnx` (Hugging Face / transformers.js layout:
 * input `input_ids` int64 `[N, 77]`, output `text_embeds` `[N, D]`), run by onnxruntime-node (optional peer
 * dependency, fp32, CPU). The session is created on the first `encode` call, so building an encoder only to
 * hit a cache costs one file hash.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ShapeError, WeightsError } from '@lss/core';
import { createTokenizedTextEncoder, type TextEncoder } from '../encoder.js';
import type { Tokenizer } from '../tokens.js';
import { findTextWeights, hashFile, ONNX_TEXT_MODEL } from './model-files.js';
import { loadOnnxRuntime } from './onnx-runtime.js';
import { loadClipTokenizer } from './tokenizer.js';

export interface OnnxTextEncoderOptions {
  /** A tokenizer to use instead of the folder's own. */
  readonly tokenizer?: Tokenizer;
  /** Rows per ONNX call (default 64). */
  readonly batchSize?: number;
  /** Model id for provenance (default: the folder name). */
  readonly id?: string;
  /** onnxruntime intra-op threads (default: onnxruntime's own choice). */
  readonly threads?: number;
}

type OnnxSession = Awaited<ReturnType<Awaited<ReturnType<typeof loadOnnxRuntime>>['InferenceSession']['create']>>;

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
      `Model folder ${modelDir} has ${ONNX_TEXT_MODEL} but no config.json; expected the Hugging Face CLIPConfig next to it (transformers.js and the web page need it).`,
    );
  }
  const tokenizer = options.tokenizer ?? (await loadClipTokenizer(modelDir));
  const modelHash = hashFile(weights.path);
  let model: Promise<OnnxSession> | undefined;
  const getModel = (): Promise<OnnxSession> => {
    model ??= (async () => {
      const ort = await loadOnnxRuntime();
      try {
        return await ort.InferenceSession.create(weights.path, {
          executionProviders: ['cpu'],
          ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
        });
      } catch (e) {
        throw new WeightsError(
          `${weights.path} could not be loaded by onnxruntime (${(e as Error).message.split('\n')[0]}); expected a valid ONNX text tower (re-export it, or check the file is complete).`,
        );
      }
    })();
    model.catch(() => {
      model = undefined;
    });
    return model;
  };
  return createTokenizedTextEncoder({
    tokenizer,
    id: options.id ?? basename(resolve(modelDir)),
    modelHash,
    batchSize: options.batchSize ?? 64,
    async embedIds(ids, n, batch) {
      const ort = await loadOnnxRuntime();
      const m = await getModel();
      const l = batch.shape[1];
      const input = new ort.Tensor(
        'int64',
        BigInt64Array.from(ids, (v) => BigInt(v)),
        [n, l],
      ); // [n, L]
      const out = await m.run({ input_ids: input });
      const emb = out.text_embeds as { dims: readonly number[]; data: Float32Array } | undefined;
      if (!emb || emb.dims.length !== 2 || emb.dims[0] !== n) {
        throw new ShapeError(`${ONNX_TEXT_MODEL} returned text_embeds ${emb ? `[${emb.dims.join(', ')}]` : 'none'}; expected [${n}, D].`);
      }
      return Float32Array.from(emb.data);
    },
    async dispose() {
      if (model) await (await model).release();
      model = undefined;
    },
  });
}
