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
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalizeInPlace,
  solarizeInPlace,
} from './augment.js';
import {
  type CropBox,
  randomResizedCropBox,
  resizedShortSide,
  SVT_TEST_SAMPLING,
  sampleFrameIndices,
  sampleSvtTestIndices,
  sampleTestClipIndices,
  testCropBoxes,
} from './sampling.js';
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

/** Per-channel normalisation of rendered views: CLIP's mean/std (default) or ImageNet's (ViFi-CLIP, X-CLIP). */
export type Normalization = 'clip' | 'imagenet';

/** Temporal sampler of test views: `uniform` clips over the whole video (default), or SVT's single test clip. */
export type TestSampler = 'uniform' | 'svt';

/** How the decoder resizes frames: bicubic (CLIP's `_transform`, default) or bilinear. */
export type Interpolation = 'bicubic' | 'bilinear';

/**
 * Test-time views: `numClips` temporal clips x `numCrops` spatial crops (SPEC section 5). The defaults are CLIP's
 * `_transform`: resize the short side to `size` (bicubic, long side as torchvision computes it), centre crop `size`,
 * CLIP mean/std. The optional fields select the peer protocols (see {@link PEER_TEST_PROTOCOL}).
 */
export interface TestViewConfig {
  readonly numClips: number;
  readonly numCrops: number;
  readonly numFrames: number;
  /** Side of each (square) crop in pixels. */
  readonly size: number;
  readonly normalize: boolean;
  /**
   * Crop side as a fraction of the resized short side: the short side is resized to `floor(size / cropFraction)`.
   * 1 (default) is CLIP's; 0.875 is resize 256 then crop 224 (ViFi-CLIP, X-CLIP, ActionCLIP, SVT single view).
   */
  readonly cropFraction?: number;
  /** Mean/std applied when `normalize`; default `'clip'`. */
  readonly normalization?: Normalization;
  /** Default `'uniform'`; `'svt'` is SVT's test clip (needs `numClips = 1` and the video's fps). */
  readonly sampler?: TestSampler;
  /** Resize filter; default `'bicubic'`. */
  readonly interpolation?: Interpolation;
}

/** The peer protocol of ViFi-CLIP / X-CLIP checkpoints: resize 256, centre crop 224 (0.875), ImageNet mean/std. */
export const PEER_TEST_PROTOCOL = { cropFraction: 0.875, normalization: 'imagenet' } as const satisfies Partial<TestViewConfig>;

/** Everything a report must record about how test views were made (see {@link describeTestProtocol}). */
export interface TestProtocol {
  readonly sampler: TestSampler;
  readonly numClips: number;
  readonly numCrops: number;
  readonly numFrames: number;
  /** Short side after the resize, pixels. */
  readonly resizeShortSide: number;
  readonly cropSize: number;
  readonly cropFraction: number;
  readonly interpolation: Interpolation;
  readonly normalization: Normalization | 'none';
}

/** The protocol of a {@link TestViewConfig}, defaults filled in. */
export function testProtocol(config: TestViewConfig): TestProtocol {
  const cropFraction = config.cropFraction ?? 1;
  return {
    sampler: config.sampler ?? 'uniform',
    numClips: config.numClips,
    numCrops: config.numCrops,
    numFrames: config.numFrames,
    resizeShortSide: testResizeShortSide(config),
    cropSize: config.size,
    cropFraction,
    interpolation: config.interpolation ?? 'bicubic',
    normalization: config.normalize ? (config.normalization ?? 'clip') : 'none',
  };
}

/** One line for reports: `uniform sampler, 1 clip x 1 crop of 8 frames, short side 224 (bicubic), crop 224 (fraction 1), CLIP mean/std`. */
export function describeTestProtocol(config: TestViewConfig): string {
  const p = testProtocol(config);
  const norm = p.normalization === 'none' ? 'no normalisation' : `${p.normalization === 'clip' ? 'CLIP' : 'ImageNet'} mean/std`;
  const sampler =
    p.sampler === 'svt'
      ? `SVT sampler (${SVT_TEST_SAMPLING.stride} apart at ${SVT_TEST_SAMPLING.targetFps} fps from the start)`
      : 'uniform sampler';
  return `${sampler}, ${p.numClips} clip(s) x ${p.numCrops} crop(s) of ${p.numFrames} frames, short side ${p.resizeShortSide} (${p.interpolation}), crop ${p.cropSize} (fraction ${p.cropFraction}), ${norm}`;
}

