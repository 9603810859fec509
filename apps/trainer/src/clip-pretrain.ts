/**
 * CLIP pretraining on the synthetic action world's captioned stills (never on its videos): a contrastive
 * image-text trainer — symmetric InfoNCE with a learned temperature (CLIP, open_clip), AdamW with CLIP's
 * betas (0.9, 0.98) and eps 1e-6, linear warmup then cosine decay, `exp(logit_scale)` clamped at 100.
 * The result is a small CLIP in the Hugging Face layout (`config.json`, `model.safetensors`, OpenAI's
 * tokenizer files) that every other part of the project loads like any CLIP.
 *
 * Deterministic under the seed: the initial weights come from the seed, and the batch and augmentation of
 * step `t` from `hash(seed, t)` alone, so a run resumed from a checkpoint is the same run.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIP_MEAN, CLIP_STD, type ClipConfig, ClipModel, textSpecs, validateClipConfig, visionSpecs } from '@lss/backbone';
import type { Tokenizer } from '@lss/concepts';
import { autograd, ConfigError, hashString, SeededRandom, WeightsError } from '@lss/core';
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from '@lss/core/node';
import { CLIP_MAX_LOGIT_SCALE, clipContrastiveLoss } from '@lss/objectives';
import * as tf from '@tensorflow/tfjs-core';
import { type AppearanceAugmentation, augmentAppearance, validateAppearance } from './clip-augment.js';
import { AdamW } from './optim/adamw.js';

/** The recipe. Every field is part of the model card. */
export interface ClipPretrainConfig {
  readonly seed: number;
  readonly steps: number;
  readonly batchSize: number;
  /** Peak learning rate (after warmup). */
  readonly learningRate: number;
  readonly warmupSteps: number;
  readonly weightDecay: number;
  /** Text context length used in training (captions are short; <= 77). */
  readonly contextLength: number;
  /** Augmentation: random translation of each still by up to this many pixels (edge replicated). */
  readonly maxShift: number;
  /** Augmentation: horizontal flips with probability 0.5. */
  readonly flip: boolean;
  /** Initial temperature, 1 / exp(logit_scale) at step 0 (CLIP: 0.07). */
  readonly initTemperature: number;
  /** Appearance augmentation (background, figure colour, scale, noise; `clip-augment.ts`), or null for none. */
  readonly appearance: AppearanceAugmentation | null;
  /**
   * First step (0-based) whose batch gets the appearance augmentation; earlier steps see the stills as they
   * are (a curriculum: with the augmentation from step 0 the tiny CLIP never leaves the collapsed state
   * where every embedding is the same, see the model card).
   */
  readonly appearanceFromStep: number;
  /**
   * Keep the text tower's token embedding table (vocabulary x width; 49408 x 32 = 1.6 M of the tiny CLIP's
   * 1.9 M weights) at its initialisation. Its AdamW update and dense gradient dominate a step's time while
   * the captions use about a hundred of its rows.
   */
  readonly freezeTokenEmbedding: boolean;
  /**
   * Peak learning rate of `logit_scale` (its own AdamW parameter group, same warmup and cosine), or null
   * for `learningRate`. With Adam a parameter moves about its learning rate per step, so at 1e-3 the
   * temperature cannot leave its initial value within a short run (log T moves <= 0.5 in 500 steps),
   * while a sharp initial temperature collapses the towers (see the model card).
   */
  readonly logitScaleLearningRate: number | null;
}

export const DEFAULT_CLIP_PRETRAIN: ClipPretrainConfig = {
  seed: 0,
  steps: 1500,
  batchSize: 128,
  learningRate: 2e-3,
  warmupSteps: 100,
  weightDecay: 0.1,
  contextLength: 16,
  maxShift: 3,
  flip: true,
  initTemperature: 0.07,
  appearance: null,
  appearanceFromStep: 0,
  freezeTokenEmbedding: false,
  logitScaleLearningRate: null,
};

/** Captioned stills in memory: `[N, S, S, 3]` uint8 and one caption per still. */
export interface CaptionedStills {
  readonly images: Uint8Array;
  readonly size: number;
  readonly captions: readonly string[];
}

