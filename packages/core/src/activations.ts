/**
 * Activations shared by the towers and the heads, one definition each (the backbone's MLPs and the
 * DINO head use the same exact GELU).
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * Exact GELU, `0.5 x (1 + erf(x / √2))` (PyTorch `nn.GELU()` default, TimeSformer, DINO's head).
 * Input and output: any shape (new tensor).
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}
