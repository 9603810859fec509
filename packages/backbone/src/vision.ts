/**
 * The CLIP vision tower: image tower (`temporal: false`) or video tower with TimeSformer's divided
 * space-time attention in every block (`temporal: true`).
 *
 * Layout (channels-last, declared once in the README): images `[N, H, W, 3]`, videos `[B, T, H, W, 3]`,
 * CLIP-normalised pixels.
 */
import { ConfigError, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkpointed, clipBlock, dividedSpaceTimeBlock } from './block.js';
import { type ClipPresetName, type VisionConfig, validateVisionConfig, visionPreset } from './config.js';
import { clipBlockWeights, constant, dense, norm, normal } from './init.js';
import { bicubicGridMatrix, nearestMatrix } from './interpolate.js';
import { type BlockOptions, type BlockWeights, layerNorm, type NormWeights } from './layers.js';
import type { Scope } from './scope.js';

/** Options of a forward pass. */
export interface VisionCallOptions {
  /** Training mode. CLIP blocks have no dropout, so this changes nothing today; kept for the trainer's API. */
  readonly training?: boolean;
  /**
   * Gradient checkpointing (`tf.customGrad`, recompute in the backward pass):
   * - `'block'`: the tape keeps each block's input only; the backward recomputes the block.
   * - `'branches'` (video tower): each of the block's three residual branches (temporal, spatial, MLP)
   *   is checkpointed on its own.
   * - `'nested'` (video tower), also `true`: block checkpointing whose recomputation checkpoints the
   *   branches: the least memory (an 8-frame ViT-B/16 training step fits the 4 GiB wasm heap), one
   *   more forward per block than `'block'`.
   * Image-tower calls (`callImages`, `temporal: false`) checkpoint whole blocks for any truthy value.
   * Default false.
   */
  readonly recompute?: boolean | 'block' | 'branches' | 'nested';
}

/** The variables of a vision tower, as a structure. */
export interface VisionWeights {
  /** `[P*P*3, D]`, rows ordered (py, px, c): the patch embedding as a matMul. */
  readonly patchEmbed: tf.Variable;
  /** `[D]`. */
  readonly classEmbedding: tf.Variable;
  /** `[1 + S, D]`, row 0 for the class token, then patches row-major. */
  readonly positionEmbedding: tf.Variable;
  /** `[numFrames, D]` (video tower only), added to the patch tokens. */
  readonly timeEmbed?: tf.Variable;
  readonly lnPre: NormWeights;
  readonly blocks: readonly BlockWeights[];
  readonly lnPost: NormWeights;
  /** `[D, E]`, no bias. */
  readonly proj: tf.Variable;
}

export class VisionTower {
  readonly config: VisionConfig;
  /** The scope the variables live in (its path is the tower's root, e.g. `student`). */
  readonly scope: Scope;
  readonly weights: VisionWeights;
  private disposed = false;

