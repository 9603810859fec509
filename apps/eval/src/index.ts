/**
 * `@lss/eval`: the evaluation protocols of SPEC.md section 5 as a library (the `lss-eval` CLI is a thin
 * layer over it; apps/trainer calls it for its before/after numbers).
 *
 * @example
 * import { evaluateZeroShot, evaluateLinearProbe } from '@lss/eval';
 * const dataset = { kind: 'ucf101', videosDir, annotationsDir } as const;
 * const before = await evaluateZeroShot({ model: 'fixtures/clip-tiny', dataset, cacheDir: '.lss-cache/features' });
 * const after = await evaluateZeroShot({ model: 'runs/tiny/checkpoints', dataset, textModel: 'fixtures/clip-tiny' });
 * console.log(before.summary.top1, after.summary.top1); // mean ± sample std over the splits, in %
 */
export { type PredictionAgreement, predictionAgreement, type SplitAgreement } from './agreement.js';
export { runCli, USAGE } from './cli.js';
export { type DatasetSpec, type EvalSplit, type ResolvedDataset, resolveDataset } from './datasets.js';
export {
  type Classification,
  type ClassifyOptions,
  classifyVideo,
  classPromptNames,
  type EvaluateCommonOptions,
  evaluateKnn,
  evaluateLinearProbe,
  evaluateZeroShot,
  ffmpegViewLoader,
  type KnnEvalOptions,
  type LinearProbeEvalOptions,
  resolvePromptSet,
  type ZeroShotOptions,
} from './evaluate.js';
export { type ExportedFeaturesMeta, exportFeatures } from './export.js';
export {
  DEFAULT_MAX_BAD_FRACTION,
  type ExtractedFeatures,
  type ExtractFeaturesOptions,
  extractFeatures,
  FEATURE_CACHE_VERSION,
  type FeatureModel,
  type FeatureSample,
  featureCacheKey,
  type HostViews,
  type SkippedFeatureVideo,
  tooManyBadVideos,
  type ViewLoader,
  type ViewSettings,
} from './feature-cache.js';
export type { FeatureSet } from './features-math.js';
export { KNN_DEFAULTS, type KnnOptions, knnAccuracy, knnScores, knnTop5Positions } from './knn.js';
export { type LbfgsOptions, type LbfgsResult, minimizeLbfgs } from './lbfgs.js';
export {
  DEFAULT_C_GRID,
  type FitLogisticOptions,
  fitLogisticRegression,
  type LinearModel,
  type LinearProbeOptions,
  type LinearProbeResult,
  linearScores,
  runLinearProbe,
  stratifiedHoldout,
} from './linear-probe.js';
export {
  argmaxRows,
  computeSplitMetrics,
  confusionMatrix,
  formatMeanStd,
  type MeanStd,
  meanStd,
  type ScoreMatrix,
  type SplitMetrics,
  STD_DEFINITION,
  topKAccuracy,
} from './metrics.js';
export {
  type EvalModel,
  findTrainerCheckpoint,
  hashFileSha256,
  type LoadEvalModelOptions,
  loadEvalModel,
  loadTextEncoder,
  type TextEngine,
} from './model.js';
export { encodeNpy, readNpy, writeNpy } from './npy.js';
export {
  compareReports,
  confusionToSvg,
  type EvalReport,
  makeReport,
  type PromptSet,
  type Protocol,
  type ReportModel,
  readReport,
  reportToMarkdown,
  type SkippedVideoEntry,
  type SplitResult,
  writeReport,
} from './report.js';
export { runSgdProbe, SGD_PROBE_DEFAULTS, type SgdProbeOptions, type SgdProbeResult } from './sgd-probe.js';
export { createTfjsTextEncoder, type TfjsTextEncoderOptions } from './text-encoder.js';
export {
  averageNormalizedViews,
  TRANSDUCTIVE_DEFAULTS,
  type TransductiveOptions,
  type TransductiveResult,
  transductiveZeroShot,
  type ViewFeatures,
  zeroShotScores,
} from './zero-shot.js';
