/**
 * `@lss/backbone`: CLIP towers in tfjs (channels-last) with TimeSformer's divided space-time attention,
 * loading Hugging Face / OpenAI CLIP checkpoints. See README.md.
 *
 * @example
 * import { initBackend } from '@lss/core';
 * import { loadClip } from '@lss/backbone';
 * await initBackend('wasm');
 * const clip = await loadClip('path/to/clip-vit-base-patch16');
 * const video = clip.encodeVideos(frames); // frames [N, T, H, W, 3], CLIP-normalised -> [N, 512]
 */
export { type BlockDropPath, checkpointed, clipBlock, dividedSpaceTimeBlock, recomputeInBackward, temporalResidual } from './block.js';
export {
  type ArchitectureHints,
  ClipModel,
  type ClipOrigin,
  clipFromSource,
  hintsFromHfConfig,
  hintsFromOpenClipConfig,
  type LoadClipOptions,
  loadClip,
  loadClipFromBytes,
  weightSourceFromFile,
  weightSourceFromIndex,
} from './clip.js';
export {
  ACTIVATIONS,
  type Activation,
  CLIP_PRESET_NAMES,
  CLIP_PRESETS,
  type ClipConfig,
  type ClipPresetName,
  clipPreset,
  type TextConfig,
  type VisionConfig,
  validateClipConfig,
  validateTextConfig,
  validateVisionConfig,
  visionPreset,
} from './config.js';
export { type DropPathBranch, type DropPathOptions, dropPathRates, dropPathScales, validateDropPath } from './drop-path.js';
export type {
  AttentionWeights,
  BlockOptions,
  BlockWeights,
  LinearWeights,
  MlpWeights,
  NormWeights,
  TemporalWeights,
} from './layers.js';
export { activate, attend, layerNorm, linear, selfAttention } from './layers.js';
export { CLIP_MEAN, CLIP_STD, normalizeClipPixels } from './pixels.js';
export { Scope, type ScopeOptions } from './scope.js';
export { copyWeights, createStudentTeacher, emaUpdate, type StudentTeacher } from './student-teacher.js';
export { TextTower, type TextWeights } from './text.js';
export {
  createVideoVit,
  isTemporalPath,
  type VisionCallOptions,
  type VisionOutput,
  VisionTower,
  type VisionWeights,
} from './vision.js';
export {
  type ExportOptions,
  exportVideoVitWeights,
  type LoadVideoVitOptions,
  loadVideoVit,
  saveVideoVit,
  VIDEO_VIT_FORMAT,
  videoVitFromBytes,
  videoVitFromSource,
  videoVitToBytes,
} from './weights/checkpoint-io.js';
export {
  detectClipNaming,
  type ImportedWeights,
  type ImportRequest,
  importClipWeights,
  inferTextConfig,
  inferVisionConfig,
} from './weights/clip-import.js';
export { type ClipNaming, textSpecs, visionSpecs, type WeightSpec } from './weights/names.js';
export { type WeightSource, weightSourceFromBytes } from './weights/source.js';
export const VERSION = '0.1.0';