  /**
   * Creates the variables under `scope`, randomly initialised (seeded by path) with CLIP's scales; the
   * temporal parts get their CLIP initialisation ({@link VisionTower.resetTemporal}).
   */
  constructor(config: VisionConfig, scope: Scope) {
    this.config = validateVisionConfig(config);
    this.scope = scope;
    const c = this.config;
    const D = c.width;
    const S = (c.imageSize / c.patchSize) ** 2;
    const attnStd = D ** -0.5;
    const projStd = D ** -0.5 * (2 * c.layers) ** -0.5;
    const fcStd = (2 * D) ** -0.5;
    const patchEmbed = normal(scope, 'patchEmbed/kernel', [c.patchSize * c.patchSize * 3, D], 0.02);
    const classEmbedding = normal(scope, 'classEmbedding', [D], attnStd);
    const positionEmbedding = normal(scope, 'positionEmbedding', [1 + S, D], attnStd);
    const timeEmbed = c.temporal ? constant(scope, 'timeEmbed', [c.numFrames, D], 0) : undefined;
    const lnPre = norm(scope.child('lnPre'), D);
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < c.layers; i++) {
      const b = scope.child('blocks').child(i);
      const block: BlockWeights = {
        ...clipBlockWeights(b, D, c.mlpDim, { attn: attnStd, proj: projStd, fc: fcStd }),
        ...(c.temporal
          ? {
              temporal: {
                norm: norm(b.child('temporalNorm1'), D),
                attn: {
                  qkv: dense(b.child('temporalAttn').child('qkv'), D, 3 * D, attnStd),
                  proj: dense(b.child('temporalAttn').child('proj'), D, D, projStd),
                },
                fc: dense(b.child('temporalFc'), D, D, 0.02),
              },
            }
          : {}),
      };
      blocks.push(block);
    }
    const lnPost = norm(scope.child('lnPost'), D);
    const proj = normal(scope, 'proj', [D, c.embedDim], attnStd);
    this.weights = { patchEmbed, classEmbedding, positionEmbedding, ...(timeEmbed ? { timeEmbed } : {}), lnPre, blocks, lnPost, proj };
    // Temporal parts loaded from a video checkpoint are kept; otherwise they get the CLIP initialisation.
    const temporalLoaded = [...scope.variables().keys()].some((p) => isTemporalPath(p) && scope.wasProvided(p));
    if (!temporalLoaded) this.resetTemporal();
  }

  /**
   * CLIP initialisation of the temporal parts (SPEC 1): temporal attention (and `temporalNorm1`) copied
   * from the same block's spatial attention (and `norm1`); `temporalFc` and `timeEmbed` zero.
   */
  resetTemporal(): void {
    if (!this.config.temporal) return;
    tf.tidy(() => {
      this.weights.timeEmbed?.assign(tf.zerosLike(this.weights.timeEmbed));
      for (const b of this.weights.blocks) {
        const t = b.temporal;
        if (!t) continue;
        assign(t.norm.gamma, b.norm1.gamma);
        assign(t.norm.beta, b.norm1.beta);
        assign(t.attn.qkv.kernel, b.attn.qkv.kernel);
        assign(t.attn.qkv.bias, b.attn.qkv.bias);
        assign(t.attn.proj.kernel, b.attn.proj.kernel);
        assign(t.attn.proj.bias, b.attn.proj.bias);
        assign(t.fc.kernel, tf.zerosLike(t.fc.kernel));
        assign(t.fc.bias, tf.zerosLike(t.fc.bias as tf.Tensor));
      }
    });
  }

  /** Every variable of the tower by full path, in creation order. */
  variables(): Map<string, tf.Variable> {
    return this.scope.variables();
  }

  /** Trainable variables in a stable order (creation order; the same config gives the same order). */
  trainableVariables(): tf.Variable[] {
    return this.scope.trainableVariables();
  }

  private blockOptions(): BlockOptions {
    return { heads: this.config.heads, layerNormEps: this.config.layerNormEps, activation: this.config.activation };
  }

  /**
   * Embeds frames: patch embedding (as reshape -> transpose -> matMul, exactly a stride-P conv),
   * position embedding (bicubically resampled for another grid), time embedding (nearest-resampled for
   * another frame count), class token, `ln_pre`.
   *
   * Input shape: `[B, T, H, W, 3]`. Output shape: `[B, 1 + T*S, D]` (frame-major patches).
   */
  embed(video: tf.Tensor, useTime: boolean): tf.Tensor {
    const c = this.config;
    const [B, T, H, W, C] = video.shape as [number, number, number, number, number];
    const P = c.patchSize;
    if (video.rank !== 5 || C !== 3 || H % P !== 0 || W % P !== 0) {
      throw new ShapeError(
        `Video input has shape [${video.shape.join(', ')}]; expected [B, T, H, W, 3] (channels-last) with H and W multiples of the patch size ${P}.`,
      );
    }
    const D = c.width;
    const gh = H / P;
    const gw = W / P;
    const S = gh * gw;
    const pixels = tf.reshape(video, [B * T * gh, P, gw, P * 3]); // b t (gh p) (gw q) c -> (b t gh) p gw (q c)
    const patches = tf.reshape(tf.transpose(pixels, [0, 2, 1, 3]), [B * T * S, P * P * 3]); // -> (b t gh) gw p (q c) -> (b t gh gw) (p q c)
    let tokens = tf.reshape(tf.matMul(patches, this.weights.patchEmbed), [B, T, S, D]); // (b t s) d -> b t s d
    const g0 = c.imageSize / P;
    const pos = this.weights.positionEmbedding;
    const clsPos = tf.slice(pos, [0, 0], [1, D]); // [1, D]
    let patchPos = tf.slice(pos, [1, 0], [g0 * g0, D]); // [S0, D]
    if (gh !== g0 || gw !== g0) patchPos = tf.matMul(tf.tensor2d(bicubicGridMatrix(g0, g0, gh, gw), [S, g0 * g0]), patchPos); // [S, D]
    tokens = tf.add(tokens, patchPos);
    if (useTime) {
      const te = this.weights.timeEmbed as tf.Tensor;
      const F = c.numFrames;
      const time = T === F ? te : tf.matMul(tf.tensor2d(nearestMatrix(F, T), [T, F]), te); // [T, D]
      tokens = tf.add(tokens, tf.reshape(time, [1, T, 1, D])); // t d -> 1 t 1 d
    }
    const cls = tf.tile(tf.reshape(tf.add(this.weights.classEmbedding, clsPos), [1, 1, D]), [B, 1, 1]); // [B, 1, D]
    const x = tf.concat([cls, tf.reshape(tokens, [B, T * S, D])], 1); // b t s d -> b (t s) d, then [B, 1 + T*S, D]
    return layerNorm(x, this.weights.lnPre, c.layerNormEps);
  }

  /** `ln_post` on the class token, then `proj`. Input `[B, N, D]`, output `[B, E]`. */
  private head(x: tf.Tensor): tf.Tensor2D {
    const [B, , D] = x.shape as [number, number, number];
    const cls = tf.reshape(tf.slice(x, [0, 0, 0], [B, 1, D]), [B, D]); // b 1 d -> b d
    return tf.matMul(layerNorm(cls, this.weights.lnPost, this.config.layerNormEps), this.weights.proj) as tf.Tensor2D;
  }

  /**
   * CLIP's `encode_image` (spatial attention only; temporal parts unused).
   *
   * Input shape: `[N, H, W, 3]`, CLIP-normalised. Output shape: `[N, E]`, unnormalised.
   */
  callImages(pixels: tf.Tensor, options: VisionCallOptions = {}): tf.Tensor2D {
    this.checkAlive();
    if (pixels.rank !== 4) {
      throw new ShapeError(`Image input has shape [${pixels.shape.join(', ')}]; expected [N, H, W, 3] (channels-last).`);
    }
    return tf.tidy(() => {
      const [N, H, W, C] = pixels.shape as [number, number, number, number];
      let x = this.embed(tf.reshape(pixels, [N, 1, H, W, C]), false); // n h w c -> n 1 h w c
      const opts = this.blockOptions();
      const block = (h: tf.Tensor, w: BlockWeights) => clipBlock(h, w, opts);
      // one tidy per block: a forward holds one block's intermediates at a time (the tape keeps what backward needs)
      for (const w of this.weights.blocks) {
        const h = x;
        x = tf.tidy(() => (options.recompute ? checkpointed(block, h, spatialOnly(w)) : block(h, w)));
      }
      return this.head(x);
    });
  }

  /**
   * The video embedding. With `temporal: true`: divided space-time attention in every block, class
   * token through `ln_post` and `proj`. With `temporal: false` (image tower): the mean over frames of
   * the per-frame CLIP image embeddings (the frame-averaging baseline).
   *
   * Input shape: `[B, T, H, W, 3]`, CLIP-normalised. Output shape: `[B, E]`, unnormalised.
   */
  call(video: tf.Tensor, options: VisionCallOptions = {}): tf.Tensor2D {
    this.checkAlive();
    if (video.rank !== 5) {
      throw new ShapeError(`Video input has shape [${video.shape.join(', ')}]; expected [B, T, H, W, 3] (channels-last).`);
    }
    const [B, T, H, W, C] = video.shape as [number, number, number, number, number];
    if (!this.config.temporal) {
      return tf.tidy(() => {
        const perFrame = this.callImages(tf.reshape(video, [B * T, H, W, C]), options); // (b t) h w c
        return tf.mean(tf.reshape(perFrame, [B, T, this.config.embedDim]), 1) as tf.Tensor2D; // (b t) e -> b t e
      });
    }
    return tf.tidy(() => {
      let x = this.embed(video, true);
      const opts = this.blockOptions();
      const mode = options.recompute === true ? 'nested' : options.recompute;
      const branches = mode === 'branches' || mode === 'nested';
      const outer = mode === 'block' || mode === 'nested';
      const block = (h: tf.Tensor, w: BlockWeights) => dividedSpaceTimeBlock(h, w, opts, T, branches);
      for (const w of this.weights.blocks) {
        const h = x;
        // 'branches': each residual branch is checkpointed on its own (no outer block checkpoint needed)
        x = tf.tidy(() => (outer ? checkpointed(block, h, w) : block(h, w)));
      }
      return this.head(x);
    });
  }

  /** Disposes every variable of the tower. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.scope.dispose();
  }

  private checkAlive(): void {
    if (this.disposed) throw new ConfigError(`The vision tower ${this.scope.path} was disposed.`);
  }
}

/** Whether a variable path belongs to the temporal parts (absent from CLIP checkpoints). */
export function isTemporalPath(path: string): boolean {
  return /(^|\/)(temporalNorm1|temporalAttn|temporalFc|timeEmbed)(\/|$)/.test(path);
}

function spatialOnly(w: BlockWeights): BlockWeights {
  return { norm1: w.norm1, attn: w.attn, norm2: w.norm2, mlp: w.mlp };
}

function assign(target: tf.Tensor | undefined, value: tf.Tensor | undefined): void {
  if (!target || !value) return;
  (target as tf.Variable).assign(value);
}

/**
 * Creates a video (or image) tower from a preset name or a config under `scope`.
 *
 * @example
 * const student = createVideoVit('ViT-B/16', new Scope('student'));
 * const z = student.call(video, { recompute: true }); // [B, 512]
 */
export function createVideoVit(presetOrConfig: ClipPresetName | VisionConfig, scope: Scope): VisionTower {
  const config = typeof presetOrConfig === 'string' ? visionPreset(presetOrConfig) : presetOrConfig;
  return new VisionTower(config, scope);
}
