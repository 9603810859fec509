/**
 * Temporal and spatial sampling of views (SPEC section 4, SVT's global and local views; section 5, test-time
 * clips x crops).
 *
 * Temporal sampling is segment-based (TSN, Wang et al. 2016; mmaction2 `SampleFrames` test mode with
 * `multiview`): a span of `length` frames is cut into `numFrames` equal segments and one frame is taken from each,
 * at a fractional `offset` inside its segment. Training draws the offsets at random; test clip `k` of `K` uses
 * offset `(k + 0.5) / K` in every segment, so the K clips interleave and together cover the video evenly.
 */
import { ConfigError } from '@lss/core';

/** Inputs of {@link sampleFrameIndices}. */
export interface FrameSamplingOptions {
  /** Frames in the video (must be >= 1). */
  readonly numFramesTotal: number;
  /** Frames to sample (T). */
  readonly numFrames: number;
  /** First frame of the span; default 0. */
  readonly spanStart?: number;
  /** Frames in the span; default `numFramesTotal - spanStart`. */
  readonly spanLength?: number;
  /** Position inside each segment in [0, 1): one number for all segments or one per segment. Default 0.5 (centre). */
  readonly offset?: number | readonly number[];
}

/**
 * Frame indices of one view: `spanStart + floor(spanLength * (i + offset_i) / numFrames)` for i in [0, numFrames),
 * clamped to the span. When the span is shorter than `numFrames`, frames repeat (nearest-frame upsampling).
 *
 * @example
 * sampleFrameIndices({ numFramesTotal: 100, numFrames: 4 }); // [12, 37, 62, 87]
 */
export function sampleFrameIndices(options: FrameSamplingOptions): number[] {
  const { numFramesTotal, numFrames } = options;
  if (!Number.isInteger(numFramesTotal) || numFramesTotal < 1) {
    throw new ConfigError(`sampleFrameIndices: numFramesTotal must be an integer >= 1; received ${numFramesTotal}.`);
  }
  if (!Number.isInteger(numFrames) || numFrames < 1) {
    throw new ConfigError(`sampleFrameIndices: numFrames must be an integer >= 1; received ${numFrames}.`);
  }
  const spanStart = options.spanStart ?? 0;
  const spanLength = options.spanLength ?? numFramesTotal - spanStart;
  if (!Number.isInteger(spanStart) || spanStart < 0 || !Number.isInteger(spanLength) || spanLength < 1) {
    throw new ConfigError(
      `sampleFrameIndices: span must be integers with start >= 0 and length >= 1; received start ${spanStart}, length ${spanLength}.`,
    );
  }
  if (spanStart + spanLength > numFramesTotal) {
    throw new ConfigError(
      `sampleFrameIndices: span [${spanStart}, ${spanStart + spanLength}) exceeds the video's ${numFramesTotal} frames. ` +
        'Clamp the span to the video length.',
    );
  }
  const offsets = options.offset ?? 0.5;
  if (Array.isArray(offsets) && offsets.length !== numFrames) {
    throw new ConfigError(`sampleFrameIndices: offset array must have numFrames = ${numFrames} entries; received ${offsets.length}.`);
  }
  const out: number[] = [];
  for (let i = 0; i < numFrames; i++) {
    const o = typeof offsets === 'number' ? offsets : (offsets as readonly number[])[i]!;
    if (!(o >= 0 && o < 1)) throw new ConfigError(`sampleFrameIndices: offsets must lie in [0, 1); received ${o}.`);
    const k = Math.min(spanLength - 1, Math.floor((spanLength * (i + o)) / numFrames));
    out.push(spanStart + k);
  }
  return out;
}

/**
 * Frame indices of test clip `clipIndex` of `numClips` (uniform temporal clips over the whole video):
 * segment offset `(clipIndex + 0.5) / numClips`. With one clip this is the centre frame of each segment.
 */
export function sampleTestClipIndices(numFramesTotal: number, numFrames: number, clipIndex: number, numClips: number): number[] {
  if (!Number.isInteger(numClips) || numClips < 1 || !Number.isInteger(clipIndex) || clipIndex < 0 || clipIndex >= numClips) {
    throw new ConfigError(
      `sampleTestClipIndices: need 0 <= clipIndex < numClips (integers); received clipIndex ${clipIndex}, numClips ${numClips}.`,
    );
  }
  return sampleFrameIndices({ numFramesTotal, numFrames, offset: (clipIndex + 0.5) / numClips });
}

/** A crop box in source-frame pixels (may be fractional). */
export interface CropBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/**
 * The test-time spatial crops of a `width x height` frame: the frame is conceptually resized so its short side is
 * `size`, and `numCrops` square crops of `size` are taken along the long side. One crop = centre; three crops =
 * left, centre, right (landscape) or top, centre, bottom (portrait); two crops = the two ends.
 * Returned boxes are in source pixels (a square of side = the short side), so resizing the box to `size` is the
 * same as resizing the frame then cropping.
 */
export function spatialCrops(width: number, height: number, numCrops: number): CropBox[] {
  if (!Number.isInteger(numCrops) || numCrops < 1) {
    throw new ConfigError(`spatialCrops: numCrops must be an integer >= 1; received ${numCrops}.`);
  }
  if (!(width >= 1 && height >= 1)) throw new ConfigError(`spatialCrops: frame size must be >= 1; received ${width}x${height}.`);
  const side = Math.min(width, height);
  const slack = Math.max(width, height) - side;
  const landscape = width >= height;
  const boxes: CropBox[] = [];
  for (let k = 0; k < numCrops; k++) {
    // numCrops = 1 -> centre; otherwise evenly spaced from one end to the other.
    const along = numCrops === 1 ? slack / 2 : (slack * k) / (numCrops - 1);
    boxes.push(landscape ? { x: along, y: 0, width: side, height: side } : { x: 0, y: along, width: side, height: side });
  }
  return boxes;
}

