/**
 * Layers with their backward pass written out (`tf.customGrad`), saving for the backward only what it
 * needs — as PyTorch's native `layer_norm`, `linear` and `gelu` kernels do — instead of everything
 * tfjs's per-kernel gradients keep.
 *
 * Why: tfjs's tape keeps, for every kernel, the inputs and outputs its gradient names, and many name a
 * whole tensor only to read its shape (Add, Sub, Reshape, Slice, Concat, Mean). A CLIP block built from
 * primitive ops thus kept ~3x the activation memory of the same block in PyTorch (measured on the
 * torch backend: ViT-B/16, 2 blocks, 2 x 224 px + 8 x 96 px views of 8 frames, peak RSS 6.3 GiB vs
 * PyTorch's 2.0 GiB), which put the paper-scale step out of a 24 GiB machine's reach.
 *
 * Each op's forward is the same sequence of tfjs ops as before (same values); its backward is the
 * textbook derivative, tested against tfjs's automatic gradient of the primitive-op version
 * (`fused.test.ts`). Every op works on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';

type Save = tf.GradSaveFunc;
type GradFunc = (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];

/** `tf.customGrad` typed for a fixed list of tensor inputs followed by the save function. */
function customOp<A extends tf.Tensor[]>(
  f: (...args: [...A, Save]) => { value: tf.Tensor; gradFunc: GradFunc },
): (...inputs: A) => tf.Tensor {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (...inputs: A) => tf.Tensor;
}

/** Sum of `t` over every axis but the last: `[..., n]` -> `[n]`. */
function sumLeading(t: tf.Tensor): tf.Tensor {
  return t.rank === 1 ? t : tf.sum(tf.reshape(t, [-1, t.shape[t.rank - 1] as number]), 0);
}

/**
 * LayerNorm over the last axis (biased variance, as PyTorch's `F.layer_norm`):
 * `y = (x - mean) / sqrt(var + eps) * gamma + beta`.
 *
 * Saves `x̂ = (x - mean) * rstd` and `rstd` (`[..., 1]`); the backward (Ba et al. 2016; PyTorch's
 * `layer_norm_backward`) is, with `g = dy * gamma` and means over the last axis,
 * `dx = rstd * (g - mean(g) - x̂ * mean(g * x̂))`, `dgamma = Σ dy * x̂`, `dbeta = Σ dy`.
 *
 * Shapes: `x` `[..., D]`, `gamma`/`beta` `[D]`; output `[..., D]`.
 */
export function layerNormFused(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const op = customOp((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: Save) => {
    const { mean, variance } = tf.moments(xi, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, eps)); // [..., 1]
    const xhat = tf.mul(tf.sub(xi, mean), rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const d = dy as tf.Tensor;
          const [xh, rs, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
          const gdy = tf.mul(d, gm);
          const dx = tf.mul(rs, tf.sub(tf.sub(gdy, tf.mean(gdy, -1, true)), tf.mul(xh, tf.mean(tf.mul(gdy, xh), -1, true))));
          return [dx, sumLeading(tf.mul(d, xh)), sumLeading(d)];
        }),
    };
  });
  return op(x, gamma, beta);
}

/**
 * `x W + b` over the last axis, saving only `x` and `W` (as `F.linear`'s backward):
 * `dx = dy Wᵀ`, `dW = xᵀ dy` (over all leading positions), `db = Σ dy`.
 * Transposes are explicit ops, not `matMul` flags (the wasm backend runs the flags 10-40x slower).
 *
 * Shapes: `x` `[..., in]`, `kernel` `[in, out]`, `bias` `[out]`; output `[..., out]`.
 */
export function linearFused(x: tf.Tensor, kernel: tf.Tensor, bias?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.rank - 1] as number;
  const outDim = kernel.shape[1] as number;
  const lead = x.shape.slice(0, -1);
  const forward = (xi: tf.Tensor, k: tf.Tensor, b?: tf.Tensor) => {
    const y = tf.matMul(xi.rank === 2 ? xi : tf.reshape(xi, [-1, inDim]), k); // (prod ...) in -> (prod ...) out
    const yb = b ? tf.add(y, b) : y;
    return xi.rank === 2 ? yb : tf.reshape(yb, [...lead, outDim]);
  };
  const backward = (dy: tf.Tensor, xi: tf.Tensor, k: tf.Tensor) => {
    const dy2 = tf.reshape(dy, [-1, outDim]);
    const x2 = tf.reshape(xi, [-1, inDim]);
    const dx = tf.reshape(tf.matMul(dy2, tf.transpose(k)), xi.shape);
    const dk = tf.matMul(tf.transpose(x2), dy2);
    return { dx, dk, db: tf.sum(dy2, 0) };
  };
  // One op for both forms: the inputs are (x, W) or (x, W, b), and the backward returns a gradient for each.
  const op = customOp<tf.Tensor[]>((...args: [...tf.Tensor[], Save]) => {
    const save = args[args.length - 1] as Save;
    const [xi, k, b] = args.slice(0, -1) as [tf.Tensor, tf.Tensor, tf.Tensor?];
    save([xi, k]);
    return {
      value: forward(xi, k, b),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const { dx, dk, db } = backward(dy as tf.Tensor, saved[0] as tf.Tensor, saved[1] as tf.Tensor);
          return b ? [dx, dk, db] : [dx, dk];
        }),
    };
  });
  return bias ? op(x, kernel, bias) : op(x, kernel);
}

/**
 * CLIP's QuickGELU `x * sigmoid(1.702 x)`, saving `x` only; with `s = sigmoid(1.702 x)`,
 * `d/dx = s * (1 + 1.702 x (1 - s))`. Shape-preserving.
 */
