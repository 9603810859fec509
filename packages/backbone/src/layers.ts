/**
 * Stateless building blocks (functions of tensors and weight records). Channels-last; linear kernels
 * are `[in, out]`. No `transposeA/B` flags anywhere: the wasm backend runs them 10-40x slower
 * (FACTS.md, "transpose trap"), so `q kᵀ` is written `matMul(q, transpose(k))`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from './config.js';
import { geluFused, layerNormFused, linearFused, quickGeluFused, reshapeLean, scaleLean } from './fused.js';

export interface LinearWeights {
  /** `[in, out]`. */
  readonly kernel: tf.Tensor;
  /** `[out]`, absent for bias-free layers (CLIP's `proj`). */
  readonly bias?: tf.Tensor;
}
export interface NormWeights {
  readonly gamma: tf.Tensor;
  readonly beta: tf.Tensor;
}
export interface AttentionWeights {
  /** Fused `[D, 3D]`, output columns `[q | k | v]`, each head-major (head h owns columns h*dh..h*dh+dh-1). */
  readonly qkv: LinearWeights;
  readonly proj: LinearWeights;
}
export interface MlpWeights {
  readonly fc1: LinearWeights;
  readonly fc2: LinearWeights;
}
/** Weights of TimeSformer's temporal branch of a divided space-time block. */
export interface TemporalWeights {
  readonly norm: NormWeights;
  readonly attn: AttentionWeights;
  readonly fc: LinearWeights;
}
/** One CLIP block (`ln_1`, `attn`, `ln_2`, `mlp`) plus, in the video tower, its temporal branch. */
export interface BlockWeights {
  readonly norm1: NormWeights;
  readonly attn: AttentionWeights;
  readonly norm2: NormWeights;
  readonly mlp: MlpWeights;
  readonly temporal?: TemporalWeights;
}

/** Options shared by every block. */
export interface BlockOptions {
  readonly heads: number;
  readonly layerNormEps: number;
  readonly activation: Activation;
}

/**
 * `x W + b` over the last axis. Input `[..., in]`, output `[..., out]`. The backward keeps only `x`
 * (see `fused.ts`).
 */
export function linear(x: tf.Tensor, w: LinearWeights): tf.Tensor {
  return linearFused(x, w.kernel, w.bias);
}

/** LayerNorm over the last axis (biased variance, as PyTorch). The backward keeps `x̂` and `rstd` (`fused.ts`). */
export function layerNorm(x: tf.Tensor, w: NormWeights, eps: number): tf.Tensor {
  return layerNormFused(x, w.gamma, w.beta, eps);
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** The MLP activation. */
export function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'quick_gelu':
      return quickGeluFused(x);
    case 'gelu':
      return geluFused(x);
    case 'gelu_tanh':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), SQRT_2_OVER_PI)), 1));
  }
}

/** `fc2(act(fc1(x)))`. */
export function mlp(x: tf.Tensor, w: MlpWeights, activation: Activation): tf.Tensor {
  return linear(activate(linear(x, w.fc1), activation), w.fc2);
}

/**
 * Scaled dot-product attention on grouped heads, with k given already transposed.
 *
 * Input shapes: q `[G, heads, N, dh]`, kT `[G, heads, dh, N]`, v `[G, heads, N, dh]`; `mask` (additive) `[N, N]`.
 * Output shape: `[G, heads, N, dh]`.
 */
export function attend(q: tf.Tensor, kT: tf.Tensor, v: tf.Tensor, mask?: tf.Tensor): tf.Tensor {
  const dh = q.shape[3] as number;
  let scores = tf.matMul(scaleLean(q, 1 / Math.sqrt(dh)), kT); // [G, h, N, N]
  if (mask) scores = tf.add(scores, mask);
  return tf.matMul(tf.softmax(scores), v);
}

/**
 * q, k, v projections of the fused qkv layer as three matMuls on column blocks of the kernel
 * (`[D, 3D]` = `[q | k | v]`). Input `[M, D]`, outputs three `[M, D]`.
 */
export function projectQkv(x2d: tf.Tensor, w: LinearWeights): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const kernels = tf.split(w.kernel, 3, 1);
  const biases = w.bias ? tf.split(w.bias, 3, 0) : [];
  const out = kernels.map((k, i) => linearFused(x2d, k, biases[i]));
  return out as [tf.Tensor, tf.Tensor, tf.Tensor];
}

/**
 * Multi-head self-attention over the tokens of each group (fused qkv with biases, output projection).
 * Only rank-4 transposes (the wasm backend runs rank-5/6 transposes about 50x slower).
 *
 * Input shape: `[G, N, D]`. Output shape: `[G, N, D]`.
 */
export function selfAttention(x: tf.Tensor, w: AttentionWeights, heads: number, mask?: tf.Tensor): tf.Tensor {
  const [G, N, D] = x.shape as [number, number, number];
  const dh = D / heads;
  const [q, k, v] = projectQkv(tf.reshape(x, [G * N, D]), w.qkv).map((t) => tf.reshape(t, [G, N, heads, dh])); // (g n) (h dh) -> g n h dh
  const out = attend(
    tf.transpose(q as tf.Tensor, [0, 2, 1, 3]), // g h n dh
    tf.transpose(k as tf.Tensor, [0, 2, 3, 1]), // g h dh n
    tf.transpose(v as tf.Tensor, [0, 2, 1, 3]), // g h n dh
    mask,
  );
  const merged = reshapeLean(tf.transpose(out, [0, 2, 1, 3]), [G * N, D]); // g h n dh -> g n h dh -> (g n) (h dh)
  return tf.reshape(linear(merged, w.proj), [G, N, D]); // (g n) d -> g n d
}

/** Additive causal mask `[N, N]`: 0 on and below the diagonal, -1e9 above (CLIP's text mask). */
export function causalMask(n: number): tf.Tensor2D {
  const data = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) data[i * n + j] = -1e9;
  return tf.tensor2d(data, [n, n]);
}