/** Reads the CLIP architecture from a Hugging Face `config.json` (`CLIPConfig`), image tower only. */
export function clipConfigFromHf(json: unknown): ClipConfig {
  const c = json as {
    projection_dim?: number;
    vision_config?: Record<string, number | string>;
    text_config?: Record<string, number | string>;
  };
  const v = c.vision_config;
  const t = c.text_config;
  if (!v || !t || typeof c.projection_dim !== 'number') {
    throw new ConfigError('CLIP config.json needs projection_dim, vision_config and text_config (a Hugging Face CLIPConfig).');
  }
  const act = (x: unknown) => (x === 'gelu' ? 'gelu' : 'quick_gelu') as 'gelu' | 'quick_gelu';
  const e = c.projection_dim;
  return validateClipConfig({
    embedDim: e,
    vision: {
      imageSize: v.image_size as number,
      patchSize: v.patch_size as number,
      width: v.hidden_size as number,
      layers: v.num_hidden_layers as number,
      heads: v.num_attention_heads as number,
      mlpDim: v.intermediate_size as number,
      embedDim: e,
      temporal: false,
      numFrames: 1,
      activation: act(v.hidden_act),
      layerNormEps: (v.layer_norm_eps as number) ?? 1e-5,
    },
    text: {
      contextLength: (t.max_position_embeddings as number) ?? 77,
      vocabSize: t.vocab_size as number,
      width: t.hidden_size as number,
      layers: t.num_hidden_layers as number,
      heads: t.num_attention_heads as number,
      mlpDim: t.intermediate_size as number,
      embedDim: e,
      activation: act(t.hidden_act),
      layerNormEps: (t.layer_norm_eps as number) ?? 1e-5,
    },
  });
}

/** Learning rate of step `t` (0-based): linear warmup to the peak, then cosine to 0 at `steps`. */
export function pretrainLearningRate(config: ClipPretrainConfig, t: number): number {
  if (t < config.warmupSteps) return (config.learningRate * (t + 1)) / config.warmupSteps;
  const p = (t - config.warmupSteps) / Math.max(1, config.steps - config.warmupSteps);
  return 0.5 * config.learningRate * (1 + Math.cos(Math.PI * Math.min(1, p)));
}

/**
 * The batch of step `t`: indices (without replacement within the step) and augmented, CLIP-normalised
 * pixels `[B, S, S, 3]` float32. A function of (seed, t) only.
 */
export function pretrainBatch(
  stills: CaptionedStills,
  config: ClipPretrainConfig,
  t: number,
): { indices: Int32Array; pixels: Float32Array; shape: [number, number, number, 3] } {
  const N = stills.captions.length;
  const B = Math.min(config.batchSize, N);
  const rng = new SeededRandom(hashString(`clip-pretrain/step/${t}`, config.seed));
  const pool = Int32Array.from({ length: N }, (_, i) => i);
  for (let i = 0; i < B; i++) {
    const j = i + rng.int(N - i);
    [pool[i], pool[j]] = [pool[j] as number, pool[i] as number];
  }
  const indices = pool.slice(0, B);
  const S = stills.size;
  const pixels = new Float32Array(B * S * S * 3);
  const px = S * S * 3;
  const levels = new Float32Array(px);
  for (let b = 0; b < B; b++) {
    const src = (indices[b] as number) * px;
    const dx = config.maxShift > 0 ? rng.int(2 * config.maxShift + 1) - config.maxShift : 0;
    const dy = config.maxShift > 0 ? rng.int(2 * config.maxShift + 1) - config.maxShift : 0;
    const flip = config.flip && rng.bernoulli(0.5);
    // Appearance augmentation draws only when configured, so a recipe without it keeps its batches.
    if (config.appearance && t >= config.appearanceFromStep && rng.bernoulli(config.appearance.probability)) {
      augmentAppearance(stills.images.subarray(src, src + px), S, rng, config.appearance, { dx, dy, flip }, levels, 0);
    } else {
      for (let y = 0; y < S; y++) {
        const sy = Math.min(S - 1, Math.max(0, y - dy));
        for (let x = 0; x < S; x++) {
          let sx = Math.min(S - 1, Math.max(0, x - dx));
          if (flip) sx = S - 1 - sx;
          const o = (y * S + x) * 3;
          const i = src + (sy * S + sx) * 3;
          for (let c = 0; c < 3; c++) levels[o + c] = stills.images[i + c] as number;
        }
      }
    }
    for (let i = 0; i < px; i++)
      pixels[b * px + i] = ((levels[i] as number) / 255 - (CLIP_MEAN[i % 3] as number)) / (CLIP_STD[i % 3] as number);
  }
  return { indices, pixels, shape: [B, S, S, 3] };
}

