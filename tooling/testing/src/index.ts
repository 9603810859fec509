export { allClose, expectNoLeaks, expectNoLeaksAsync, maxAbsDiff, TensorLeakError } from '@lss/core/testing';
export {
  TINY_SYNTHETIC_DATASET,
  type TrainerCheckpointOptions,
  type Ucf101EvalArgsOptions,
  type Ucf101Folders,
  ucf101EvalArgs,
  type VideoTowerLike,
  writeTrainerCheckpoint,
} from './eval-fixtures.js';
export { CLIP_TINY_DIR, FIXTURES_DIR, fixturePath, REPO_ROOT, SHARED_FIXTURES_DIR } from './fixtures.js';
export { mountSupport, mountTmpfs, type TmpfsMount } from './mounts.js';
export { freePort, type RankResult, resultOf, type SpawnRanksOptions, spawnRanks } from './ranks.js';