/** Options of {@link randomResizedCropBox} (torchvision `RandomResizedCrop` semantics). */
export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the frame area. */
  readonly scale: readonly [number, number];
  /** Range of the crop's aspect ratio (width / height). */
  readonly ratio: readonly [number, number];
}

/** Something that yields uniform floats in [0, 1), such as `SeededRandom`. */
export interface UniformSource {
  uniform(): number;
}

/**
 * A random crop box with area fraction in `scale` and aspect ratio in `ratio` (log-uniform), drawn as in
 * torchvision's `RandomResizedCrop.get_params`: up to 10 tries, then a centre crop with the ratio clamped.
 */
export function randomResizedCropBox(width: number, height: number, options: RandomResizedCropOptions, rng: UniformSource): CropBox {
  const area = width * height;
  const [s0, s1] = options.scale;
  const logR0 = Math.log(options.ratio[0]);
  const logR1 = Math.log(options.ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (s0 + (s1 - s0) * rng.uniform());
    const aspect = Math.exp(logR0 + (logR1 - logR0) * rng.uniform());
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && h > 0 && w <= width && h <= height) {
      const x = Math.floor(rng.uniform() * (width - w + 1));
      const y = Math.floor(rng.uniform() * (height - h + 1));
      return { x, y, width: w, height: h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < options.ratio[0]) h = Math.round(w / options.ratio[0]);
  else if (inRatio > options.ratio[1]) w = Math.round(h * options.ratio[1]);
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), width: w, height: h };
}

/**
 * The size torchvision's `Resize(shortSide)` gives a `width x height` image: the short side becomes `shortSide`, the
 * long side `floor(shortSide * long / short)` (torchvision `_compute_resized_output_size`: `int(size * long / short)`),
 * e.g. 320x240 -> 298x224, not 299x224. CLIP's `_transform` resizes this way before its centre crop.
 */
export function resizedShortSide(width: number, height: number, shortSide: number): { width: number; height: number } {
  if (!(width >= 1 && height >= 1) || !Number.isInteger(shortSide) || shortSide < 1) {
    throw new ConfigError(
      `resizedShortSide: need a frame of at least 1x1 and an integer shortSide >= 1; received ${width}x${height}, ${shortSide}.`,
    );
  }
  const long = Math.floor((shortSide * Math.max(width, height)) / Math.min(width, height));
  return width <= height ? { width: shortSide, height: long } : { width: long, height: shortSide };
}

/** Python's `round()` (halves to even), which torchvision's `CenterCrop` uses for its offsets. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Square test crops of side `cropSize` at integer offsets in a frame already resized to `width x height`: one crop
 * is torchvision's `CenterCrop` (offsets `round((side - crop) / 2)`, halves to even); `numCrops > 1` spreads the
 * crops from one end of the long side to the other (3 = left/centre/right, the 3-crop test of SlowFast/ViFi-CLIP),
 * centred on the short side.
 */
export function testCropBoxes(width: number, height: number, cropSize: number, numCrops: number): CropBox[] {
  if (!Number.isInteger(numCrops) || numCrops < 1)
    throw new ConfigError(`testCropBoxes: numCrops must be an integer >= 1; received ${numCrops}.`);
  if (cropSize > Math.min(width, height)) {
    throw new ConfigError(`testCropBoxes: crop ${cropSize} is larger than the resized frame ${width}x${height}.`);
  }
  const landscape = width >= height;
  const longSlack = Math.max(width, height) - cropSize;
  const shortOffset = roundHalfEven((Math.min(width, height) - cropSize) / 2);
  const boxes: CropBox[] = [];
  for (let k = 0; k < numCrops; k++) {
    const along = numCrops === 1 ? roundHalfEven(longSlack / 2) : Math.round((longSlack * k) / (numCrops - 1));
    boxes.push(
      landscape
        ? { x: along, y: shortOffset, width: cropSize, height: cropSize }
        : { x: shortOffset, y: along, width: cropSize, height: cropSize },
    );
  }
  return boxes;
}

/** SVT's test clip: frames spaced `stride` apart at `targetFps`, from the start of the video (SVT linear probe / k-NN). */
export interface SvtTestSampling {
  readonly numFrames: number;
  /** Spacing in frames at `targetFps` (SVT: 32). */
  readonly stride: number;
  /** Frame rate the stride is counted at (SVT: 30). */
  readonly targetFps: number;
}

/** SVT's test sampler: 8 frames 32 apart at 30 fps. */
export const SVT_TEST_SAMPLING: SvtTestSampling = { numFrames: 8, stride: 32, targetFps: 30 };

/**
 * Frame indices of SVT's single test clip: frame k sits at time `k * stride / targetFps` seconds from the start, i.e.
 * index `floor(k * stride * fps / targetFps)`, clamped to the last frame (a short video repeats its last frame).
 */
export function sampleSvtTestIndices(numFramesTotal: number, fps: number, sampling: SvtTestSampling = SVT_TEST_SAMPLING): number[] {
  if (!Number.isInteger(numFramesTotal) || numFramesTotal < 1) {
    throw new ConfigError(`sampleSvtTestIndices: numFramesTotal must be an integer >= 1; received ${numFramesTotal}.`);
  }
  if (!(fps > 0)) throw new ConfigError(`sampleSvtTestIndices: the video's fps must be > 0; received ${fps}. Probe the video first.`);
  const out: number[] = [];
  for (let k = 0; k < sampling.numFrames; k++) {
    out.push(Math.min(numFramesTotal - 1, Math.floor((k * sampling.stride * fps) / sampling.targetFps + 1e-9)));
  }
  return out;
}