/**
 * Gradient of an embedding lookup (`GatherV2`, axis 0, no batch dims) written with ops every backend has:
 * the rows of `dy` are summed per distinct id by a one-hot matMul, then placed in the `[V, D]` gradient by a
 * gather over those sums plus one zero row (ids distinct, so no reliance on how a backend treats duplicates;
 * no ScatterNd, which the torch backend lacks). tfjs's own gradient needs the
 * `UnsortedSegmentSum` kernel, which the wasm backend lacks (docs/FACTS.md). Other gathers keep
 * tfjs's gradient. Registered once, process-wide, by {@link ClipPretrainer}.
 */
export function registerEmbeddingGradient(): void {
  if (embeddingGradientRegistered) return;
  const original = tf.getGradient(tf.GatherV2);
  tf.registerGradient({
    kernelName: tf.GatherV2,
    inputsToSave: ['x', 'indices'],
    gradFunc: (dy, saved, attrs) => {
      const [x, indices] = saved as [tf.Tensor, tf.Tensor];
      const axis = Number(attrs.axis ?? 0);
      const batchDims = Number(attrs.batchDims ?? 0);
      if (axis !== 0 || batchDims !== 0 || indices.rank !== 1 || x.rank !== 2) {
        if (!original) throw new ConfigError('tfjs has no GatherV2 gradient to fall back to.');
        return original.gradFunc(dy, saved, attrs);
      }
      const g = dy as tf.Tensor2D;
      const ids = indices.dataSync();
      const distinct = [...new Set(ids)].sort((a, b) => a - b);
      const position = new Map(distinct.map((id, u) => [id, u]));
      const inverse = Int32Array.from(ids, (id) => position.get(id) as number);
      return {
        x: () =>
          tf.tidy(() => {
            // oneHot needs depth >= 2: one extra all-zero column when the batch holds a single id, sliced off.
            const depth = Math.max(2, distinct.length);
            const summed = tf.slice(
              tf.matMul(tf.transpose(tf.oneHot(tf.tensor1d(inverse, 'int32'), depth)), g),
              [0, 0],
              [distinct.length, -1],
            ); // [U, D]
            // Rows of the [V, D] gradient: row id gets summed[position of id], every other row the zero row U
            // (a gather, which every backend has; ScatterNd is missing on the torch backend).
            const lookup = new Int32Array(x.shape[0] as number).fill(distinct.length);
            distinct.forEach((id, u) => {
              lookup[id] = u;
            });
            const padded = tf.concat([summed, tf.zeros([1, summed.shape[1] as number])], 0); // [U + 1, D]
            return tf.gather(padded, tf.tensor1d(lookup, 'int32')); // [V, D]
          }),
        indices: () => tf.zerosLike(indices),
      };
    },
  });
  embeddingGradientRegistered = true;
}
let embeddingGradientRegistered = false;

/** A pretraining run in memory: the model, its temperature, the optimizer, the step reached. */
export class ClipPretrainer {
  readonly model: ClipModel;
  readonly logitScale: tf.Variable;
  readonly optimizer: AdamW;
  readonly variables: Map<string, tf.Variable>;
  step = 0;
  /** Wall-clock seconds spent in {@link ClipPretrainer.trainStep} over the whole run (kept across resumes). */
  trainSeconds = 0;
  private readonly tokens: Int32Array;
  private readonly L: number;

