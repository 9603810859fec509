/**
 * Inputs the `lss-eval` tests and benchmarks build again and again: the command-line arguments of a
 * UCF-101-layout dataset with its test views, and a checkpoint in apps/trainer's format.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic, writeSafetensorsFile } from '@lss/core/node';

/**
 * The small synthetic dataset of the lss-eval tests: `generateSyntheticDataset({ dir, ...TINY_SYNTHETIC_DATASET, seed })`
 * gives 3 classes x 3 videos of 64x48 px and 16 frames in the UCF-101 layout with three splits (seconds to write).
 */
export const TINY_SYNTHETIC_DATASET = { numClasses: 3, videosPerClass: 3, width: 64, height: 48, numFrames: 16 } as const;

/** A dataset in the UCF-101 layout, as `@lss/data`'s `generateSyntheticDataset` / `generateActionWorld` return it. */
export interface Ucf101Folders {
  readonly videosDir: string;
  readonly annotationsDir: string;
}

/** Options of {@link ucf101EvalArgs}. */
export interface Ucf101EvalArgsOptions {
  /** `--splits` (e.g. '1'); default: none (all three). */
  readonly splits?: string;
  /** `--views CxK`, default '1x1'. */
  readonly views?: string;
  /** `--frames`, default 4. */
  readonly frames?: number;
  /** `--size`; default 32 (clip-tiny's). `null` leaves it out (the model's size). */
  readonly size?: number | null;
}

/**
 * `lss-eval` arguments for `dataset` in the UCF-101 layout and its test views:
 * `--dataset ucf101 --videos V --annotations A [--splits S] --views 1x1 --frames 4 --size 32`.
 *
 * @example
 * await runCli(['knn', '--model', CLIP_TINY_DIR, ...ucf101EvalArgs(synth, { splits: '1' }), '--no-cache'], io);
 */
export function ucf101EvalArgs(dataset: Ucf101Folders, options: Ucf101EvalArgsOptions = {}): string[] {
  const size = options.size === undefined ? 32 : options.size;
  return [
    '--dataset',
    'ucf101',
    '--videos',
    dataset.videosDir,
    '--annotations',
    dataset.annotationsDir,
    ...(options.splits !== undefined ? ['--splits', options.splits] : []),
    '--views',
    options.views ?? '1x1',
    '--frames',
    String(options.frames ?? 4),
    ...(size !== null ? ['--size', String(size)] : []),
  ];
}

/** What {@link writeTrainerCheckpoint} reads of a `@lss/backbone` video tower (`ClipModel.vision`, a `VideoVit`). */
export interface VideoTowerLike {
  readonly scope: { readonly path: string };
  /** The tower config, stored as the sidecar's `backbone`. */
  readonly config: unknown;
  /** Variables by full path (`<scope.path>/...`). */
  variables(): Iterable<[string, { readonly shape: readonly number[]; dataSync(): ArrayLike<number> }]>;
}

/** Options of {@link writeTrainerCheckpoint}. */
export interface TrainerCheckpointOptions {
  /** The CLIP folder of the text encoder (`config.model.clip`). */
  readonly clip: string;
  /** Default 1. */
  readonly step?: number;
}

/**
 * Writes `tower` as a checkpoint in apps/trainer's format into the folder `at` (created):
 * `step-<8 digits>.safetensors` with the tower's weights under both `student/` and `teacher/`, and its `.json`
 * sidecar (`format: lss-trainer-checkpoint`, `backbone` = `tower.config`, `config.model.clip`). Returns `at`.
 */
export function writeTrainerCheckpoint(tower: VideoTowerLike, at: string, options: TrainerCheckpointOptions): string {
  const step = options.step ?? 1;
  const name = `step-${String(step).padStart(8, '0')}`;
  const prefix = `${tower.scope.path}/`;
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [path, v] of tower.variables()) {
    const data = Float32Array.from(v.dataSync());
    tensors.set(`student/${path.slice(prefix.length)}`, { shape: v.shape, data });
    tensors.set(`teacher/${path.slice(prefix.length)}`, { shape: v.shape, data });
  }
  mkdirSync(at, { recursive: true });
  writeSafetensorsFile(join(at, `${name}.safetensors`), tensors, { format: 'lss-trainer-checkpoint', step: String(step) });
  writeFileAtomic(
    join(at, `${name}.json`),
    JSON.stringify({
      format: 'lss-trainer-checkpoint',
      formatVersion: 1,
      step,
      backbone: tower.config,
      config: { model: { clip: options.clip }, concepts: { textModel: null } },
      tensorsFile: `${name}.safetensors`,
    }),
  );
  return at;
}
