/**
 * Configurations of the CLIP towers and the named presets (ViT-B/32, ViT-B/16, ViT-L/14).
 *
 * Configs are flat, readonly and validated at construction ({@link validateVisionConfig},
 * {@link validateTextConfig}); an invalid value throws {@link ConfigError} naming the field.
 */
import { ConfigError } from '@lss/core';

/**
 * MLP activation. `quick_gelu` is CLIP's `x * sigmoid(1.702 x)`; `gelu` is the exact erf form
 * (PyTorch `nn.GELU()`, TimeSformer); `gelu_tanh` the tanh approximation.
 */
export type Activation = 'quick_gelu' | 'gelu' | 'gelu_tanh';
export const ACTIVATIONS: readonly Activation[] = ['quick_gelu', 'gelu', 'gelu_tanh'];

/** Vision tower (CLIP ViT, optionally with divided space-time attention). */
export interface VisionConfig {
  /** Input side in pixels at which the position embedding was trained (224 for CLIP). */
  readonly imageSize: number;
  /** Patch side in pixels (32, 16, 14). */
  readonly patchSize: number;
  /** Token width D. */
  readonly width: number;
  /** Number of transformer blocks. */
  readonly layers: number;
  /** Attention heads; `width` must be divisible by it. */
  readonly heads: number;
  /** Hidden width of the MLP (4 * width in CLIP). */
  readonly mlpDim: number;
  /** Output width E of the projection `proj` to the joint space. */
  readonly embedDim: number;
  /**
   * Adds TimeSformer's divided space-time attention (temporal attention, `temporalFc`, time
   * embedding) to every block. `false` gives CLIP's image tower.
   */
  readonly temporal: boolean;
  /** Length of the temporal position embedding (frames per clip; 8 in the method). */
  readonly numFrames: number;
  readonly activation: Activation;
  /** LayerNorm epsilon (1e-5 in CLIP and TimeSformer). */
  readonly layerNormEps: number;
}

/** Text tower (CLIP's causal transformer). */
export interface TextConfig {
  readonly contextLength: number;
  readonly vocabSize: number;
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly mlpDim: number;
  readonly embedDim: number;
  readonly activation: Activation;
  readonly layerNormEps: number;
}

/** A full CLIP: both towers project to the same `embedDim`. */
export interface ClipConfig {
  readonly embedDim: number;
  readonly vision: VisionConfig;
  readonly text: TextConfig;
}