  constructor(
    readonly clipConfig: ClipConfig,
    readonly config: ClipPretrainConfig,
    readonly stills: CaptionedStills,
    tokenizer: Tokenizer,
  ) {
    registerEmbeddingGradient();
    if (config.appearance) validateAppearance(config.appearance);
    if (stills.captions.length < 2)
      throw new ConfigError(`CLIP pretraining needs >= 2 captioned stills; received ${stills.captions.length}.`);
    if (stills.size !== clipConfig.vision.imageSize) {
      throw new ConfigError(
        `Stills are ${stills.size} px; the CLIP's image_size is ${clipConfig.vision.imageSize}. Render stills at the model's size.`,
      );
    }
    this.model = new ClipModel(clipConfig, { root: 'clip', seed: config.seed, trainable: true });
    this.logitScale = tf.variable(tf.scalar(Math.log(1 / config.initTemperature)), true, `clip/logit_scale#${config.seed}`);
    this.variables = new Map([
      ...this.model.vision.scope.variables(),
      ...this.model.text.scope.variables(),
      ['clip/logit_scale', this.logitScale],
    ]);
    this.optimizer = new AdamW({ beta1: 0.9, beta2: 0.98, epsilon: 1e-6, decay: (v) => v.rank >= 2 });
    // Tokenize every caption once, cut to the context length used in training.
    const L = config.contextLength;
    const batch = tokenizer.tokenize(stills.captions as string[]);
    if (batch.lengths.some((n) => n > L)) {
      throw new ConfigError(`A caption has ${Math.max(...batch.lengths)} tokens; contextLength is ${L}. Raise contextLength.`);
    }
    const full = batch.shape[1];
    this.tokens = new Int32Array(stills.captions.length * L);
    for (let i = 0; i < stills.captions.length; i++) this.tokens.set(batch.ids.subarray(i * full, i * full + L), i * L);
    this.L = L;
  }

  /** One optimisation step; returns the loss before the update. */
  trainStep(): number {
    const started = performance.now();
    const t = this.step;
    const { indices, pixels, shape } = pretrainBatch(this.stills, this.config, t);
    const ids = new Int32Array(indices.length * this.L);
    indices.forEach((s, b) => ids.set(this.tokens.subarray(s * this.L, (s + 1) * this.L), b * this.L));
    const frozen = this.config.freezeTokenEmbedding ? this.model.text.weights.tokenEmbedding : null;
    const trainable = [...this.variables.values()].filter((v) => v.trainable && v !== frozen);
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor4d(pixels, shape);
      const tok = tf.tensor2d(ids, [indices.length, this.L], 'int32');
      return autograd.variableGrads(
        () => clipContrastiveLoss(this.model.encodeImages(x), this.model.encodeText(tok), this.logitScale),
        trainable,
      );
    });
    const loss = value.dataSync()[0] as number;
    value.dispose();
    const named: tf.NamedTensorMap = {};
    for (const [name, v] of this.variables) if (grads[v.name]) named[name] = grads[v.name] as tf.Tensor;
    const learningRate = pretrainLearningRate(this.config, t);
    const logitScaleRate = this.config.logitScaleLearningRate;
    this.optimizer.step(this.variables, named, {
      learningRate,
      weightDecay: this.config.weightDecay,
      ...(logitScaleRate === null
        ? {}
        : { learningRates: new Map([['clip/logit_scale', (learningRate * logitScaleRate) / this.config.learningRate]]) }),
    });
    for (const g of Object.values(grads)) g.dispose();
    // CLIP clamps the multiplier at 100.
    tf.tidy(() => this.logitScale.assign(tf.minimum(this.logitScale, CLIP_MAX_LOGIT_SCALE)));
    this.step = t + 1;
    this.trainSeconds += (performance.now() - started) / 1000;
    if (!Number.isFinite(loss)) throw new ConfigError(`CLIP pretraining loss is ${loss} at step ${t}; lower the learning rate.`);
    return loss;
  }

  /** Writes a resumable checkpoint (weights under our paths, optimizer slots, step). */
  async saveCheckpoint(file: string): Promise<void> {
    const tensors: Record<string, { shape: readonly number[]; data: Float32Array }> = {};
    for (const [name, v] of this.variables) tensors[`model/${name}`] = { shape: v.shape, data: (await v.data()) as Float32Array };
    const state = await this.optimizer.getState();
    for (const [name, s] of state.slots) tensors[`optimizer/${name}`] = s;
    writeSafetensorsFile(file, tensors, {
      step: String(this.step),
      optimizerStep: String(state.step),
      config: JSON.stringify(this.config),
    });
  }

  /** Restores a checkpoint written by {@link ClipPretrainer.saveCheckpoint} with the same recipe. */
  loadCheckpoint(file: string): void {
    const { tensors, metadata } = readSafetensorsFile(file);
    if (metadata.config !== JSON.stringify(this.config)) {
      throw new WeightsError(
        `${file} was written with recipe ${metadata.config}; this run uses ${JSON.stringify(this.config)}. Resume with the same recipe.`,
      );
    }
    for (const [name, v] of this.variables) {
      const t = tensors.get(`model/${name}`);
      if (!t) throw new WeightsError(`${file} has no tensor model/${name}; it is not a checkpoint of this model.`);
      tf.tidy(() => v.assign(tf.tensor(t.data, v.shape, 'float32')));
    }
    const slots = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [key, t] of tensors)
      if (key.startsWith('optimizer/')) slots.set(key.slice('optimizer/'.length), { shape: t.shape, data: t.data as Float32Array });
    this.optimizer.setState({ step: Number(metadata.optimizerStep), slots }, this.variables);
    this.step = Number(metadata.step);
    this.trainSeconds = Number(metadata.trainSeconds ?? Number.NaN);
  }

  /** The weights in Hugging Face `CLIPModel` names (what `model.safetensors` holds). */
  hfTensors(): Map<string, { shape: readonly number[]; data: Float32Array }> {
    const out = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    const towers = [
      [this.model.vision.scope, visionSpecs('hf', this.clipConfig.vision)],
      [this.model.text.scope, textSpecs('hf', this.clipConfig.text)],
    ] as const;
    for (const [scope, specs] of towers) {
      const vars = scope.variables();
      for (const spec of specs) {
        const v = vars.get(`${scope.path}/${spec.path}`);
        if (!v) throw new WeightsError(`Variable ${scope.path}/${spec.path} is missing; cannot export.`);
        const parts = spec.fromOurs({ shape: v.shape, data: v.dataSync() as Float32Array });
        spec.keys.forEach((key, i) => {
          const p = parts[i] as { shape: readonly number[]; data: Float32Array };
          out.set(key, { shape: p.shape, data: p.data });
        });
      }
    }
    out.set('logit_scale', { shape: [], data: this.logitScale.dataSync() as Float32Array });
    return out;
  }

  /**
   * Writes a Hugging Face CLIP folder: `model.safetensors`, and `config.json` + tokenizer files copied
   * from `templateDir` (the architecture this run was built from); `configJson`, when given, is written as
   * `config.json` instead (an architecture derived from the template's, e.g. another patch size).
   */
  saveHfFolder(dir: string, templateDir: string, metadata: Record<string, string> = {}, configJson?: unknown): void {
    mkdirSync(dir, { recursive: true });
    writeSafetensorsFile(join(dir, 'model.safetensors'), this.hfTensors(), { format: 'pt', ...metadata });
    for (const f of HF_CLIP_SIDE_FILES) {
      if (f === 'config.json' && configJson !== undefined) writeFileAtomic(join(dir, f), `${JSON.stringify(configJson, null, 2)}\n`);
      else if (existsSync(join(templateDir, f))) copyFileSync(join(templateDir, f), join(dir, f));
    }
  }

  dispose(): void {
    this.model.dispose();
    this.logitScale.dispose();
    for (const v of this.optimizer.variables().values()) v.dispose();
  }
}