/** Short side the frames are resized to before cropping: `floor(size / cropFraction)` (timm / torchvision eval rule). */
export function testResizeShortSide(config: Pick<TestViewConfig, 'size' | 'cropFraction'>): number {
  const f = config.cropFraction ?? 1;
  if (!(f > 0 && f <= 1))
    throw new ConfigError(`TestViewConfig.cropFraction must be in (0, 1]; received ${f}. CLIP uses 1, ViFi-CLIP 0.875.`);
  return Math.floor(config.size / f + 1e-9);
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
  /** Mean/std when `normalize`; default `'clip'`. */
  readonly normalization?: Normalization;
  /** Resize filter for the decoder (test plans); default `'bicubic'`. */
  readonly interpolation?: Interpolation;
}

/** The frame size and count a plan needs (a subset of `VideoInfo`). */
export interface FrameGeometry {
  readonly width: number;
  readonly height: number;
  readonly numFrames: number;
  /** Frames per second; needed by the SVT test sampler only. */
  readonly fps?: number;
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
 * Checks a {@link TestViewConfig} (counts and size integers >= 1, a known sampler and normalisation, SVT's one clip);
 * throws `ConfigError` naming the field. Returns the config.
 */
export function validateTestViewConfig(config: TestViewConfig): TestViewConfig {
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError(
      `TestViewConfig must be an object { numClips, numCrops, numFrames, size, normalize }; received ${String(config)}.`,
    );
  }
  for (const key of ['numClips', 'numCrops', 'numFrames', 'size'] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) {
      throw new ConfigError(`TestViewConfig.${key} must be an integer >= 1; received ${config[key]}.`);
    }
  }
  const sampler = config.sampler ?? 'uniform';
  if (sampler !== 'uniform' && sampler !== 'svt')
    throw new ConfigError(`TestViewConfig.sampler must be 'uniform' or 'svt'; received ${String(sampler)}.`);
  if (sampler === 'svt' && config.numClips !== 1) {
    throw new ConfigError(
      `TestViewConfig: the SVT sampler takes one clip from the start; received numClips ${config.numClips}. Use numClips 1.`,
    );
  }
  const normalization = config.normalization ?? 'clip';
  if (normalization !== 'clip' && normalization !== 'imagenet') {
    throw new ConfigError(`TestViewConfig.normalization must be 'clip' or 'imagenet'; received ${String(normalization)}.`);
  }
  return config;
}

/**
 * Plans the test views of one video, clip-major: view `c * numCrops + k` is temporal clip `c`
 * ({@link sampleTestClipIndices}, or SVT's clip) and spatial crop `k` ({@link testCropBoxes}). No augmentation.
 * Test plans are in resized pixels: `sourceWidth x sourceHeight` is the frame after torchvision's `Resize` of the
 * short side to {@link testResizeShortSide}, and the crop boxes are integer, so a decoder that resizes to that size
 * lets `renderView` copy the crop without a second resample.
 */
export function planTestViews(geometry: FrameGeometry, config: TestViewConfig): ViewPlan[] {
  checkGeometry(geometry);
  validateTestViewConfig(config);
  const sampler = config.sampler ?? 'uniform';
  const normalization = config.normalization ?? 'clip';
  const resized = resizedShortSide(geometry.width, geometry.height, testResizeShortSide(config));
  const crops = testCropBoxes(resized.width, resized.height, config.size, config.numCrops);
  const plans: ViewPlan[] = [];
  for (let c = 0; c < config.numClips; c++) {
    const frameIndices =
      sampler === 'svt'
        ? sampleSvtTestIndices(geometry.numFrames, geometry.fps ?? Number.NaN, { ...SVT_TEST_SAMPLING, numFrames: config.numFrames })
        : sampleTestClipIndices(geometry.numFrames, config.numFrames, c, config.numClips);
    for (const crop of crops) {
      plans.push({
        kind: 'test',
        frameIndices,
        crop,
        sourceWidth: resized.width,
        sourceHeight: resized.height,
        size: config.size,
        augmentation: null,
        normalize: config.normalize,
        normalization,
        interpolation: config.interpolation ?? 'bicubic',
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
  // Snap to integers when rescaling left them within rounding error of one: the crop is then an exact copy.
  const snap = (v: number) => (Math.abs(v - Math.round(v)) < 1e-6 ? Math.round(v) : v);
  const box: CropBox = {
    x: snap(plan.crop.x * kx),
    y: snap(plan.crop.y * ky),
    width: snap(plan.crop.width * kx),
    height: snap(plan.crop.height * ky),
  };
  const flip = plan.augmentation?.flip ?? false;
  const data = cropResizeFrames(frames, slots, box, plan.size, plan.size, flip);
  const shape = [slots.length, plan.size, plan.size, 3]; // [T, S, S, 3]
  if (plan.augmentation) applyAugmentationInPlace(data, shape, plan.augmentation);
  if (plan.normalize) {
    if (plan.normalization === 'imagenet') normalizeInPlace(data, IMAGENET_MEAN, IMAGENET_STD);
    else normalizeInPlace(data, CLIP_IMAGE_MEAN, CLIP_IMAGE_STD);
  }
  return { data, shape };
}
