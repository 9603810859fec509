/**
 * Transformer blocks: CLIP's residual attention block and TimeSformer's divided space-time block,
 * with the same attention / MLP / LayerNorm code, plus per-block gradient checkpointing.
 *
 * Video token layout (ours, channels-last): `x` is `[B, 1 + T*S, D]`: the class token first, then the
 * patch tokens FRAME-MAJOR, patch (t, s) at index `1 + t*S + s` with `s = h*W + w`. (TimeSformer orders
 * them time-fastest, `(h w t)`; the math is the same, only the storage order differs.)
 */
import { autograd, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { addResidual, concatLean, meanLean, reshapeLean, sliceLean } from './fused.js';
import {
  attend,
  type BlockOptions,
  type BlockWeights,
  layerNorm,
  linear,
  mlp,
  projectQkv,
  selfAttention,
  type TemporalWeights,
} from './layers.js';

/**
 * CLIP's `ResidualAttentionBlock`: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
 *
 * Input shape: `[G, N, D]`; `mask` additive `[N, N]` (causal for text). Output shape: `[G, N, D]`.
 */
export function clipBlock(x: tf.Tensor, w: BlockWeights, options: BlockOptions, mask?: tf.Tensor, drop: BlockDropPath = {}): tf.Tensor {
  const eps = options.layerNormEps;
  const h = addResidual(x, scaled(selfAttention(layerNorm(x, w.norm1, eps), w.attn, options.heads, mask), drop.spatial));
  return addResidual(h, scaled(mlp(layerNorm(h, w.norm2, eps), w.mlp, options.activation), drop.mlp));
}

/**
 * Drop-path scales of one block's residual branches (see `drop-path.ts`), each `[B, 1, 1]` with one value
 * per sample (0: dropped, `1 / (1 − p)`: kept). An absent branch is not dropped. The image block uses
 * `spatial` (attention) and `mlp`.
 */
export interface BlockDropPath {
  readonly temporal?: tf.Tensor;
  readonly spatial?: tf.Tensor;
  readonly mlp?: tf.Tensor;
}

/** `residual · scale` per sample (`scale [B, 1, 1]`, broadcast over `[B, ...]`), or `residual` without a scale. */
function scaled(residual: tf.Tensor, scale: tf.Tensor | undefined): tf.Tensor {
  if (!scale) return residual;
  const [B] = scale.shape as [number];
  return tf.mul(residual, tf.reshape(scale, [B, ...residual.shape.slice(1).map(() => 1)]));
}

/**
 * Temporal branch: attention over the T tokens of each spatial position (patch tokens only), through
 * `temporalNorm1`, `temporalAttn` and `temporalFc`. Returns the residual (not yet added).
 *
 * Input shape: patches `[B, T*S, D]` (frame-major). Output shape: `[B, T*S, D]`.
 */
export function temporalResidual(patches: tf.Tensor, w: TemporalWeights, options: BlockOptions, frames: number): tf.Tensor {
  const [B, TS, D] = patches.shape as [number, number, number];
  const T = frames;
  const S = TS / T;
  const heads = options.heads;
  const dh = D / heads;
  const normed = tf.reshape(layerNorm(patches, w.norm, options.layerNormEps), [B * TS, D]); // b (t s) d -> (b t s) d
  // (b t s) (h dh) -> b t (s h) dh: rank-4 views so that every transpose stays rank 4 (fast on wasm)
  const [q, k, v] = projectQkv(normed, w.attn.qkv).map((t) => tf.reshape(t, [B, T, S * heads, dh]));
  const out = attend(
    reshapeLean(tf.transpose(q as tf.Tensor, [0, 2, 1, 3]), [B * S, heads, T, dh]), // b (s h) t dh -> (b s) h t dh
    reshapeLean(tf.transpose(k as tf.Tensor, [0, 2, 3, 1]), [B * S, heads, dh, T]), // b (s h) dh t -> (b s) h dh t
    reshapeLean(tf.transpose(v as tf.Tensor, [0, 2, 1, 3]), [B * S, heads, T, dh]), // b (s h) t dh -> (b s) h t dh
  ); // [(b s), h, T, dh]
  const merged = reshapeLean(tf.transpose(tf.reshape(out, [B, S * heads, T, dh]), [0, 2, 1, 3]), [B * TS, D]); // (b s) h t dh -> b (s h) t dh -> b t (s h) dh -> (b t s) (h dh)
  return tf.reshape(linear(linear(merged, w.attn.proj), w.fc), [B, TS, D]); // (b t s) d -> b (t s) d
}

/**
 * TimeSformer's `divided_space_time` block on CLIP's block:
 * 1. `xt = patches + temporalFc(temporalAttn(temporalNorm1(patches)))` (attention over time per position);
 * 2. spatial attention per frame over `[cls, xt_frame]` with the ORIGINAL class token copied into every
 *    frame; the T class outputs are averaged into one residual;
 *    `x = [cls + mean_t(cls_res_t), xt + patch_res]`;
 * 3. `x + mlp(norm2(x))`.
 *
 * With `drop` (training, see `drop-path.ts`), each residual branch is multiplied per sample by its scale
 * before it is added (the spatial scale multiplies the class and the patch residuals alike). The scales
 * are inputs of the checkpointed branches, so a recomputation uses the same masks.
 *
 * Input shape: `[B, 1 + T*S, D]` (layout in the module comment). Output shape: same.
 */
export function dividedSpaceTimeBlock(
  x: tf.Tensor,
  w: BlockWeights,
  options: BlockOptions,
  frames: number,
  checkpointBranches = false,
  drop: BlockDropPath = {},
): tf.Tensor {
  const temporal = w.temporal;
  if (!temporal) throw new ShapeError('dividedSpaceTimeBlock needs temporal weights; this block has none (image tower).');
  const [B, N, D] = x.shape as [number, number, number];
  const T = frames;
  const S = (N - 1) / T;
  if (!Number.isInteger(S)) {
    throw new ShapeError(`dividedSpaceTimeBlock: ${N - 1} patch tokens are not divisible by ${T} frames; expected 1 + T*S tokens.`);
  }
  const eps = options.layerNormEps;
  // Each residual branch, as a function of its inputs and weights (so that it can be checkpointed alone).
  const temporalBranch = (p: tf.Tensor, ...tw: tf.Tensor[]) => {
    const [g, b, qk, qb, pk, pb, fk, fb] = tw as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const tWeights = {
      norm: { gamma: g, beta: b },
      attn: { qkv: { kernel: qk, bias: qb }, proj: { kernel: pk, bias: pb } },
      fc: { kernel: fk, bias: fb },
    };
    return addResidual(p, scaled(temporalResidual(p, tWeights, options, T), tw[8])); // [B, T*S, D]
  };
  const spatialBranch = (cls: tf.Tensor, xt: tf.Tensor, ...sw: tf.Tensor[]) => {
    const [g, b, qk, qb, pk, pb] = sw as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const clsPerFrame = tf.reshape(tf.tile(cls, [1, T, 1]), [B * T, 1, D]); // b t d -> (b t) 1 d
    const spatialIn = concatLean([clsPerFrame, tf.reshape(xt, [B * T, S, D])], 1); // b (t s) d -> (b t) s d, then [(b t), 1+S, D]
    const attnW = { qkv: { kernel: qk, bias: qb }, proj: { kernel: pk, bias: pb } };
    const spatialRes = scaled(
      tf.reshape(selfAttention(layerNorm(spatialIn, { gamma: g, beta: b }, eps), attnW, options.heads), [B, T, 1 + S, D]), // (b t) n d -> b t n d
      sw[6],
    );
    const clsRes = meanLean(sliceLean(spatialRes, [0, 0, 0, 0], [B, T, 1, D]), 1); // [B, 1, D], mean over frames
    const patchRes = reshapeLean(sliceLean(spatialRes, [0, 0, 1, 0], [B, T, S, D]), [B, T * S, D]); // b t s d -> b (t s) d
    return concatLean([addResidual(cls, clsRes), addResidual(xt, patchRes)], 1); // [B, 1 + T*S, D]
  };
  const mlpBranch = (h: tf.Tensor, ...mw: tf.Tensor[]) => {
    const [g, b, k1, b1, k2, b2] = mw as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const m = { fc1: { kernel: k1, bias: b1 }, fc2: { kernel: k2, bias: b2 } };
    return addResidual(h, scaled(mlp(layerNorm(h, { gamma: g, beta: b }, eps), m, options.activation), mw[6]));
  };
  const run = (fn: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]) => (checkpointBranches ? recomputeInBackward(fn, xs) : fn(...xs));
  const cls = sliceLean(x, [0, 0, 0], [B, 1, D]); // [B, 1, D]
  const patches = sliceLean(x, [0, 1, 0], [B, N - 1, D]); // [B, T*S, D]
  // 1. temporal attention over the T tokens of each spatial position (patch tokens only)
  const xt = run(temporalBranch, [
    patches,
    temporal.norm.gamma,
    temporal.norm.beta,
    temporal.attn.qkv.kernel,
    temporal.attn.qkv.bias as tf.Tensor,
    temporal.attn.proj.kernel,
    temporal.attn.proj.bias as tf.Tensor,
    temporal.fc.kernel,
    temporal.fc.bias as tf.Tensor,
    ...present(drop.temporal),
  ]);
  // 2. spatial attention per frame, the ORIGINAL class token copied into every frame, class outputs averaged
  const h = run(spatialBranch, [
    cls,
    xt,
    w.norm1.gamma,
    w.norm1.beta,
    w.attn.qkv.kernel,
    w.attn.qkv.bias as tf.Tensor,
    w.attn.proj.kernel,
    w.attn.proj.bias as tf.Tensor,
    ...present(drop.spatial),
  ]);
  // 3. MLP
  return run(mlpBranch, [
    h,
    w.norm2.gamma,
    w.norm2.beta,
    w.mlp.fc1.kernel,
    w.mlp.fc1.bias as tf.Tensor,
    w.mlp.fc2.kernel,
    w.mlp.fc2.bias as tf.Tensor,
    ...present(drop.mlp),
  ]);
}

