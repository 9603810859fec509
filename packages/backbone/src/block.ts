/**
 * Transformer blocks: CLIP's residual attention block and TimeSformer's divided space-time block,
 * with the same attention / MLP / LayerNorm code, plus per-block gradient checkpointing.
 *
 * Video token layout (ours, channels-last): `x` is `[B, 1 + T*S, D]`: the class token first, then the
 * patch tokens FRAME-MAJOR, patch (t, s) at index `1 + t*S + s` with `s = h*W + w`. (TimeSformer orders
 * them time-fastest, `(h w t)`; the math is the same, only the storage order differs.)
 */
import { ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import {
  attend,
  type BlockOptions,
  type BlockWeights,
  layerNorm,
  linear,
  mlp,
  selfAttention,
  splitQkv,
  type TemporalWeights,
} from './layers.js';

/**
 * CLIP's `ResidualAttentionBlock`: `x + attn(ln_1(x))`, then `x + mlp(ln_2(x))`.
 *
 * Input shape: `[G, N, D]`; `mask` additive `[N, N]` (causal for text). Output shape: `[G, N, D]`.
 */
export function clipBlock(x: tf.Tensor, w: BlockWeights, options: BlockOptions, mask?: tf.Tensor): tf.Tensor {
  const eps = options.layerNormEps;
  const h = tf.add(x, selfAttention(layerNorm(x, w.norm1, eps), w.attn, options.heads, mask));
  return tf.add(h, mlp(layerNorm(h, w.norm2, eps), w.mlp, options.activation));
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
  const normed = layerNorm(patches, w.norm, options.layerNormEps);
  const qkv = tf.reshape(linear(tf.reshape(normed, [B * TS, D]), w.attn.qkv), [B, T, S, 3, heads, dh]); // (b t s) (3 h dh) -> b t s 3 h dh
  const [q, k, v] = splitQkv(tf.transpose(qkv, [3, 0, 2, 4, 1, 5]), [B * S, heads, T, dh]); // 3 b s h t dh -> 3 x (b s) h t dh
  const out = attend(q, k, v); // [(b s), h, T, dh]
  const merged = tf.reshape(tf.transpose(tf.reshape(out, [B, S, heads, T, dh]), [0, 3, 1, 2, 4]), [B * TS, D]); // b s h t dh -> (b t s) (h dh)
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
 * Input shape: `[B, 1 + T*S, D]` (layout in the module comment). Output shape: same.
 */
export function dividedSpaceTimeBlock(x: tf.Tensor, w: BlockWeights, options: BlockOptions, frames: number): tf.Tensor {
  if (!w.temporal) throw new ShapeError('dividedSpaceTimeBlock needs temporal weights; this block has none (image tower).');
  const [B, N, D] = x.shape as [number, number, number];
  const T = frames;
  const S = (N - 1) / T;
  if (!Number.isInteger(S)) {
    throw new ShapeError(`dividedSpaceTimeBlock: ${N - 1} patch tokens are not divisible by ${T} frames; expected 1 + T*S tokens.`);
  }
  const eps = options.layerNormEps;
  const cls = tf.slice(x, [0, 0, 0], [B, 1, D]); // [B, 1, D]
  const patches = tf.slice(x, [0, 1, 0], [B, N - 1, D]); // [B, T*S, D]
  // 1. temporal
  const xt = tf.add(patches, temporalResidual(patches, w.temporal, options, T)); // [B, T*S, D]
  // 2. spatial, class token copied into every frame
  const clsPerFrame = tf.reshape(tf.tile(cls, [1, T, 1]), [B * T, 1, D]); // b t d -> (b t) 1 d
  const spatialIn = tf.concat([clsPerFrame, tf.reshape(xt, [B * T, S, D])], 1); // b (t s) d -> (b t) s d, then [(b t), 1+S, D]
  const spatialRes = tf.reshape(selfAttention(layerNorm(spatialIn, w.norm1, eps), w.attn, options.heads), [B, T, 1 + S, D]); // (b t) n d -> b t n d
  const clsRes = tf.mean(tf.slice(spatialRes, [0, 0, 0, 0], [B, T, 1, D]), 1); // [B, 1, D], mean over frames
  const patchRes = tf.reshape(tf.slice(spatialRes, [0, 0, 1, 0], [B, T, S, D]), [B, T * S, D]); // b t s d -> b (t s) d
  const h = tf.concat([tf.add(cls, clsRes), tf.add(xt, patchRes)], 1); // [B, 1 + T*S, D]
  // 3. MLP
  return tf.add(h, mlp(layerNorm(h, w.norm2, eps), w.mlp, options.activation));
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
 * Runs `block(x, weights)` with gradient checkpointing: the forward keeps no intermediate activations on
 * the tape; the backward recomputes the block from its saved input and weights (`tf.customGrad`).
 * Gradients reach `x` and every weight tensor (variables included), exactly as without checkpointing.
 */
export function checkpointed(block: (x: tf.Tensor, w: BlockWeights) => tf.Tensor, x: tf.Tensor, w: BlockWeights): tf.Tensor {
  const weights = flattenBlockWeights(w);
  const run = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    const inputs = args.slice(0, -1) as tf.Tensor[];
    save(inputs);
    const value = block(inputs[0] as tf.Tensor, unflattenBlockWeights(inputs.slice(1)));
    return {
      value,
      gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
        const f = (...xs: tf.Tensor[]) => block(xs[0] as tf.Tensor, unflattenBlockWeights(xs.slice(1)));
        // tfjs runs this inside the outer backward pass with gradientDepth 0, where a nested tf.grads
        // would replace the outer tape (and then null it). Keep the outer tape aside while the block is
        // recomputed and differentiated, then put it back (tfjs-core 4.22 engine state).
        const state = tf.engine().state;
        const outerTape = state.activeTape;
        try {
          return tf.grads(f)(saved, dy as tf.Tensor);
        } finally {
          state.activeTape = outerTape;
        }
      },
    };
  });
  return (run as (...xs: tf.Tensor[]) => tf.Tensor)(x, ...weights);
}
