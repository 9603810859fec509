/**
 * `pnpm demo --select`: chooses the demo's LSS hyper-parameters on a validation part of split 1's training
 * videos — never on a test split. Split 1's training groups are split once more by group: the highest-numbered
 * training group of each class is the validation part, the other training groups are what LSS trains on
 * (without labels). Each candidate is trained and its EMA teacher is scored by zero-shot top-1 on the validation
 * videos (k-NN and linear probe use the training part as their labelled memory). The grid, every result and
 * the choice are written to `<work dir>/selection.json` and printed; the choice is then copied by hand into
 * configs/lss-world.yaml (with the file's numbers in models/lss-world-selection.json).
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BackendName, ConfigError } from '@lss/core';
import { isTestGroup, readActionWorldManifest } from '@lss/data/node';
import type { DatasetSpec } from '@lss/eval';
import type { TrainConfig } from './config/schema.js';
import { evaluateModelAt, saveStepZeroTower, trainAndEvaluate, WORLD_CLIP_DIR, worldConfig } from './demo.js';

/** One candidate of the grid: a name and a change of the base config. */
export interface Candidate {
  readonly name: string;
  readonly apply: (c: TrainConfig) => TrainConfig;
}

/**
 * Sets the teacher temperature (constant after a one-epoch warm-up from 0.004) of concept distillation, whose
 * teacher distributions concept alignment uses too (SPEC section 3: one p_t).
 */
export function withTeacherTemperature(end: number): (c: TrainConfig) => TrainConfig {
  return (c) => ({
    ...c,
    objectives: c.objectives.map((o) =>
      o.name === 'concept-distillation'
        ? { ...o, teacherTemperature: { start: Math.min(0.004, end), end, warmupLength: 1, unit: 'epoch' as const } }
        : o,
    ),
  });
}

/**
 * Sets the peak learning rate at the run's global batch: `optimizer.baseLearningRate` becomes
 * `rate × referenceBatchSize / (training.batchSize × accumulationSteps)` (the SVT/DINO scaling rule of SPEC).
 */
export function withLearningRate(rate: number): (c: TrainConfig) => TrainConfig {
  return (c) => ({
    ...c,
    optimizer: {
      ...c.optimizer,
      baseLearningRate: (rate * c.optimizer.referenceBatchSize) / (c.training.batchSize * c.optimizer.accumulationSteps),
    },
  });
}

/**
 * The grid: the teacher's sharpness in the concept spaces (SPEC's 0.007 and two softer values: the tiny CLIP's
 * cosine similarities span a much narrower range than a real CLIP's, so the spec's temperature may be too sharp)
 * at lss-tiny-synthetic's learning rate (1e-3 at batch 8, set for a tower trained from scratch; the world config's
 * until this grid chose SPEC's), and that learning rate lowered towards SPEC's (5e-4 per 256 clips = 1.6e-5 at batch 8) at SPEC's
 * temperature: fine-tuning a pretrained CLIP at 64x the paper's rate may erase what it knows.
 */
export const SELECTION_GRID: readonly Candidate[] = [
  ...[0.007, 0.03, 0.1].map((t) => ({
    name: `teacherTemperature ${t}`,
    apply: (c: TrainConfig) => withLearningRate(1e-3)(withTeacherTemperature(t)(c)),
  })),
  ...[1e-4, 1.5625e-5].map((rate) => ({
    name: `learning rate ${rate} (teacherTemperature 0.007)`,
    apply: (c: TrainConfig) => withLearningRate(rate)(withTeacherTemperature(0.007)(c)),
  })),
];

/** Sets the number of epochs (the schedules' length; warm-up and cosine follow it). */
export function withEpochs(epochs: number): (c: TrainConfig) => TrainConfig {
  return (c) => ({ ...c, training: { ...c.training, epochs } });
}

/**
 * The schedule grid (`--select --grid schedule`): does LSS on the world improve with longer training? 12 epochs
 * (3x the config's) at 1e-4 and at SPEC's rate, and 4 epochs at 4e-5, all at SPEC's teacher temperature 0.007.
 * A diagnosis of the chosen config, not a choice: its result is written to `selection-schedule.json`.
 */
export const SCHEDULE_GRID: readonly Candidate[] = (
  [
    [1e-4, 12],
    [1.5625e-5, 12],
    [4e-5, 4],
  ] as const
).map(([rate, epochs]) => ({
  name: `learning rate ${rate} x ${epochs} epochs (teacherTemperature 0.007)`,
  apply: (c: TrainConfig) => withEpochs(epochs)(withLearningRate(rate)(withTeacherTemperature(0.007)(c))),
}));

/** The grids `--select --grid NAME` runs. */
export const SELECTION_GRIDS = { default: SELECTION_GRID, schedule: SCHEDULE_GRID } as const;
export type SelectionGridName = keyof typeof SELECTION_GRIDS;

