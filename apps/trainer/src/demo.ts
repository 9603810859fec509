/**
 * `pnpm demo` (`bash tooling/scripts/run.sh demo`): LSS on the synthetic action world, measured with the
 * protocols used for UCF-101 / HMDB-51.
 *
 * 1. generates the world (`@lss/data/node` `generateActionWorld`, seed 0) under the work dir when absent:
 *    12 stick-figure actions, videos in the UCF-101 layout with three splits;
 * 2. evaluates the frozen image CLIP (models/clip-world-tiny, pretrained on the world's captioned stills only,
 *    frame average) and the CLIP-initialised LSS video tower at step 0: zero-shot, linear probe, k-NN on the
 *    three test splits;
 * 3. for each split, trains LSS (configs/lss-world.yaml) on that split's training videos without labels and
 *    evaluates the EMA teacher on that split's test videos;
 * 4. prints and writes (`table.md`, `results.json`, one report folder per row and protocol) the table with
 *    mean ± sample std over the splits, chance, and a one-line reading.
 *
 * Modes: `--select` chooses hyper-parameters on a validation part of split 1's training videos (never a test
 * split) and writes models/lss-world-selection.json (`--select --grid schedule`: longer schedules, a diagnosis); `--ablations` runs the objective and concept-space
 * ablations (3 seeds each) and writes ablations.md + ablations.svg.
 *
 * Environment: `LSS_DEMO_DIR` (default `runs/demo`), `LSS_BACKEND` (default {@link DEMO_DEFAULT_BACKEND}), `LSS_DEMO_CLIP` (another CLIP
 * folder instead of models/clip-world-tiny).
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { saveVideoVit } from '@lss/backbone';
import { type BackendInfo, type BackendName, ConfigError, describeBackend, initBackend } from '@lss/core';
import { ACTION_WORLD_VERSION, generateActionWorld, readActionWorldManifest } from '@lss/data/node';
import {
  type DatasetSpec,
  type EvalModel,
  type EvalReport,
  evaluateKnn,
  evaluateLinearProbe,
  evaluateZeroShot,
  type LoadEvalModelOptions,
  loadEvalModel,
  makeReport,
  writeReport,
} from '@lss/eval';
import { loadConfig } from './config/load.js';
import type { TrainConfig } from './config/schema.js';
import {
  chanceCheck,
  chanceLines,
  DEMO_PROTOCOLS,
  type DemoProtocol,
  type DemoRow,
  demoReading,
  demoStartLines,
  demoTable,
  demoTimeLine,
  tableFromRunFolder,
} from './demo-report.js';
import { memoizedViewLoader } from './demo-views.js';
import { buildTowers } from './model.js';
import { runTraining } from './run.js';

const here = dirname(fileURLToPath(import.meta.url));
const appRoot = resolve(here, '..');
export const WORLD_CLIP_DIR = resolve(process.env.LSS_DEMO_CLIP ?? join(appRoot, 'models', 'clip-world-tiny'));
const say = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The demo's backend unless `LSS_BACKEND` says otherwise: wasm, not `auto` (torch when built). At the demo's
 * model size (a 2-layer, 64-wide ViT at 32 px) a training step is a few thousand tiny kernels, and the torch
 * backend's per-kernel cost dominates: 16 LSS steps on the world took 82 CPU-s (115 s wall) on torch and 21
 * CPU-s (64 s wall) on wasm, with the same losses to 4 decimals (2-core machine at load 13-15, 20:44-20:47 UTC
 * 2026-11-29). Paper-scale towers are the other way round; `lss-train` and `lss-eval` keep `auto`.
 */
export const DEMO_DEFAULT_BACKEND: BackendName = 'wasm';

/**
 * The demo's world: `generateActionWorld`'s defaults at seed 0 (6 groups x 2 clips x 12 actions = 144 videos,
 * 48 px, 16 frames, Xvid AVI), without the captioned stills: the demo never reads them (the CLIP was pretrained
 * on them), and every video is seeded by its own name, so the videos are the same with or without stills.
 */
