/**
 * The text-encoder contract used to build concept spaces, and an adapter that turns any
 * "token ids in, embeddings out" function (e.g. the tfjs text tower of `@lss/backbone`, wired by the
 * apps) into a {@link TextEncoder}.
 */
import { ConfigError, formatShape, ShapeError } from '@lss/core';
import { assertNonEmptyText, type TokenizedBatch, type TokenizeOptions, type Tokenizer } from './tokens.js';

/** Embeddings as host data: row-major `[N, D]` float32 (unnormalised, as CLIP returns them). */
export interface TextEmbeddings {
  readonly data: Float32Array;
  readonly shape: readonly [number, number];
}

/**
 * Anything that embeds texts into CLIP's joint space. `id` names the model (folder or hub id),
 * `modelHash` is the SHA-256 of the weights file, used for provenance and cache keys.
 * (Named `TextEncoder` after the issue; alias {@link ConceptTextEncoder} avoids shadowing the global
 * WHATWG `TextEncoder` in files that need both.)
 */
export interface TextEncoder {
  readonly id: string;
  readonly modelHash: string;
  encode(texts: readonly string[]): Promise<TextEmbeddings>;
  /** Releases sessions or tensors held by the engine (optional). */
  dispose?(): Promise<void> | void;
}
export type ConceptTextEncoder = TextEncoder;

/** Options of {@link createTokenizedTextEncoder}. */
export interface TokenizedTextEncoderOptions {
  readonly tokenizer: Tokenizer;
  /**
   * Embeds `n` rows of ids (`ids` is `[n, contextLength]` int32, row-major; `batch.lengths[i] - 1` is
   * the EOT position of row i). Returns `[n, D]` float32 row-major (unnormalised or not: the concept
   * space normalises).
   */
  readonly embedIds: (ids: Int32Array, n: number, batch: TokenizedBatch) => Promise<Float32Array> | Float32Array;
  readonly id: string;
  readonly modelHash: string;
  /** Rows per `embedIds` call (default 256). */
  readonly batchSize?: number;
  readonly tokenizeOptions?: TokenizeOptions;
  readonly dispose?: () => Promise<void> | void;
}

/**
 * Makes a {@link TextEncoder} from a tokenizer and an id embedder. Texts are tokenised (errors on
 * empty/too-long texts), split into batches of `batchSize`, and the results concatenated and checked
 * (length a multiple of n, same D for every batch, finite values).
 *
 * @example
 * const encoder = createTokenizedTextEncoder({
 *   tokenizer, id: 'clip-b32', modelHash,
 *   embedIds: async (ids, n) => {
 *     const idsT = tf.tensor2d(ids, [n, 77], 'int32');
 *     const out = textTower.apply(idsT) as tf.Tensor2D; // [n, D]
 *     const data = (await out.data()) as Float32Array;
 *     tf.dispose([idsT, out]);
 *     return data;
 *   },
 * });
 */
export function createTokenizedTextEncoder(options: TokenizedTextEncoderOptions): TextEncoder {
  const batchSize = options.batchSize ?? 256;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new ConfigError(`batchSize: received ${batchSize}; expected a positive integer.`);
  }
  if (typeof options.embedIds !== 'function') {
    throw new ConfigError('embedIds: expected a function (ids: Int32Array, n: number) => Promise<Float32Array>.');
  }
  const { tokenizer } = options;
  const encoder: TextEncoder = {
    id: options.id,
    modelHash: options.modelHash,
    async encode(texts: readonly string[]): Promise<TextEmbeddings> {
      texts.forEach((t, i) => {
        assertNonEmptyText(t, i);
      });
      const all = tokenizer.tokenize(texts, options.tokenizeOptions);
      const n = texts.length;
      const l = all.shape[1];
      if (n === 0) return { data: new Float32Array(0), shape: [0, 0] };
      const parts: Float32Array[] = [];
      let dim = -1;
      for (let start = 0; start < n; start += batchSize) {
        const m = Math.min(batchSize, n - start);
        const batch: TokenizedBatch = {
          ids: all.ids.subarray(start * l, (start + m) * l), // [m, L]
          shape: [m, l],
          lengths: all.lengths.subarray(start, start + m),
        };
        const out = await options.embedIds(batch.ids, m, batch);
        if (!(out instanceof Float32Array) || out.length === 0 || out.length % m !== 0) {
          throw new ShapeError(
            `embedIds returned ${out instanceof Float32Array ? `${out.length} floats` : typeof out} for ${m} rows; expected a Float32Array of m * D values ([${m}, D] row-major).`,
          );
        }
        const d = out.length / m;
        if (dim >= 0 && d !== dim) {
          throw new ShapeError(
            `embedIds returned ${formatShape([m, d])} after ${formatShape([m, dim])}; every batch must have the same D.`,
          );
        }
        dim = d;
        for (let i = 0; i < out.length; i++) {
          if (!Number.isFinite(out[i])) {
            throw new ShapeError(
              `embedIds returned a non-finite value (${out[i]}) at row ${start + Math.floor(i / d)}; check the text tower weights.`,
            );
          }
        }
        parts.push(out);
      }
      const data = new Float32Array(n * dim); // [N, D]
      let offset = 0;
      for (const p of parts) {
        data.set(p, offset);
        offset += p.length;
      }
      return { data, shape: [n, dim] };
    },
  };
  if (options.dispose) encoder.dispose = options.dispose;
  return encoder;
}
