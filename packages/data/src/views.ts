/**
 * Spatio-temporal views: SVT's global and local training views (SPEC section 4) and test-time clips x crops
 * (SPEC section 5), planned from a seeded random source and rendered from decoded frames.
 *
 * Planning is separate from rendering so that a loader can decode the union of every view's frames in one
 * ffmpeg process, then render each view from memory. Plans are plain JSON-able objects.
 */
import { ConfigError, type SeededRandom } from '@lss/core';
import {
  adjustBrightnessInPlace,
  adjustContrastInPlace,
  adjustHueInPlace,
  adjustSaturationInPlace,
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_STD,
  cropResizeFrames,
  gaussianBlurInPlace,
  grayscaleInPlace,
  normalizeInPlace,
  solarizeInPlace,
} from './augment.js';
import { type CropBox, randomResizedCropBox, sampleFrameIndices, sampleTestClipIndices, spatialCrops } from './sampling.js';
import type { HostVideo, RgbFrames } from './types.js';

/**
 * SVT-style multi-view training configuration. Defaults are {@link SVT_VIEW_CONFIG}; probabilities follow DINO's
 * `DataAugmentationDINO` (blur 1.0 / 0.1 on the two global views, 0.5 on locals; solarisation 0.2 on the second
 * global view only), which SVT reuses but whose blur and solarisation were no-ops in SVT's code; here they are
 * really applied.
 */
export interface SvtViewConfig {
  readonly numGlobalViews: number;
  readonly numLocalViews: number;
  /** Frames per global view (T). */
  readonly numGlobalFrames: number;
  /** Frames per local view. */
  readonly numLocalFrames: number;
  /** Side of a global view in pixels. */
  readonly globalSize: number;
  /** Side of a local view in pixels. */
  readonly localSize: number;
  /** Area range of the random resized crop of global views. */
  readonly globalScale: readonly [number, number];
  /** Area range of the random resized crop of local views. */
  readonly localScale: readonly [number, number];
  /** Aspect-ratio range of the random resized crop. */
  readonly ratio: readonly [number, number];
  /**
   * Temporal span of a local view as a fraction of the clip (our choice: 0.25; the SVT paper only says local views
   * cover a shorter span than global ones). Global views always span the whole clip.
   */
  readonly localSpanFraction: number;
  readonly flipProbability: number;
  readonly colorJitterProbability: number;
  /** Colour-jitter strengths (torchvision `ColorJitter(0.4, 0.4, 0.2, 0.1)` in DINO). */
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;
  readonly grayscaleProbability: number;
  /** Blur probability per global view index (cycled when there are more global views). */
  readonly globalBlurProbability: readonly number[];
  readonly localBlurProbability: number;
  /** Gaussian blur sigma range, in pixels of the output view. */
  readonly blurSigma: readonly [number, number];
  /** Solarisation probability per global view index (cycled). */
  readonly globalSolarizeProbability: readonly number[];
  readonly localSolarizeProbability: number;
  /** Apply CLIP normalisation to the rendered views. */
  readonly normalize: boolean;
}

/** SPEC section 4: 2 global views of 8 frames at 224 px, 8 local views of 8 frames at 96 px. */
export const SVT_VIEW_CONFIG: SvtViewConfig = {
  numGlobalViews: 2,
  numLocalViews: 8,
  numGlobalFrames: 8,
  numLocalFrames: 8,
  globalSize: 224,
  localSize: 96,
  globalScale: [0.4, 1.0],
  localScale: [0.05, 0.4],
  ratio: [3 / 4, 4 / 3],
  localSpanFraction: 0.25,
  flipProbability: 0.5,
  colorJitterProbability: 0.8,
  brightness: 0.4,
  contrast: 0.4,
  saturation: 0.2,
  hue: 0.1,
  grayscaleProbability: 0.2,
  globalBlurProbability: [1.0, 0.1],
  localBlurProbability: 0.5,
  blurSigma: [0.1, 2.0],
  globalSolarizeProbability: [0.0, 0.2],
  localSolarizeProbability: 0.0,
  normalize: true,
};