function present(t: tf.Tensor | undefined): tf.Tensor[] {
  return t ? [t] : [];
}

/** The block's tensors in a fixed order (for checkpointing and copying). */
export function flattenBlockWeights(w: BlockWeights): tf.Tensor[] {
  const out: tf.Tensor[] = [
    w.norm1.gamma,
    w.norm1.beta,
    w.attn.qkv.kernel,
    w.attn.qkv.bias as tf.Tensor,
    w.attn.proj.kernel,
    w.attn.proj.bias as tf.Tensor,
    w.norm2.gamma,
    w.norm2.beta,
    w.mlp.fc1.kernel,
    w.mlp.fc1.bias as tf.Tensor,
    w.mlp.fc2.kernel,
    w.mlp.fc2.bias as tf.Tensor,
  ];
  if (w.temporal) {
    const t = w.temporal;
    out.push(
      t.norm.gamma,
      t.norm.beta,
      t.attn.qkv.kernel,
      t.attn.qkv.bias as tf.Tensor,
      t.attn.proj.kernel,
      t.attn.proj.bias as tf.Tensor,
      t.fc.kernel,
      t.fc.bias as tf.Tensor,
    );
  }
  return out;
}

/** Inverse of {@link flattenBlockWeights}. */
export function unflattenBlockWeights(a: readonly tf.Tensor[]): BlockWeights {
  const at = (i: number) => a[i] as tf.Tensor;
  const base = {
    norm1: { gamma: at(0), beta: at(1) },
    attn: { qkv: { kernel: at(2), bias: at(3) }, proj: { kernel: at(4), bias: at(5) } },
    norm2: { gamma: at(6), beta: at(7) },
    mlp: { fc1: { kernel: at(8), bias: at(9) }, fc2: { kernel: at(10), bias: at(11) } },
  };
  if (a.length === 12) return base;
  return {
    ...base,
    temporal: {
      norm: { gamma: at(12), beta: at(13) },
      attn: { qkv: { kernel: at(14), bias: at(15) }, proj: { kernel: at(16), bias: at(17) } },
      fc: { kernel: at(18), bias: at(19) },
    },
  };
}

