/**
 * Gradient isolation for teacher tensors. tfjs has no `stop_gradient`; this identity passes a zero
 * gradient back, so nothing computed from a teacher tensor can move whatever produced it.
 */
import * as tf from '@tensorflow/tfjs-core';

const identityWithoutGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/**
 * Identity in the forward pass, zero gradient in the backward pass (PyTorch `.detach()`).
 * Returns a new tensor (the caller disposes it, or calls inside `tf.tidy`).
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  return identityWithoutGradient(x) as T;
}