/** Test-time views: `numClips` uniform temporal clips x `numCrops` spatial crops (SPEC section 5). */
export interface TestViewConfig {
  readonly numClips: number;
  readonly numCrops: number;
  readonly numFrames: number;
  /** Side of each (square) crop; the frame's short side is resized to it. */
  readonly size: number;
  readonly normalize: boolean;
}

/** 1 clip x 1 crop of 8 frames at 224. */
export const TEST_VIEW_CONFIG_1X1: TestViewConfig = { numClips: 1, numCrops: 1, numFrames: 8, size: 224, normalize: true };
/** 4 clips x 3 crops of 8 frames at 224. */
export const TEST_VIEW_CONFIG_4X3: TestViewConfig = { numClips: 4, numCrops: 3, numFrames: 8, size: 224, normalize: true };

/** Colour-jitter parameters drawn for one view. `order` permutes [brightness, contrast, saturation, hue]. */
export interface ColorJitterParams {
  readonly order: readonly number[];
  readonly brightness: number;
  readonly contrast: number;
  readonly saturation: number;
  readonly hue: number;
}

/** Augmentations drawn for one view; `null` fields are not applied. */
export interface ViewAugmentation {
  readonly flip: boolean;
  readonly colorJitter: ColorJitterParams | null;
  readonly grayscale: boolean;
  /** Blur sigma in output pixels, or 0 for none. */
  readonly blurSigma: number;
  readonly solarize: boolean;
}

/** Everything needed to render one view from decoded frames. */
export interface ViewPlan {
  readonly kind: 'global' | 'local' | 'test';
  /** Video frame indices, one per output frame (length T). */
  readonly frameIndices: readonly number[];
  /** Crop box in pixels of a `sourceWidth x sourceHeight` frame. */
  readonly crop: CropBox;
  readonly sourceWidth: number;
  readonly sourceHeight: number;
  /** Output side in pixels (views are square). */
  readonly size: number;
  readonly augmentation: ViewAugmentation | null;
  readonly normalize: boolean;
}

/** The frame size and count a plan needs (a subset of `VideoInfo`). */
export interface FrameGeometry {
  readonly width: number;
  readonly height: number;
  readonly numFrames: number;
}

function checkProbability(name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new ConfigError(`SvtViewConfig.${name} must be a probability in [0, 1]; received ${p}.`);
}

/** Validates an {@link SvtViewConfig}; throws `ConfigError` naming the field, the value and the valid range. */
export function validateSvtViewConfig(config: SvtViewConfig): SvtViewConfig {
  for (const key of ['numGlobalViews', 'numLocalViews'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 0) {
      throw new ConfigError(`SvtViewConfig.${key} must be an integer >= 0; received ${config[key]}.`);
    }
  }
  for (const key of ['numGlobalFrames', 'numLocalFrames', 'globalSize', 'localSize'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) {
      throw new ConfigError(`SvtViewConfig.${key} must be an integer >= 1; received ${config[key]}.`);
    }
  }
  for (const key of ['globalScale', 'localScale', 'ratio', 'blurSigma'] as const) {
    const [a, b] = config[key];
    if (!(a > 0 && b >= a)) throw new ConfigError(`SvtViewConfig.${key} must be [low, high] with 0 < low <= high; received [${a}, ${b}].`);
  }
  if (!(config.localSpanFraction > 0 && config.localSpanFraction <= 1)) {
    throw new ConfigError(`SvtViewConfig.localSpanFraction must be in (0, 1]; received ${config.localSpanFraction}.`);
  }
  for (const key of [
    'flipProbability',
    'colorJitterProbability',
    'grayscaleProbability',
    'localBlurProbability',
    'localSolarizeProbability',
  ] as const) {
    checkProbability(key, config[key]);
  }
  for (const p of config.globalBlurProbability) checkProbability('globalBlurProbability', p);
  for (const p of config.globalSolarizeProbability) checkProbability('globalSolarizeProbability', p);
  if (!(config.hue >= 0 && config.hue <= 0.5)) throw new ConfigError(`SvtViewConfig.hue must be in [0, 0.5]; received ${config.hue}.`);
  for (const key of ['brightness', 'contrast', 'saturation'] as const) {
    if (!(config[key] >= 0)) throw new ConfigError(`SvtViewConfig.${key} must be >= 0; received ${config[key]}.`);
  }
  return config;
}

