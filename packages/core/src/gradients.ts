/**
 * Gradient fixes applied once by {@link initBackend} (and by tests through `registerGradientFixes`).
 *
 * BatchMatMul: tfjs's own gradient calls `matMul` with `transposeA`/`transposeB` flags, which the wasm
 * backend runs 10-40x slower than an explicit `transpose` followed by a plain `matMul`
 * (../shared/FACTS.md, "transpose trap"; one ViT-B/16 block backward drops from 64 s to 8 s). This
 * gradient uses explicit transposes only, and sums over broadcast batch dimensions so that
 * `[B, M, K] x [K, N]` and `[1, M, K] x [B, K, N]` get gradients of their own input shapes.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Swaps the last two axes: `[..., M, N] -> [..., N, M]`. */
export function transposeLastTwo(x: tf.Tensor): tf.Tensor {
  const rank = x.rank;
  if (rank < 2) return x;
  const perm = [...Array(rank).keys()];
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return tf.transpose(x, perm);
}

/** Sums a gradient over the axes along which `shape` was broadcast to `gradient.shape`. */
export function reduceToShape(gradient: tf.Tensor, shape: readonly number[]): tf.Tensor {
  if (gradient.shape.length === shape.length && gradient.shape.every((d, i) => d === shape[i])) return gradient;
  const axes = tf.backend_util.getReductionAxes([...shape], gradient.shape);
  const summed = axes.length > 0 ? tf.sum(gradient, axes) : gradient;
  return tf.reshape(summed, [...shape]);
}

const batchMatMulGradient: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
    const [a, b] = saved as [tf.Tensor, tf.Tensor];
    const g = dy as tf.Tensor;
    const transposeA = Boolean(attrs.transposeA);
    const transposeB = Boolean(attrs.transposeB);
    const T = transposeLastTwo;
    let da: () => tf.Tensor;
    let db: () => tf.Tensor;
    if (!transposeA && !transposeB) {
      // y = a b
      da = () => tf.matMul(g, T(b));
      db = () => tf.matMul(T(a), g);
    } else if (transposeA && !transposeB) {
      // y = aᵀ b
      da = () => tf.matMul(b, T(g));
      db = () => tf.matMul(a, g);
    } else if (!transposeA && transposeB) {
      // y = a bᵀ
      da = () => tf.matMul(g, b);
      db = () => tf.matMul(T(g), a);
    } else {
      // y = aᵀ bᵀ
      da = () => tf.matMul(T(b), T(g));
      db = () => tf.matMul(T(g), T(a));
    }
    return { a: () => reduceToShape(da(), a.shape), b: () => reduceToShape(db(), b.shape) };
  },
};

let registered = false;
const replaced = new Map<string, tf.GradConfig>();

/** The gradient configs LSS.js overrides, by kernel name. */
export const GRADIENT_FIXES: readonly tf.GradConfig[] = [batchMatMulGradient];

/**
 * Registers tfjs-core's full gradient set and then LSS.js's fixes. Idempotent.
 *
 * The gradient set is tfjs-core 4.22.0's own (`register_all_gradients`), bundled into
 * `dist/tfjs-registrations.js` at build time (see build/tfjs-registrations-plugin.ts) so that only
 * `@tensorflow/tfjs-core` is needed, not the `@tensorflow/tfjs` umbrella.
 */
export async function registerGradientFixes(): Promise<void> {
  if (registered) return;
  await import('#tfjs-registrations');
  applyGradientFixes();
  registered = true;
}

/** Installs the fixes over whatever is registered now, remembering tfjs's originals. */
export function applyGradientFixes(): void {
  for (const config of GRADIENT_FIXES) {
    const current = tf.getGradient(config.kernelName);
    if (current != null && current !== config && !replaced.has(config.kernelName)) replaced.set(config.kernelName, current);
    unregister(config.kernelName);
    tf.registerGradient(config);
  }
}

function unregister(kernelName: string): void {
  const fn = (tf as unknown as { unregisterGradient?: (name: string) => void }).unregisterGradient;
  if (fn && tf.getGradient(kernelName) != null) fn(kernelName);
}

/**
 * Runs `fn` with tfjs's original gradient for `kernelName` (the one LSS.js replaced), then restores
 * the fix. For comparisons in tests and benchmarks.
 */
export function withOriginalGradient<T>(kernelName: string, fn: () => T): T {
  const original = replaced.get(kernelName);
  const fix = GRADIENT_FIXES.find((c) => c.kernelName === kernelName);
  if (!original || !fix) throw new Error(`No original gradient recorded for ${kernelName}; call registerGradientFixes() first.`);
  unregister(kernelName);
  tf.registerGradient(original);
  try {
    return fn();
  } finally {
    unregister(kernelName);
    tf.registerGradient(fix);
  }
}
