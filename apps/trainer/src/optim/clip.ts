/**
 * Gradient clipping, both conventions of the field:
 *
 * - `per-parameter` (DINO `utils.clip_gradients`, which SVT calls; SPEC section 4's default): each
 *   parameter tensor's gradient is scaled by `min(1, maxNorm / (‖g_i‖ + 1e-6))` on its own.
 * - `global` (`torch.nn.utils.clip_grad_norm_`): every gradient is scaled by
 *   `min(1, maxNorm / (‖g‖ + 1e-6))` with `‖g‖` the L2 norm over all of them together.
 *
 * For 150 tensors of norm 1 and maxNorm 3, `global` makes every gradient 4.08x smaller than
 * `per-parameter` (which leaves them alone).
 */
import * as tf from '@tensorflow/tfjs-core';

export const CLIP_MODES = ['per-parameter', 'global'] as const;
export type ClipMode = (typeof CLIP_MODES)[number];

export interface GradientClipping {
  readonly mode: ClipMode;
  /** The largest norm a gradient (per tensor, or all together) keeps. */
  readonly maxNorm: number;
}

/** The L2 norm over all gradients together, as a scalar tensor. */
export function globalNorm(grads: tf.NamedTensorMap): tf.Scalar {
  return tf.tidy(() => {
    const squares = Object.values(grads).map((g) => tf.sum(tf.square(g)));
    if (squares.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(squares)) as tf.Scalar;
  });
}

/** The L2 norm of every gradient tensor, read in one device sync. */
export async function gradientNorms(grads: tf.NamedTensorMap): Promise<Map<string, number>> {
  const names = Object.keys(grads);
  if (names.length === 0) return new Map();
  const stacked = tf.tidy(() => tf.stack(names.map((n) => tf.norm(grads[n] as tf.Tensor))));
  try {
    const values = await stacked.data();
    return new Map(names.map((n, i) => [n, values[i] as number]));
  } finally {
    stacked.dispose();
  }
}

/** `sqrt(Σ ‖g_i‖²)` from per-tensor norms (float64 on the host). */
export function normOfNorms(norms: Iterable<number>): number {
  let sum = 0;
  for (const n of norms) sum += n * n;
  return Math.sqrt(sum);
}

/** The clipping factor `min(1, maxNorm / (norm + 1e-6))` of `torch.nn.utils.clip_grad_norm_` and DINO's `clip_gradients`. */
export function clipScale(norm: number, maxNorm: number): number {
  return Math.min(1, maxNorm / (norm + 1e-6));
}

/**
 * The factor each gradient is multiplied by. `norms` are the per-tensor norms of the gradients as
 * given; `inputScale` (e.g. 1/k for a sum over k micro-batches) is applied before clipping, so the
 * norms clipped are those of `inputScale · g`. `clipping: null` returns `inputScale` for every tensor.
 */
export function clipScales(norms: ReadonlyMap<string, number>, clipping: GradientClipping | null, inputScale = 1): Map<string, number> {
  const out = new Map<string, number>();
  if (clipping === null) {
    for (const name of norms.keys()) out.set(name, inputScale);
    return out;
  }
  if (clipping.mode === 'global') {
    const factor = clipScale(normOfNorms(norms.values()) * inputScale, clipping.maxNorm);
    for (const name of norms.keys()) out.set(name, inputScale * factor);
    return out;
  }
  for (const [name, norm] of norms) out.set(name, inputScale * clipScale(norm * inputScale, clipping.maxNorm));
  return out;
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