function checkGeometry(geometry: FrameGeometry): void {
  if (!(Number.isInteger(geometry.numFrames) && geometry.numFrames >= 1 && geometry.width >= 1 && geometry.height >= 1)) {
    throw new ConfigError(
      `View planning needs a video with >= 1 frame and a positive size; received ${geometry.width}x${geometry.height}, ${geometry.numFrames} frames.`,
    );
  }
}

function cycled(values: readonly number[], index: number, fallback: number): number {
  return values.length === 0 ? fallback : (values[index % values.length] as number);
}

function drawAugmentation(
  config: SvtViewConfig,
  blurProbability: number,
  solarizeProbability: number,
  rng: SeededRandom,
): ViewAugmentation {
  const flip = rng.bernoulli(config.flipProbability);
  let colorJitter: ColorJitterParams | null = null;
  if (rng.bernoulli(config.colorJitterProbability)) {
    const order = rng.shuffle([0, 1, 2, 3]);
    colorJitter = {
      order,
      brightness: rng.range(Math.max(0, 1 - config.brightness), 1 + config.brightness),
      contrast: rng.range(Math.max(0, 1 - config.contrast), 1 + config.contrast),
      saturation: rng.range(Math.max(0, 1 - config.saturation), 1 + config.saturation),
      hue: rng.range(-config.hue, config.hue),
    };
  }
  const grayscale = rng.bernoulli(config.grayscaleProbability);
  const blurSigma = rng.bernoulli(blurProbability) ? rng.range(config.blurSigma[0], config.blurSigma[1]) : 0;
  const solarize = rng.bernoulli(solarizeProbability);
  return { flip, colorJitter, grayscale, blurSigma, solarize };
}

/**
 * Plans SVT's training views for one video: `numGlobalViews` global views (frames over the whole clip, random
 * offsets per segment, random resized crop with `globalScale`, output `globalSize`) followed by `numLocalViews`
 * local views (a random span of `localSpanFraction` of the clip, `localScale`, `localSize`). Deterministic for a
 * given `rng` state.
 */
export function planTrainViews(geometry: FrameGeometry, config: SvtViewConfig, rng: SeededRandom): ViewPlan[] {
  checkGeometry(geometry);
  validateSvtViewConfig(config);
  const { width, height, numFrames: N } = geometry;
  const plans: ViewPlan[] = [];
  for (let v = 0; v < config.numGlobalViews; v++) {
    const T = config.numGlobalFrames;
    const offsets = Array.from({ length: T }, () => rng.uniform());
    const frameIndices = sampleFrameIndices({ numFramesTotal: N, numFrames: T, offset: offsets });
    const crop = randomResizedCropBox(width, height, { scale: config.globalScale, ratio: config.ratio }, rng);
    const augmentation = drawAugmentation(
      config,
      cycled(config.globalBlurProbability, v, 0),
      cycled(config.globalSolarizeProbability, v, 0),
      rng,
    );
    plans.push({
      kind: 'global',
      frameIndices,
      crop,
      sourceWidth: width,
      sourceHeight: height,
      size: config.globalSize,
      augmentation,
      normalize: config.normalize,
    });
  }
  const spanLength = Math.max(1, Math.min(N, Math.round(N * config.localSpanFraction)));
  for (let v = 0; v < config.numLocalViews; v++) {
    const T = config.numLocalFrames;
    const spanStart = rng.int(N - spanLength + 1);
    const offsets = Array.from({ length: T }, () => rng.uniform());
    const frameIndices = sampleFrameIndices({ numFramesTotal: N, numFrames: T, spanStart, spanLength, offset: offsets });
    const crop = randomResizedCropBox(width, height, { scale: config.localScale, ratio: config.ratio }, rng);
    const augmentation = drawAugmentation(config, config.localBlurProbability, config.localSolarizeProbability, rng);
    plans.push({
      kind: 'local',
      frameIndices,
      crop,
      sourceWidth: width,
      sourceHeight: height,
      size: config.localSize,
      augmentation,
      normalize: config.normalize,
    });
  }
  return plans;
}

