/**
 * `@lss/data/node`: everything that needs Node: ffmpeg decoding, dataset readers, the parallel loader, the
 * dataset check and the synthetic dataset generator.
 *
 * @example
 * import { generateSyntheticDataset, readUcf101, VideoLoader } from '@lss/data/node';
 * import { SVT_VIEW_CONFIG } from '@lss/data';
 * const synth = await generateSyntheticDataset({ dir: '/tmp/synth', numClasses: 4, videosPerClass: 6 });
 * const dataset = readUcf101({ videosDir: synth.videosDir, annotationsDir: synth.annotationsDir, split: 1, subset: 'train' });
 * const loader = new VideoLoader({ dataset, batchSize: 2, views: { mode: 'train', config: SVT_VIEW_CONFIG } });
 * for await (const batch of loader.epoch(0)) console.log(batch.views[0]?.shape); // [2, 8, 224, 224, 3]
 * await loader.close();
 */

export {
  ACTION_WORLD_VERSION,
  type ActionWorld,
  type ActionWorldManifest,
  type ActionWorldOptions,
  generateActionWorld,
  isTestGroup,
  readActionWorldManifest,
  readWorldStills,
  renderWorldStills,
  type WorldStill,
  type WorldStills,
  type WorldVideo,
} from './action-world-dataset.js';
export {
  ANNOTATION_EXTENSIONS,
  type CheckOptions,
  checkDataset,
  checkVideoFile,
  type DatasetCheck,
  isAnnotationFile,
  type VideoCheck,
} from './check.js';
export {
  type CachedFramesOptions,
  DecodedFramesCache,
  type FrameDecoder,
  type LoadedViews,
  type LoadViewsOptions,
  loadVideoViews,
  planViews,
  segmentFrames,
  type ViewRequest,
} from './clip-views.js';
export { checkBatchClips, DEFAULT_BATCH_CLIPS, DecodeBatcher, type DecodeBatcherOptions } from './decode-batcher.js';
export {
  AV_NOPTS_VALUE,
  type ClipRequest,
  type DecodedFrames,
  type DecodeOptions,
  decodeClips,
  decodedSize,
  decodeFrames,
  describeFfmpeg,
  ENCODE_CODECS,
  type EncodeCodec,
  type EncodeOptions,
  encoderArgs,
  encodeVideo,
  type FfmpegBinary,
  type FfmpegOptions,
  type FfmpegSource,
  type FramecrcPackets,
  type FrameScan,
  ffmpegVersion,
  installerFfmpegPath,
  listEncoders,
  type ProbeOptions,
  parseEncodeCodec,
  parseFfmpegBanner,
  parseFramecrc,
  parseTimestamp,
  probeVideo,
  resolveFfmpeg,
  rgbFilters,
  scanVideoFrames,
  stripLogContext,
} from './ffmpeg.js';
export {
  clipViewSeed,
  type DamagedVideo,
  describeDamage,
  type EpochReport,
  formatEpochReport,
  type LoaderStats,
  type LoaderViews,
  type SkippedVideo,
  VideoLoader,
  type VideoLoaderOptions,
} from './loader.js';
export { type PoolJob, type ViewOutcome, ViewWorkerPool } from './pool.js';
export {
  type FolderPerClassOptions,
  type Hmdb51Options,
  type KineticsOptions,
  type ListFileOptions,
  listVideoEntries,
  listVideoFiles,
  nonFileReason,
  readFolderPerClass,
  readHmdb51,
  readKinetics400,
  readListFile,
  readUcf101,
  type SplitNumber,
  type Subset,
  sniffVideoContainer,
  type Ucf101Options,
  VIDEO_EXTENSIONS,
} from './readers.js';
export { containerFor, generateSyntheticDataset, type SyntheticDataset, type SyntheticDatasetOptions } from './synthetic-dataset.js';
