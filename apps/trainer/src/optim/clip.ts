/**
 * Global gradient-norm clipping, as `torch.nn.utils.clip_grad_norm_`: the total L2 norm over all
 * gradients, and a common scale `min(1, maxNorm / (norm + 1e-6))`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The L2 norm over all gradients together, as a scalar tensor. */
export function globalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.tidy(() => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    if (squares.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(squares)) as tf.Scalar;
  });
}

/** The clipping factor `min(1, maxNorm / (norm + 1e-6))` of `torch.nn.utils.clip_grad_norm_`. */
export function clipScale(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/**
 * Scales `grads` so their global norm is at most `maxNorm`. Returns new tensors (the caller owns
 * both maps) and the norm before clipping.
 */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: tf.Scalar } {
  return tf.tidy(() => {
    const norm = globalNorm(grads);
    const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(maxNorm), tf.add(norm, 1e-6)));
    const clipped: tf.NamedTensorMap = {};
    for (const [name, g] of Object.entries(grads)) clipped[name] = tf.mul(g, scale);
    return { grads: clipped, norm };
  });
}