function positiveInt(where: string, field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${where}.${field} is ${JSON.stringify(value)}; expected a positive integer.`);
  }
}

function checkActivationAndEps(where: string, c: { activation: unknown; layerNormEps: unknown }): void {
  if (!ACTIVATIONS.includes(c.activation as Activation)) {
    throw new ConfigError(
      `${where}.activation is ${JSON.stringify(c.activation)}; expected one of ${ACTIVATIONS.join(', ')} (CLIP uses quick_gelu).`,
    );
  }
  if (typeof c.layerNormEps !== 'number' || !(c.layerNormEps > 0) || !Number.isFinite(c.layerNormEps)) {
    throw new ConfigError(`${where}.layerNormEps is ${JSON.stringify(c.layerNormEps)}; expected a positive number such as 1e-5.`);
  }
}

/** Checks every field; returns a frozen copy. */
export function validateVisionConfig(config: VisionConfig, where = 'vision'): VisionConfig {
  for (const f of ['imageSize', 'patchSize', 'width', 'layers', 'heads', 'mlpDim', 'embedDim', 'numFrames'] as const) {
    positiveInt(where, f, config[f]);
  }
  if (typeof config.temporal !== 'boolean') {
    throw new ConfigError(`${where}.temporal is ${JSON.stringify(config.temporal)}; expected true (video tower) or false (image tower).`);
  }
  if (config.width % config.heads !== 0) {
    throw new ConfigError(`${where}.width ${config.width} is not divisible by heads ${config.heads}; choose heads dividing the width.`);
  }
  if (config.imageSize % config.patchSize !== 0) {
    throw new ConfigError(
      `${where}.imageSize ${config.imageSize} is not a multiple of patchSize ${config.patchSize}; the patch grid must be whole.`,
    );
  }
  checkActivationAndEps(where, config);
  return Object.freeze({ ...config });
}

/** Checks every field; returns a frozen copy. */
export function validateTextConfig(config: TextConfig, where = 'text'): TextConfig {
  for (const f of ['contextLength', 'vocabSize', 'width', 'layers', 'heads', 'mlpDim', 'embedDim'] as const) {
    positiveInt(where, f, config[f]);
  }
  if (config.width % config.heads !== 0) {
    throw new ConfigError(`${where}.width ${config.width} is not divisible by heads ${config.heads}; choose heads dividing the width.`);
  }
  checkActivationAndEps(where, config);
  return Object.freeze({ ...config });
}

/** Checks both towers and that they share `embedDim`; returns a frozen copy. */
export function validateClipConfig(config: ClipConfig): ClipConfig {
  const vision = validateVisionConfig(config.vision);
  const text = validateTextConfig(config.text);
  positiveInt('clip', 'embedDim', config.embedDim);
  if (vision.embedDim !== config.embedDim || text.embedDim !== config.embedDim) {
    throw new ConfigError(
      `clip.embedDim is ${config.embedDim} but vision.embedDim is ${vision.embedDim} and text.embedDim ${text.embedDim}; all three must be equal.`,
    );
  }
  return Object.freeze({ embedDim: config.embedDim, vision, text });
}

/** Names of the built-in presets (OpenAI CLIP architectures). */
export type ClipPresetName = 'ViT-B/32' | 'ViT-B/16' | 'ViT-L/14';
export const CLIP_PRESET_NAMES: readonly ClipPresetName[] = ['ViT-B/32', 'ViT-B/16', 'ViT-L/14'];

function preset(patchSize: number, vw: number, vl: number, embedDim: number, tw: number): ClipConfig {
  return validateClipConfig({
    embedDim,
    vision: {
      imageSize: 224,
      patchSize,
      width: vw,
      layers: vl,
      heads: vw / 64,
      mlpDim: 4 * vw,
      embedDim,
      temporal: true,
      numFrames: 8,
      activation: 'quick_gelu',
      layerNormEps: 1e-5,
    },
    text: {
      contextLength: 77,
      vocabSize: 49408,
      width: tw,
      layers: 12,
      heads: tw / 64,
      mlpDim: 4 * tw,
      embedDim,
      activation: 'quick_gelu',
      layerNormEps: 1e-5,
    },
  });
}

/**
 * OpenAI CLIP architectures (clip/model.py `build_model`), vision tower with divided space-time
 * attention and 8 frames. Use {@link visionPreset} for the image tower or another frame count.
 */
export const CLIP_PRESETS: Readonly<Record<ClipPresetName, ClipConfig>> = Object.freeze({
  'ViT-B/32': preset(32, 768, 12, 512, 512),
  'ViT-B/16': preset(16, 768, 12, 512, 512),
  'ViT-L/14': preset(14, 1024, 24, 768, 768),
});

/** A preset's full CLIP config. Throws {@link ConfigError} for an unknown name. */
export function clipPreset(name: ClipPresetName): ClipConfig {
  const config = CLIP_PRESETS[name];
  if (!config) throw new ConfigError(`Unknown CLIP preset ${JSON.stringify(name)}; expected one of ${CLIP_PRESET_NAMES.join(', ')}.`);
  return config;
}

/**
 * A preset's vision tower, video by default (`temporal: true`, 8 frames), with overrides.
 *
 * @example
 * const video = visionPreset('ViT-B/16');                     // video tower, 8 frames
 * const image = visionPreset('ViT-B/16', { temporal: false }); // CLIP image tower
 */
export function visionPreset(name: ClipPresetName, overrides: Partial<VisionConfig> = {}): VisionConfig {
  return validateVisionConfig({ ...clipPreset(name).vision, ...overrides });
}