export const DEMO_WORLD = {
  seed: 0,
  groupsPerClass: 6,
  clipsPerGroup: 2,
  videoSize: 48,
  numFrames: 16,
  fps: 25,
  codec: 'xvid',
  stillsPerClass: 0,
  heldOutStillsPerClass: 0,
} as const;

/** The world the demo uses ({@link DEMO_WORLD}), generated once; a world with the same videos (stills or not) is reused. */
export async function ensureWorld(dir: string): Promise<void> {
  const manifest = join(dir, 'world.json');
  if (existsSync(manifest)) {
    const m = readActionWorldManifest(dir);
    const sameVideos =
      m.version === ACTION_WORLD_VERSION &&
      m.seed === DEMO_WORLD.seed &&
      (['groupsPerClass', 'clipsPerGroup', 'videoSize', 'numFrames', 'fps', 'codec'] as const).every(
        (k) => m.settings[k] === DEMO_WORLD[k],
      );
    if (sameVideos) return;
    say(`world in ${dir} is version ${m.version}, seed ${m.seed} with other settings; regenerating`);
    rmSync(dir, { recursive: true, force: true });
  }
  say(`generating the synthetic action world in ${dir} (seed ${DEMO_WORLD.seed}, videos only) ...`);
  const started = performance.now();
  await generateActionWorld({ dir, ...DEMO_WORLD });
  say(`  done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** The LSS config of one run on the world. `extra` are `--set` style overrides applied last. */
export function worldConfig(worldDir: string, workdir: string, backend: BackendName, extra: readonly string[] = []): TrainConfig {
  return loadConfig('lss-world', {
    overrides: [
      `workdir=${workdir}`,
      `backend=${backend}`,
      `model.clip=${WORLD_CLIP_DIR}`,
      `concepts.world=${join(worldDir, 'world.json')}`,
      `data.root=${join(worldDir, 'UCF-101')}`,
      `data.annotations=${join(worldDir, 'ucfTrainTestlist')}`,
      ...extra,
    ],
  });
}

/**
 * Test views of every row (the frozen CLIP too, so all rows see the same frames): 1 clip x 1 crop of 4 frames,
 * the LSS config's `model.numFrames`.
 */
export const DEMO_VIEWS = { numClips: 1, numCrops: 1, numFrames: 4 } as const;

/**
 * Zero-shot prompts of every row: the still captions' first template, the one the CLIP's model card measures
 * (chosen on the validation world's videos, never on the demo's test splits: see the model card).
 */
export const DEMO_PROMPTS: readonly string[] = ['a photo of a person {}.'];

/** Writes the CLIP-initialised video tower of `config` (its teacher at step 0) to `path`, freeing the towers. */
export async function saveStepZeroTower(config: TrainConfig, path: string): Promise<void> {
  const initial = await buildTowers(config);
  try {
    await saveVideoVit(initial.teacher.vision, path, { metadata: { role: 'teacher', step: '0' } });
  } finally {
    initial.clip?.dispose();
    initial.student.dispose();
    initial.teacher.dispose();
  }
}

/** The demo's shared view loader (one per process). */
const demoViews = memoizedViewLoader();

export async function evaluateRow(
  model: EvalModel,
  dataset: DatasetSpec,
  cacheDir: string,
  outDir: string | null,
): Promise<Record<DemoProtocol, EvalReport>> {
  const common = { model, dataset, cacheDir, progress: false, views: DEMO_VIEWS, loadViews: demoViews } as const;
  const out = (p: DemoProtocol) => (outDir ? { outDir: join(outDir, p) } : {});
  return {
    'zero-shot': await evaluateZeroShot({ ...common, prompts: DEMO_PROMPTS, ...out('zero-shot') }),
    'linear-probe': await evaluateLinearProbe({ ...common, ...out('linear-probe') }),
    knn: await evaluateKnn({ ...common, ...out('knn') }),
  };
}

/** Loads the model at `path` (`loadEvalModel`), evaluates it as {@link evaluateRow} does, and frees it, also when evaluation fails. */
export async function evaluateModelAt(
  path: string,
  options: LoadEvalModelOptions,
  dataset: DatasetSpec,
  cacheDir: string,
  outDir: string | null,
): Promise<Record<DemoProtocol, EvalReport>> {
  const model = await loadEvalModel(path, options);
  try {
    return await evaluateRow(model, dataset, cacheDir, outDir);
  } finally {
    model.dispose();
  }
}

/** Trains LSS with `config` and evaluates its EMA teacher on `dataset` (reports written under `outDir` when given). */
export async function trainAndEvaluate(
  config: TrainConfig,
  dataset: DatasetSpec,
  cacheDir: string,
  outDir: string | null = null,
  timings?: { train: number; evaluate: number },
): Promise<Record<DemoProtocol, EvalReport>> {
  const t0 = performance.now();
  rmSync(config.workdir, { recursive: true, force: true });
  const result = await runTraining(config, { printConfig: false, resume: false, log: () => {} });
  const trained = await loadEvalModel(join(config.workdir, 'checkpoints'), {
    role: 'teacher',
    textModel: WORLD_CLIP_DIR,
    label: `LSS EMA teacher, step ${result.step}`,
  });
  const t1 = performance.now();
  try {
    return await evaluateRow(trained, dataset, cacheDir, outDir);
  } finally {
    trained.dispose();
    if (timings) {
      timings.train += (t1 - t0) / 1000;
      timings.evaluate += (performance.now() - t1) / 1000;
    }
  }
}

/** One report over several splits from single-split reports of the same protocol (one model per split). */
function mergeSplitReports(reports: readonly EvalReport[], label: string): EvalReport {
  const first = reports[0] as EvalReport;
  return makeReport({
    protocol: first.protocol,
    dataset: first.dataset,
    model: { ...first.model, label, path: reports.map((r) => r.model.path).join(' | ') },
    settings: {
      ...first.settings,
      note: 'one LSS run per split: trained on that split’s training videos without labels, tested on its test videos',
    },
    ...(first.promptSet ? { promptSet: first.promptSet } : {}),
    splits: reports.flatMap((r) => r.splits),
  });
}

function ucfDataset(worldDir: string, splits: readonly (1 | 2 | 3)[]): DatasetSpec {
  return { kind: 'ucf101', videosDir: join(worldDir, 'UCF-101'), annotationsDir: join(worldDir, 'ucfTrainTestlist'), splits };
}

async function demo(info: BackendInfo, workDir: string): Promise<void> {
  const started = performance.now();
  const backend = info.name as BackendName; // resolved: every config and report names the backend that ran
  const seconds: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string) => {
    const now = performance.now();
    seconds[name] = (seconds[name] ?? 0) + (now - mark) / 1000;
    mark = now;
  };
  mkdirSync(workDir, { recursive: true });
  const worldDir = join(workDir, 'world');
  await ensureWorld(worldDir);
  lap('world');
  const runDir = join(workDir, 'results');
  rmSync(runDir, { recursive: true, force: true });
  const cacheDir = join(workDir, 'features');
  const dataset = ucfDataset(worldDir, [1, 2, 3]);
  const manifest = readActionWorldManifest(worldDir);
  say(`world ${worldDir} (${manifest.actions.length} actions, ${manifest.videos.length} videos), model ${WORLD_CLIP_DIR}`);

  const rows: DemoRow[] = [];
  say('evaluating the frozen image CLIP (frame average) ...');
  rows.push({
    model: 'frozen image CLIP, frame average',
    folder: 'frozen-clip',
    reports: await evaluateModelAt(
      WORLD_CLIP_DIR,
      { label: 'frozen image CLIP (frame average)' },
      dataset,
      cacheDir,
      join(runDir, 'frozen-clip'),
    ),
  });
  lap('frozen CLIP eval');

  say('evaluating the CLIP-initialised LSS video tower at step 0 ...');
  const base = worldConfig(worldDir, join(workDir, 'train-split1'), backend);
  const initialPath = join(workDir, 'video-tower-step0.safetensors');
  await saveStepZeroTower(base, initialPath);
  rows.push({
    model: 'LSS video tower, step 0 (CLIP init)',
    folder: 'lss-step0',
    reports: await evaluateModelAt(
      initialPath,
      { textModel: WORLD_CLIP_DIR, label: 'LSS video tower, step 0 (CLIP init)' },
      dataset,
      cacheDir,
      join(runDir, 'lss-step0'),
    ),
  });
  lap('step-0 tower eval');

  const timings = { train: 0, evaluate: 0 };
  const perSplit: Record<DemoProtocol, EvalReport[]> = { 'zero-shot': [], 'linear-probe': [], knn: [] };
  let steps = 0;
  for (const split of [1, 2, 3] as const) {
    const config = worldConfig(worldDir, join(workDir, `train-split${split}`), backend, [`data.split=${split}`]);
    say(
      `training LSS on split ${split}'s training videos (no labels): ${config.training.epochs} epochs, batch ${config.training.batchSize} ...`,
    );
    const reports = await trainAndEvaluate(
      config,
      ucfDataset(worldDir, [split]),
      join(cacheDir, `lss-split${split}`),
      join(runDir, 'lss-trained', `split${split}`),
      timings,
    );
    for (const p of DEMO_PROTOCOLS) perSplit[p].push(reports[p]);
    steps = Number(reports['zero-shot'].model.label?.match(/step (\d+)/)?.[1] ?? 0);
  }
  const trainedReports = {} as Record<DemoProtocol, EvalReport>;
  for (const p of DEMO_PROTOCOLS) {
    trainedReports[p] = mergeSplitReports(perSplit[p], `LSS EMA teacher after training (one run per split)`);
    writeReport(join(runDir, 'lss-trained', p), trainedReports[p]);
  }
  rows.push({ model: `LSS video tower, trained (${steps} steps, EMA teacher)`, folder: 'lss-trained', reports: trainedReports });
  lap('LSS runs');
  const lssRunSeconds = { training: timings.train, evaluation: timings.evaluate }; // the parts of 'LSS runs'

  // The table printed is the table of the reports as written (re-read from disk).
  const table = tableFromRunFolder(runDir, rows);
  if (table !== demoTable(rows)) throw new Error('internal: the table of the written reports differs from the in-memory table');
  const [frozenRow, startRow, trainedRow] = rows as [DemoRow, DemoRow, DemoRow];
  const readings = [
    demoReading(trainedRow.reports['zero-shot'], frozenRow.reports['zero-shot'], 'the frozen image CLIP'),
    demoReading(trainedRow.reports['zero-shot'], startRow.reports['zero-shot'], 'its step-0 video tower'),
    demoReading(trainedRow.reports['linear-probe'], frozenRow.reports['linear-probe'], 'the frozen image CLIP', 'linear probe'),
    demoReading(trainedRow.reports.knn, frozenRow.reports.knn, 'the frozen image CLIP', 'k-NN'),
  ];
  const chance = chanceLines(rows);
  const minutes = (performance.now() - started) / 60000;
  const notes = [
    `synthetic action world (seed 0, ${manifest.actions.length} actions, ${manifest.videos.length} videos), mean ± sample std over its 3 splits; chance ${(100 / manifest.actions.length).toFixed(1)} %.`,
    `test views 1 clip x 1 crop, ${base.model.numFrames} frames; zero-shot prompts: the class names in ${JSON.stringify(frozenRow.reports['zero-shot'].promptSet?.templates ?? [])}; k-NN k = 20, T = 0.07; linear probe: L2 logistic regression, C chosen on held-out training clips.`,
    `model: ${WORLD_CLIP_DIR} (CLIP pretrained on the world's captioned stills only, see its README.md); LSS: configs/lss-world.yaml, one run per split on that split's unlabeled training videos.`,
    `reports: ${runDir}/<row>/<protocol>/report.{json,md} (lss-trained/split<k>/: each split's run); ${describeBackend(info)}; ${minutes.toFixed(1)} min in all (${demoTimeLine(seconds, lssRunSeconds)}; ${demoViews.decoded()} videos decoded for evaluation, once each).`,
  ];
  const text = `${table}\n\n${readings.join('\n')}\n\n${chance.join('\n')}\n\n${notes.join('\n')}\n`;
  writeFileSync(join(runDir, 'table.md'), text);
  writeFileSync(
    join(runDir, 'results.json'),
    `${JSON.stringify(
      {
        backend: describeBackend(info),
        rows: rows.map((r) => ({
          model: r.model,
          folder: r.folder,
          top1: Object.fromEntries(DEMO_PROTOCOLS.map((p) => [p, r.reports[p].summary.top1])),
          chance: Object.fromEntries(DEMO_PROTOCOLS.map((p) => [p, chanceCheck(r.reports[p])])),
        })),
        readings,
        chance: 100 / manifest.actions.length,
        minutes,
        seconds,
        lssRunSeconds,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(`\n${text}`);
}

function parseCount(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${flag} takes an integer >= ${min}; received ${JSON.stringify(value)}.`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      ablations: { type: 'boolean' },
      select: { type: 'boolean' },
      grid: { type: 'string' },
      seeds: { type: 'string' },
      'max-steps': { type: 'string' },
    },
  });
  const seeds = values.seeds === undefined ? undefined : parseCount('--seeds', values.seeds, 1);
  const maxSteps = values['max-steps'] === undefined ? undefined : parseCount('--max-steps', values['max-steps'], 1);
  if ((seeds !== undefined || maxSteps !== undefined) && !values.ablations) {
    throw new ConfigError('--seeds and --max-steps change only `--ablations` (the demo itself always runs its full schedule).');
  }
  if (values.grid !== undefined && !values.select) throw new ConfigError('--grid chooses the grid of `--select`; add --select.');
  const selectModule = values.select ? await import('./demo-select.js') : undefined;
  const grid = selectModule?.selectionGridName(values.grid);
  const workDir = resolve(process.env.LSS_DEMO_DIR ?? 'runs/demo');
  const info = await initBackend((process.env.LSS_BACKEND ?? DEMO_DEFAULT_BACKEND) as BackendName);
  const [backendLine, workDirLine] = demoStartLines(info, workDir);
  process.stdout.write(`${backendLine}\n`);
  say(workDirLine as string);
  const backend = info.name as BackendName;
  if (selectModule) {
    await ensureWorld(join(workDir, 'world'));
    await selectModule.selectHyperParameters({ workDir, backend, log: say, ...(grid ? { grid } : {}) });
    return;
  }
  if (values.ablations) {
    const { runAblations } = await import('./demo-ablations.js');
    await ensureWorld(join(workDir, 'world'));
    await runAblations({
      workDir,
      backend,
      log: say,
      ...(seeds !== undefined ? { seeds: Array.from({ length: seeds }, (_, i) => i) } : {}),
      ...(maxSteps !== undefined ? { maxSteps } : {}),
    });
    return;
  }
  await demo(info, workDir);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    const usage =
      error instanceof ConfigError || (error instanceof Error && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'));
    process.stderr.write(
      `demo failed: ${error instanceof Error ? (usage ? error.message : (error.stack ?? error.message)) : String(error)}\n`,
    );
    process.exitCode = 1;
  });
}
