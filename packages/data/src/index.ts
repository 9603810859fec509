/**
 * `@lss/data`: video datasets, spatio-temporal views and augmentations as pure, browser-safe functions on host
 * arrays. Decoding (ffmpeg subprocess), dataset readers, the parallel loader and the synthetic dataset generator
 * are in `@lss/data/node`.
 *
 * @example
 * import { planTrainViews, renderView, SVT_VIEW_CONFIG, sampleFrameIndices } from '@lss/data';
 * import { SeededRandom } from '@lss/core';
 * const plans = planTrainViews({ width: 320, height: 240, numFrames: 250 }, SVT_VIEW_CONFIG, new SeededRandom(0));
 */

export {
  type ActionVideoOptions,
  actionPose,
  captionFor,
  renderActionVideo,
  renderStill,
  STILL_CAPTION_TEMPLATES,
  type StillOptions,
  WORLD_ACTIONS,
  WORLD_VIDEO_PROMPTS,
  type WorldAction,
  worldVocabulary,
} from './action-world.js';
export {
  adjustBrightnessInPlace,
  adjustContrastInPlace,
  adjustHueInPlace,
  adjustSaturationInPlace,
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_STD,
  cropResizeFrames,
  gaussianBlurInPlace,
  gaussianKernel1d,
  grayscaleInPlace,
  IMAGENET_MEAN,
  IMAGENET_STD,
  normalizeClip,
  normalizeInPlace,
  solarizeInPlace,
} from './augment.js';
export { collateBatch, stackViews, type VideoBatch } from './batch.js';
export {
  type AnnotationEntry,
  HMDB_SPLIT_FILE,
  type KineticsRow,
  kineticsFileStem,
  parseClassInd,
  parseClassNamesCsv,
  parseHmdbSplitFile,
  parseKineticsCsv,
  parseListFile,
  parseUcfSplitList,
  splitCsvLine,
} from './parse.js';
export {
  type CropBox,
  type FrameSamplingOptions,
  type RandomResizedCropOptions,
  randomResizedCropBox,
  resizedShortSide,
  roundHalfEven,
  SVT_TEST_SAMPLING,
  type SvtTestSampling,
  sampleFrameIndices,
  sampleSvtTestIndices,
  sampleTestClipIndices,
  spatialCrops,
  testCropBoxes,
  type UniformSource,
} from './sampling.js';
export { renderSyntheticVideo, SYNTHETIC_MOTIONS, type SyntheticMotion, type SyntheticVideoOptions } from './synthetic.js';
export {
  formatMissingSummary,
  formatSkippedSummary,
  type HostVideo,
  type MissingVideo,
  type RgbFrames,
  type SkippedFile,
  type VideoDataset,
  type VideoInfo,
  type VideoSample,
} from './types.js';
export {
  applyAugmentationInPlace,
  type ColorJitterParams,
  describeTestProtocol,
  type FrameGeometry,
  framesNeeded,
  type Interpolation,
  type Normalization,
  PEER_TEST_PROTOCOL,
  planTestViews,
  planTrainViews,
  renderView,
  SVT_VIEW_CONFIG,
  type SvtViewConfig,
  TEST_VIEW_CONFIG_1X1,
  TEST_VIEW_CONFIG_4X3,
  type TestProtocol,
  type TestSampler,
  type TestViewConfig,
  testProtocol,
  testResizeShortSide,
  type ViewAugmentation,
  type ViewPlan,
  validateSvtViewConfig,
  validateTestViewConfig,
} from './views.js';