/**
 * Plans the test views of one video, clip-major: view `c * numCrops + k` is temporal clip `c`
 * ({@link sampleTestClipIndices}) and spatial crop `k` ({@link spatialCrops}). No augmentation.
 */
export function planTestViews(geometry: FrameGeometry, config: TestViewConfig): ViewPlan[] {
  checkGeometry(geometry);
  for (const key of ['numClips', 'numCrops', 'numFrames', 'size'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) {
      throw new ConfigError(`TestViewConfig.${key} must be an integer >= 1; received ${config[key]}.`);
    }
  }
  const crops = spatialCrops(geometry.width, geometry.height, config.numCrops);
  const plans: ViewPlan[] = [];
  for (let c = 0; c < config.numClips; c++) {
    const frameIndices = sampleTestClipIndices(geometry.numFrames, config.numFrames, c, config.numClips);
    for (const crop of crops) {
      plans.push({
        kind: 'test',
        frameIndices,
        crop,
        sourceWidth: geometry.width,
        sourceHeight: geometry.height,
        size: config.size,
        augmentation: null,
        normalize: config.normalize,
      });
    }
  }
  return plans;
}

/** Sorted unique frame indices needed by a set of plans (what a decoder should extract once). */
export function framesNeeded(plans: readonly ViewPlan[]): number[] {
  const set = new Set<number>();
  for (const plan of plans) for (const i of plan.frameIndices) set.add(i);
  return [...set].sort((a, b) => a - b);
}

/** Applies a view's augmentations in place to `[T, S, S, 3]` data in [0, 1]. */
export function applyAugmentationInPlace(data: Float32Array, shape: readonly number[], augmentation: ViewAugmentation): Float32Array {
  const jitter = augmentation.colorJitter;
  if (jitter) {
    for (const op of jitter.order) {
      if (op === 0) adjustBrightnessInPlace(data, jitter.brightness);
      else if (op === 1) adjustContrastInPlace(data, shape, jitter.contrast);
      else if (op === 2) adjustSaturationInPlace(data, jitter.saturation);
      else if (jitter.hue !== 0) adjustHueInPlace(data, jitter.hue);
    }
  }
  if (augmentation.grayscale) grayscaleInPlace(data);
  if (augmentation.blurSigma > 0) gaussianBlurInPlace(data, shape, augmentation.blurSigma);
  if (augmentation.solarize) solarizeInPlace(data, 0.5);
  return data;
}

/**
 * Renders one view from decoded frames.
 *
 * Input: `frames` `[N, H', W', 3]` uint8 holding the video frames listed in `decodedIndices` (sorted, unique),
 * possibly at a resolution other than the plan's source size (the crop box is rescaled).
 * Output shape: `[T, size, size, 3]` float32, CLIP-normalised when `plan.normalize`.
 */
export function renderView(frames: RgbFrames, decodedIndices: readonly number[], plan: ViewPlan): HostVideo {
  const [, H, W] = frames.shape;
  const slotOf = new Map<number, number>();
  decodedIndices.forEach((frameIndex, slot) => slotOf.set(frameIndex, slot));
  const slots = plan.frameIndices.map((i) => {
    const slot = slotOf.get(i);
    if (slot === undefined) {
      throw new ConfigError(
        `renderView: frame ${i} is not among the decoded frames [${decodedIndices.join(', ')}]. Decode framesNeeded(plans).`,
      );
    }
    return slot;
  });
  const kx = W / plan.sourceWidth;
  const ky = H / plan.sourceHeight;
  const box: CropBox = { x: plan.crop.x * kx, y: plan.crop.y * ky, width: plan.crop.width * kx, height: plan.crop.height * ky };
  const flip = plan.augmentation?.flip ?? false;
  const data = cropResizeFrames(frames, slots, box, plan.size, plan.size, flip);
  const shape = [slots.length, plan.size, plan.size, 3]; // [T, S, S, 3]
  if (plan.augmentation) applyAugmentationInPlace(data, shape, plan.augmentation);
  if (plan.normalize) normalizeInPlace(data, CLIP_IMAGE_MEAN, CLIP_IMAGE_STD);
  return { data, shape };
}