/** Files of a Hugging Face CLIP folder besides the weights. */
export const HF_CLIP_SIDE_FILES = [
  'config.json',
  'preprocessor_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.json',
  'merges.txt',
] as const;

/**
 * A Hugging Face CLIP `config.json` with another image patch size (`vision_config.patch_size`); the rest is
 * unchanged. Throws a ConfigError unless the patch size is a positive integer dividing `image_size`.
 */
export function hfConfigWithPatchSize(json: unknown, patchSize: number): Record<string, unknown> {
  const c = json as { vision_config?: Record<string, unknown> };
  const imageSize = c.vision_config?.image_size;
  if (typeof imageSize !== 'number')
    throw new ConfigError('CLIP config.json has no vision_config.image_size; expected a Hugging Face CLIPConfig.');
  if (!Number.isInteger(patchSize) || patchSize < 1 || imageSize % patchSize !== 0) {
    throw new ConfigError(`Patch size must be a positive integer dividing the image size ${imageSize}; received ${patchSize}.`);
  }
  return { ...(json as Record<string, unknown>), vision_config: { ...c.vision_config, patch_size: patchSize } };
}

/** Reads a Hugging Face `config.json` into a {@link ClipConfig}. */
export function readHfClipConfig(dir: string): ClipConfig {
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new ConfigError(`${path} does not exist; expected a Hugging Face CLIP config.json.`);
  return clipConfigFromHf(JSON.parse(readFileSync(path, 'utf8')));
}

/** Atomically writes a text file (re-exported for the CLI's model card). */
export const writeText = writeFileAtomic;
