/**
 * The tfjs text engine: CLIP's text tower from `@lss/backbone` (`ClipModel.encodeText`) behind
 * `@lss/concepts`' {@link TextEncoder} contract, through its `createTokenizedTextEncoder` adapter and a
 * Hugging Face tokenizer (`loadClipTokenizer`). Used where a CLIP folder has only safetensors
 * weights (no `onnx/text_model.onnx`), and by the trainer, which keeps one engine for everything.
 */
import type { ClipModel } from '@lss/backbone';
import { createTokenizedTextEncoder, type TextEncoder, type Tokenizer } from '@lss/concepts';
import * as tf from '@tensorflow/tfjs-core';

export interface TfjsTextEncoderOptions {
  /** Model id for provenance (default: the tokenizer's id). */
  readonly id?: string;
  /** SHA-256 of the weights file, for provenance and concept-space cache keys (default 'unknown'). */
  readonly modelHash?: string;
  /** Texts per text-tower call (default 64). */
  readonly batchSize?: number;
}

/**
 * A {@link TextEncoder} running `clip.encodeText` on tokenizer ids. Each batch is cut to its longest
 * text (the tower uses a causal mask and pools at the end-of-text token, so the trailing padding never
 * changes an embedding; cutting it saves most of the compute for short labels).
 *
 * @example
 * const clip = await loadClip('models/clip-vit-b16');
 * const tokenizer = await loadClipTokenizer('models/clip-vit-b16');
 * const encoder = createTfjsTextEncoder(clip, tokenizer, { modelHash });
 * const { data, shape } = await encoder.encode(['archery']); // [1, 512], unnormalised
 */
export function createTfjsTextEncoder(clip: ClipModel, tokenizer: Tokenizer, options: TfjsTextEncoderOptions = {}): TextEncoder {
  return createTokenizedTextEncoder({
    tokenizer,
    id: options.id ?? tokenizer.id,
    modelHash: options.modelHash ?? 'unknown',
    batchSize: options.batchSize ?? 64,
    async embedIds(ids, n, batch) {
      const context = batch.shape[1];
      let longest = 1;
      for (let i = 0; i < n; i++) longest = Math.max(longest, batch.lengths[i] as number);
      const trimmed = new Int32Array(n * longest); // [n, longest]
      for (let i = 0; i < n; i++) trimmed.set(ids.subarray(i * context, i * context + longest), i * longest);
      const out = tf.tidy(() => clip.encodeText(tf.tensor2d(trimmed, [n, longest], 'int32'))); // [n, E]
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
  });
}
