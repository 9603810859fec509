/**
 * The CLIP vision tower: image tower (`temporal: false`) or video tower with TimeSformer's divided
 * space-time attention in every block (`temporal: true`).
 *
 * Layout (channels-last, declared once in the README): images `[N, H, W, 3]`, videos `[B, T, H, W, 3]`,
 * CLIP-normalised pixels.
 */
import { ConfigError, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { type BlockDropPath, checkpointed, clipBlock, dividedSpaceTimeBlock } from './block.js';
import { type ClipPresetName, type VisionConfig, validateVisionConfig, visionPreset } from './config.js';
import { type DropPathBranch, type DropPathOptions, dropPathRates, dropPathScales, validateDropPath } from './drop-path.js';
import { clipBlockWeights, constant, dense, norm, normal } from './init.js';
import { bicubicGridMatrix, nearestMatrix } from './interpolate.js';
import { type BlockOptions, type BlockWeights, layerNorm, type NormWeights } from './layers.js';
import type { Scope } from './scope.js';

/** Options of a forward pass. */
export interface VisionCallOptions {
  /** Training mode: turns on `dropPath` when given (CLIP blocks have no dropout). Default false. */
  readonly training?: boolean;
  /**
   * Stochastic depth for a training forward (the student's; see `drop-path.ts`): rate of the last block
   * (linear over depth from 0) and one seed per sample. Ignored unless `training` is true. With
   * `temporal: false`, `call` gives every frame of a video its video's seed.
   */
  readonly dropPath?: DropPathOptions;
  /**
   * What the call returns per sample: `'embedding'` (default) `ln_post(cls) · proj`, `[.., E]`;
   * `'class-token'` the class token after `ln_post`, before the projection, `[.., D]` (TimeSformer's
   * `forward_features`, the input of SVT's DINO head); `'both'` the two concatenated, `[.., E + D]`
   * (embedding first), from one forward.
   */
  readonly output?: VisionOutput;
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

/** See {@link VisionCallOptions.output}. */
export type VisionOutput = 'embedding' | 'class-token' | 'both';

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

  /**
   * `ln_post` on the class token, then `proj`. Input `[B, N, D]`, output `[B, E]` (`'embedding'`),
   * `[B, D]` (`'class-token'`, before `proj`) or `[B, E + D]` (`'both'`).
   */
  private head(x: tf.Tensor, output: VisionOutput = 'embedding'): tf.Tensor2D {
    const [B, , D] = x.shape as [number, number, number];
    const cls = tf.reshape(tf.slice(x, [0, 0, 0], [B, 1, D]), [B, D]); // b 1 d -> b d
    const token = layerNorm(cls, this.weights.lnPost, this.config.layerNormEps) as tf.Tensor2D;
    if (output === 'class-token') return token;
    const embedding = tf.matMul(token, this.weights.proj) as tf.Tensor2D;
    if (output === 'embedding') return embedding;
    if (output === 'both') return tf.concat([embedding, token], 1) as tf.Tensor2D;
    throw new ConfigError(`output is ${JSON.stringify(output)}; expected 'embedding', 'class-token' or 'both'.`);
  }

  /** Width of a call's output rows for `output` (E, D or E + D). */
  outputWidth(output: VisionOutput = 'embedding'): number {
    return (output === 'class-token' ? 0 : this.config.embedDim) + (output === 'embedding' ? 0 : this.config.width);
  }

  /**
   * CLIP's `encode_image` (spatial attention only; temporal parts unused).
   *
   * Input shape: `[N, H, W, 3]`, CLIP-normalised. Output shape: `[N, E]`, unnormalised (see `output`).
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
      const drops = this.dropPathMasks(options, N, ['spatial', 'mlp']);
      const block = (h: tf.Tensor, w: BlockWeights, extra: tf.Tensor[]) =>
        clipBlock(h, w, opts, undefined, { spatial: extra[0], mlp: extra[1] } as BlockDropPath);
      // one tidy per block: a forward holds one block's intermediates at a time (the tape keeps what backward needs)
      this.weights.blocks.forEach((w, i) => {
        const h = x;
        const extra = drops[i] ?? [];
        x = tf.tidy(() => (options.recompute ? checkpointed(block, h, spatialOnly(w), extra) : block(h, w, extra)));
      });
      return this.head(x, options.output);
    });
  }

  /**
   * The video embedding. With `temporal: true`: divided space-time attention in every block, class
   * token through `ln_post` and `proj`. With `temporal: false` (image tower): the mean over frames of
   * the per-frame CLIP image embeddings (the frame-averaging baseline).
   *
   * Input shape: `[B, T, H, W, 3]`, CLIP-normalised. Output shape: `[B, E]`, unnormalised (`[B, D]` or
   * `[B, E + D]` with `output`).
   */
  call(video: tf.Tensor, options: VisionCallOptions = {}): tf.Tensor2D {
    this.checkAlive();
    if (video.rank !== 5) {
      throw new ShapeError(`Video input has shape [${video.shape.join(', ')}]; expected [B, T, H, W, 3] (channels-last).`);
    }
    const [B, T, H, W, C] = video.shape as [number, number, number, number, number];
    if (!this.config.temporal) {
      const dropPath = options.training ? options.dropPath : undefined;
      if (dropPath) validateDropPath(dropPath, B);
      // every frame of a video is dropped with its video (one seed per sample)
      const perFrameOptions = dropPath
        ? { ...options, dropPath: { rate: dropPath.rate, seeds: dropPath.seeds.flatMap((s) => Array<number>(T).fill(s)) } }
        : options;
      return tf.tidy(() => {
        const perFrame = this.callImages(tf.reshape(video, [B * T, H, W, C]), perFrameOptions); // (b t) h w c
        return tf.mean(tf.reshape(perFrame, [B, T, this.outputWidth(options.output)]), 1) as tf.Tensor2D; // (b t) e -> b t e
      });
    }
    return tf.tidy(() => {
      let x = this.embed(video, true);
      const opts = this.blockOptions();
      const mode = options.recompute === true ? 'nested' : options.recompute;
      const branches = mode === 'branches' || mode === 'nested';
      const outer = mode === 'block' || mode === 'nested';
      const drops = this.dropPathMasks(options, B, ['temporal', 'spatial', 'mlp']);
      const block = (h: tf.Tensor, w: BlockWeights, extra: tf.Tensor[]) =>
        dividedSpaceTimeBlock(h, w, opts, T, branches, { temporal: extra[0], spatial: extra[1], mlp: extra[2] } as BlockDropPath);
      this.weights.blocks.forEach((w, i) => {
        const h = x;
        const extra = drops[i] ?? [];
        // 'branches': each residual branch is checkpointed on its own (no outer block checkpoint needed)
        x = tf.tidy(() => (outer ? checkpointed(block, h, w, extra) : block(h, w, extra)));
      });
      return this.head(x, options.output);
    });
  }

  /**
   * Per block, the drop-path scales `[B, 1, 1]` of `branches` (in that order), or `[]` for a block that is
   * not dropped (rate 0, not training, no `dropPath`). Tensors of the caller's tidy.
   */
  private dropPathMasks(options: VisionCallOptions, batchSize: number, branches: readonly DropPathBranch[]): tf.Tensor[][] {
    const dropPath = options.dropPath;
    if (!options.training || !dropPath || dropPath.rate === 0) return [];
    validateDropPath(dropPath, batchSize);
    return dropPathRates(dropPath.rate, this.config.layers).map((p, block) =>
      p === 0 ? [] : branches.map((branch) => tf.tensor3d(dropPathScales(dropPath.seeds, p, block, branch), [batchSize, 1, 1])),
    );
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
