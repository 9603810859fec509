/**
 * `@lss/trainer`: the LSS training run as a library (the `lss-train` CLI is `src/main.ts`).
 *
 * @example
 * import { initBackend } from '@lss/core';
 * import { loadConfig, runTraining } from '@lss/trainer';
 * const config = loadConfig('lss-tiny-synthetic', { overrides: ['training.maxSteps=8'] });
 * await initBackend(config.backend);
 * const result = await runTraining(config); // or runTraining(config, { objectives: [myObjective] })
 */
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  type CheckpointMeta,
  findLatestCheckpoint,
  type LoadedCheckpoint,
  listCheckpoints,
  pruneCheckpoints,
  readCheckpoint,
  restoreVariables,
  saveCheckpoint,
} from './checkpoint.js';
export { main, USAGE } from './cli.js';
export { buildRunConcepts, conceptTensors, disposeConceptTensors, type RunConcepts, tfjsTextEncoder } from './concepts.js';
export {
  applyOverride,
  CONFIGS_DIR,
  configFromData,
  deepMerge,
  type LoadConfigOptions,
  listShippedConfigs,
  loadConfig,
  readConfigFile,
  resolveConfigPath,
  validateConfig,
} from './config/load.js';
export {
  type DataConfig,
  type ModuleObjectiveConfig,
  OBJECTIVE_NAMES,
  type ObjectiveConfig,
  type TrainConfig,
  type TrainConfigInput,
  trainConfigSchema,
} from './config/schema.js';
export {
  type BadVideo,
  type ClipSlot,
  type ClipSource,
  type ClipViews,
  type DamagedVideo,
  defaultInputWorkers,
  FileClipSource,
  type InputState,
  MemoryClipSource,
  openClipSource,
  type RankShard,
  type StepInput,
  StepPlanner,
  svtViewConfig,
  TrainInput,
  type TrainInputOptions,
} from './data.js';
export { copyStudentToTeacher, pairByPath, updateTeacher } from './ema.js';
export {
  describeMemoryPlan,
  JOINT_PLAN,
  LOW_MEMORY_PLAN,
  type MemoryPlan,
  type MemoryPlanChoice,
  memoryPlanFor,
} from './memory-plan.js';
export { type MetricsRecord, MetricsWriter, readMetrics } from './metrics.js';
export { buildTowers, type Towers, towerFromVision } from './model.js';
export { AdamW, type AdamWConfig, type AdamWState, type AdamWStepOptions, OPTIMIZER_ROOT } from './optim/adamw.js';
export {
  CLIP_MODES,
  type ClipMode,
  clipByGlobalNorm,
  clipScale,
  clipScales,
  type GradientClipping,
  globalNorm,
  gradientNorms,
} from './optim/clip.js';
export { renderTrainingPlot } from './plot.js';
export { formatDuration, type ProgressMode, ProgressReporter } from './progress.js';
export {
  buildObjectives,
  gitCommit,
  type ObjectiveContext,
  type ObjectiveModuleFactory,
  type RunOptions,
  type RunResult,
  runTraining,
} from './run.js';
export { acquireRunLock, RUN_LOCK_FILE, type RunLock, type RunLockHolder } from './run-lock.js';
export {
  buildSchedules,
  type CosineScheduleOptions,
  cosineSchedule,
  type ScheduleConfig,
  type Schedules,
  scaledLearningRate,
} from './schedules.js';
export {
  type ConceptTensors,
  type DataParallel,
  type HostBatch,
  optimizedVariables,
  relativeVariables,
  type StepResult,
  type TrainState,
  trainStep,
  type VideoTower,
} from './train-step.js';