/**
 * Gradient checkpointing of one function: the forward keeps no intermediate activations on the tape,
 * only `inputs`; the backward recomputes `fn(...inputs)` and differentiates it (`tf.customGrad`).
 * Gradients reach every input (weights and variables included), exactly as without checkpointing.
 */
export function recomputeInBackward(fn: (...xs: tf.Tensor[]) => tf.Tensor, inputs: readonly tf.Tensor[]): tf.Tensor {
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const xs = args.slice(0, -1) as tf.Tensor[];
    save(xs);
    return {
      value: fn(...xs),
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        // tfjs runs this inside the outer backward pass with gradientDepth 0, where a nested tf.grads
        // would replace the outer tape (and then null it). Keep the outer tape aside while the function
        // is recomputed and differentiated, then put it back (tfjs-core 4.22 engine state).
        const state = tf.engine().state;
        const outerTape = state.activeTape;
        try {
          return autograd.grads(fn)(saved, dy as tf.Tensor);
        } finally {
          state.activeTape = outerTape;
        }
      },
    };
  });
  return (run as (...xs: tf.Tensor[]) => tf.Tensor)(...inputs);
}

/**
 * Runs `block(x, weights, extra)` with gradient checkpointing (see {@link recomputeInBackward}): the tape
 * keeps the block's input, weights and `extra` tensors (e.g. drop-path scales) only; the backward
 * recomputes the block with the same tensors.
 */
export function checkpointed(
  block: (x: tf.Tensor, w: BlockWeights, extra: tf.Tensor[]) => tf.Tensor,
  x: tf.Tensor,
  w: BlockWeights,
  extra: readonly tf.Tensor[] = [],
): tf.Tensor {
  const weights = flattenBlockWeights(w);
  const n = weights.length;
  return recomputeInBackward(
    (...xs) => block(xs[0] as tf.Tensor, unflattenBlockWeights(xs.slice(1, 1 + n)), xs.slice(1 + n)),
    [x, ...weights, ...extra],
  );
}