/** The grid `--grid` names (`'default'` when absent). Throws `ConfigError` listing the grids for another name. */
export function selectionGridName(value: string | undefined): SelectionGridName {
  if (value === undefined) return 'default';
  if (Object.hasOwn(SELECTION_GRIDS, value)) return value as SelectionGridName;
  throw new ConfigError(`--grid must be one of ${Object.keys(SELECTION_GRIDS).join(', ')}; received ${JSON.stringify(value)}.`);
}

/** Writes `path label` lists (0-based labels) of split 1's training part and validation part. */
export function validationLists(worldDir: string, outDir: string): { train: string; val: string; numTrain: number; numVal: number } {
  const m = readActionWorldManifest(worldDir);
  const training = m.videos.filter((v) => !isTestGroup(v.group, 1));
  const lastGroup = Math.max(...training.map((v) => v.group));
  const val = training.filter((v) => v.group === lastGroup);
  const train = training.filter((v) => v.group !== lastGroup);
  mkdirSync(outDir, { recursive: true });
  const write = (name: string, items: typeof training) => {
    const file = join(outDir, name);
    writeFileSync(file, `${items.map((v) => `${v.relative} ${v.label}`).join('\n')}\n`);
    return file;
  };
  return { train: write('train-part.txt', train), val: write('validation.txt', val), numTrain: train.length, numVal: val.length };
}

export async function selectHyperParameters(options: {
  workDir: string;
  backend: BackendName;
  log: (line: string) => void;
  /** Which grid (default `'default'`); another grid writes `selection-<grid>.json`. */
  grid?: SelectionGridName;
}): Promise<void> {
  const { workDir, backend, log } = options;
  const gridName = options.grid ?? 'default';
  const grid = SELECTION_GRIDS[gridName];
  const worldDir = join(workDir, 'world');
  const selDir = join(workDir, 'select');
  const lists = validationLists(worldDir, selDir);
  const classNames = readActionWorldManifest(worldDir).actions.map((a) => a.id);
  const videosDir = join(worldDir, 'UCF-101');
  const dataset: DatasetSpec = { kind: 'list', testList: lists.val, trainList: lists.train, root: videosDir, classNames };
  const base = worldConfig(worldDir, join(selDir, 'run'), backend, [
    'data.kind=list',
    `data.root=${videosDir}`,
    `data.annotations=${lists.train}`,
  ]);
  log(
    `selection on split 1: LSS trains on ${lists.numTrain} training-part videos, scored on ${lists.numVal} validation videos (test splits unused)`,
  );
  const results: { name: string; zeroShot: number; linearProbe: number; knn: number }[] = [];
  // Reference: the step-0 tower on the validation part.
  const initialPath = join(selDir, 'video-tower-step0.safetensors');
  await saveStepZeroTower(base, initialPath);
  const r = await evaluateModelAt(initialPath, { textModel: WORLD_CLIP_DIR, label: 'step 0' }, dataset, join(selDir, 'features'), null);
  results.push({
    name: 'step 0 (no LSS training)',
    zeroShot: r['zero-shot'].summary.top1.mean,
    linearProbe: r['linear-probe'].summary.top1.mean,
    knn: r.knn.summary.top1.mean,
  });
  log(`  step 0: zero-shot ${results[0]?.zeroShot.toFixed(1)} %`);
  for (const candidate of grid) {
    const config = candidate.apply(base);
    const started = performance.now();
    const r = await trainAndEvaluate(config, dataset, join(selDir, 'features-run'));
    results.push({
      name: candidate.name,
      zeroShot: r['zero-shot'].summary.top1.mean,
      linearProbe: r['linear-probe'].summary.top1.mean,
      knn: r.knn.summary.top1.mean,
    });
    log(
      `  ${candidate.name}: zero-shot ${r['zero-shot'].summary.top1.mean.toFixed(1)} %, probe ${r['linear-probe'].summary.top1.mean.toFixed(1)} %, k-NN ${r.knn.summary.top1.mean.toFixed(1)} % (${((performance.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
  const trained = results.slice(1);
  const best = trained.reduce((a, b) => (b.zeroShot > a.zeroShot ? b : a));
  const out = {
    criterion: 'zero-shot top-1 on the validation part of split 1 training videos (highest training group per class)',
    numTrainPart: lists.numTrain,
    numValidation: lists.numVal,
    results,
    chosen: best.name,
    createdAt: new Date().toISOString(),
  };
  const name = gridName === 'default' ? 'selection.json' : `selection-${gridName}.json`;
  const file = join(workDir, name);
  writeFileSync(file, `${JSON.stringify({ grid: gridName, ...out }, null, 2)}\n`);
  copyFileSync(file, join(selDir, name));
  log(
    `${gridName === 'default' ? 'chosen' : `best of the ${gridName} grid (a diagnosis; the config is not changed by it)`}: ${best.name} (validation zero-shot ${best.zeroShot.toFixed(1)} %); wrote ${file}`,
  );
}