export function quickGeluFused(x: tf.Tensor): tf.Tensor {
  const op = customOp((xi: tf.Tensor, save: Save) => {
    save([xi]);
    return {
      value: tf.mul(xi, tf.sigmoid(tf.mul(xi, 1.702))),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const xs = saved[0] as tf.Tensor;
          const s = tf.sigmoid(tf.mul(xs, 1.702));
          return [tf.mul(dy as tf.Tensor, tf.mul(s, tf.add(tf.mul(tf.mul(xs, 1.702), tf.sub(1, s)), 1)))];
        }),
    };
  });
  return op(x);
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * Exact GELU `x Φ(x) = 0.5 x (1 + erf(x / √2))` (Hendrycks & Gimpel 2016; `nn.GELU()`), saving `x`
 * only; `d/dx = Φ(x) + x φ(x)` with `φ(x) = exp(-x²/2) / √(2π)`. Shape-preserving.
 */
export function geluFused(x: tf.Tensor): tf.Tensor {
  const op = customOp((xi: tf.Tensor, save: Save) => {
    save([xi]);
    return {
      value: tf.mul(tf.mul(xi, 0.5), tf.add(tf.erf(tf.mul(xi, Math.SQRT1_2)), 1)),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const xs = saved[0] as tf.Tensor;
          const cdf = tf.mul(tf.add(tf.erf(tf.mul(xs, Math.SQRT1_2)), 1), 0.5);
          const pdf = tf.mul(tf.exp(tf.mul(tf.square(xs), -0.5)), INV_SQRT_2PI);
          return [tf.mul(dy as tf.Tensor, tf.add(cdf, tf.mul(xs, pdf)))];
        }),
    };
  });
  return op(x);
}

/**
 * `a + b` for two tensors of the SAME shape (a residual connection), saving nothing: both gradients
 * are `dy` (tfjs's Add keeps both inputs alive only to read their shapes for broadcasting).
 */
export function addResidual(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.shape.length !== b.shape.length || a.shape.some((n, i) => n !== b.shape[i])) return tf.add(a, b);
  const op = customOp((ai: tf.Tensor, bi: tf.Tensor, _save: Save) => ({
    value: tf.add(ai, bi),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.clone(dy as tf.Tensor), tf.clone(dy as tf.Tensor)],
  }));
  return op(a, b);
}

/**
 * `tf.slice` saving nothing (tfjs's Slice keeps its input alive for its shape): the gradient pads `dy`
 * back to the input's shape with zeros. Same arguments and shapes as `tf.slice` with explicit sizes.
 */
export function sliceLean(x: tf.Tensor, begin: readonly number[], size: readonly number[]): tf.Tensor {
  const shape = x.shape;
  const op = customOp((xi: tf.Tensor, _save: Save) => ({
    value: tf.slice(xi, [...begin], [...size]),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) =>
      tf.tidy(() => [
        tf.pad(
          dy as tf.Tensor,
          shape.map((n, i) => [begin[i] as number, n - (begin[i] as number) - (size[i] as number)] as [number, number]),
        ),
      ]),
  }));
  return op(x);
}

/**
 * `tf.concat` saving nothing (tfjs's Concat keeps every input alive for its shape): the gradient splits
 * `dy` along `axis` into the inputs' sizes. Same arguments and shapes as `tf.concat`.
 */
export function concatLean(xs: readonly tf.Tensor[], axis: number): tf.Tensor {
  const ax = axis < 0 ? (xs[0] as tf.Tensor).rank + axis : axis;
  const sizes = xs.map((t) => t.shape[ax] as number);
  const op = tf.customGrad((...args: (tf.Tensor | Save)[]) => {
    const inputs = args.slice(0, xs.length) as tf.Tensor[];
    return {
      value: tf.concat(inputs, ax),
      gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.split(dy as tf.Tensor, sizes, ax),
    };
  }) as (...xs: tf.Tensor[]) => tf.Tensor;
  return op(...xs);
}

/**
 * `tf.reshape` saving nothing (tfjs's Reshape keeps its input alive for its shape; when the input is a
 * transposed view, that is a second copy of the activation on backends that copy on reshape).
 */
export function reshapeLean(x: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const inShape = x.shape;
  const op = customOp((xi: tf.Tensor, _save: Save) => ({
    value: tf.reshape(xi, [...shape]),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.reshape(dy as tf.Tensor, inShape)],
  }));
  return op(x);
}

/**
 * `x * c` for a number `c`, saving nothing (tfjs's Multiply keeps `x` alive although the gradient is
 * `dy * c`). Shape-preserving.
 */
export function scaleLean(x: tf.Tensor, c: number): tf.Tensor {
  const op = customOp((xi: tf.Tensor, _save: Save) => ({
    value: tf.mul(xi, c),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => [tf.mul(dy as tf.Tensor, c)],
  }));
  return op(x);
}

/**
 * `tf.mean(x, axis)` over one axis (dropped), saving nothing (tfjs's Mean keeps `x` alive for its
 * shape; a slice of a larger activation is a view of all of it on the torch backend). The gradient is
 * `dy / n` broadcast back along `axis`.
 */
export function meanLean(x: tf.Tensor, axis: number): tf.Tensor {
  const shape = x.shape;
  const ax = axis < 0 ? x.rank + axis : axis;
  const n = shape[ax] as number;
  const op = customOp((xi: tf.Tensor, _save: Save) => ({
    value: tf.mean(xi, ax),
    gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.tidy(() => [tf.broadcastTo(tf.div(tf.expandDims(dy as tf.Tensor, ax), n), shape)]),
  }));
  return op(x);
}
