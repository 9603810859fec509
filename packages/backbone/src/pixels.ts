/**
 * CLIP pixel normalisation. Inputs of every vision entry point are CLIP-normalised, channels-last.
 */
import { ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';

/** CLIP's per-channel RGB mean (OpenAI clip/clip.py `_transform`). */
export const CLIP_MEAN: readonly [number, number, number] = Object.freeze([0.48145466, 0.4578275, 0.40821073]) as readonly [
  number,
  number,
  number,
];
/** CLIP's per-channel RGB standard deviation. */
export const CLIP_STD: readonly [number, number, number] = Object.freeze([0.26862954, 0.26130258, 0.27577711]) as readonly [
  number,
  number,
  number,
];

/**
 * `(x - mean) / std` over the last (channel) axis.
 *
 * Input shape: `[..., 3]`, RGB in [0, 1] (divide uint8 frames by 255 first).
 * Output shape: same, float32.
 */
export function normalizeClipPixels<T extends tf.Tensor>(pixels: T): T {
  const c = pixels.shape[pixels.rank - 1];
  if (c !== 3) {
    throw new ShapeError(`normalizeClipPixels: the last axis has size ${c}; expected 3 (RGB, channels-last).`);
  }
  return tf.tidy(() => tf.div(tf.sub(tf.cast(pixels, 'float32'), tf.tensor1d([...CLIP_MEAN])), tf.tensor1d([...CLIP_STD]))) as T;
}
