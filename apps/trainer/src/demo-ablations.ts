/**
 * `pnpm demo --ablations`: which parts of LSS matter in the synthetic action world. Rows (split 1, 3 seeds
 * each, every run trained on split 1's training videos without labels and tested on split 1's test videos):
 * concept distillation only; + uniform prior; + concept alignment (full LSS, the world's action names as
 * categories: lss-a style); full LSS with the world's larger generated vocabulary as categories (lss-b style);
 * the DINO baseline (a learned head instead of concept spaces). The other settings are the demo's
 * (configs/lss-world.yaml). Writes `<work dir>/ablations/ablations.{md,json,svg}`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BackendName } from '@lss/core';
import type { DatasetSpec } from '@lss/eval';
import type { TrainConfig } from './config/schema.js';
import { evaluateModelAt, trainAndEvaluate, WORLD_CLIP_DIR, worldConfig } from './demo.js';
import { chanceCheck, DEMO_ALPHA, type DemoProtocol } from './demo-report.js';
import { renderResultsPlot } from './plot.js';

/** An ablation row: a name and the change of the demo config. */
export interface AblationRow {
  readonly name: string;
  readonly apply: (c: TrainConfig) => TrainConfig;
}

const only =
  (names: readonly string[]) =>
  (c: TrainConfig): TrainConfig => ({
    ...c,
    objectives: c.objectives.filter((o) => names.includes(o.name)),
  });

export const ABLATION_ROWS: readonly AblationRow[] = [
  { name: 'concept distillation only', apply: only(['concept-distillation']) },
  { name: '+ uniform prior', apply: only(['concept-distillation', 'uniform-prior']) },
  { name: '+ concept alignment (LSS; world names, lss-a style)', apply: (c) => c },
  {
    name: 'LSS, generated vocabulary (lss-b style)',
    apply: (c) => ({ ...c, concepts: { ...c.concepts, categories: 'world-vocabulary' } }),
  },
  {
    name: 'DINO baseline (learned head)',
    apply: (c) => ({
      ...c,
      objectives: [
        {
          name: 'dino',
          weight: 1,
          headInput: 'class-token', // SVT: the head reads the class token (before CLIP's projection)
          outDim: 1024,
          hiddenDim: 128,
          bottleneckDim: 32,
          numLayers: 3,
          studentTemperature: 0.1,
          teacherTemperature: { start: 0.04, end: 0.07, warmupLength: 1, unit: 'epoch' },
          centerMomentum: 0.9,
          freezeLastLayerEpochs: 1,
          seed: c.seed,
        },
      ],
    }),
  },
];

export const ABLATION_SEEDS = [0, 1, 2] as const;

/** Options of {@link runAblations}. */
export interface AblationOptions {
  readonly workDir: string;
  readonly backend: BackendName;
  readonly log: (line: string) => void;
  /** Seeds of each row (default {@link ABLATION_SEEDS}). */
  readonly seeds?: readonly number[];
  /** A shorter schedule for a quick check (`training.maxSteps`); default the config's full schedule. */
  readonly maxSteps?: number;
  /** Rows to run (default all of {@link ABLATION_ROWS}). */
  readonly rows?: readonly AblationRow[];
}

export async function runAblations(options: AblationOptions): Promise<void> {
  const { workDir, backend, log } = options;
  const seeds = options.seeds ?? ABLATION_SEEDS;
  const ablationRows = options.rows ?? ABLATION_ROWS;
  const extra = options.maxSteps !== undefined ? [`training.maxSteps=${options.maxSteps}`] : [];
  const started = performance.now();
  const worldDir = join(workDir, 'world');
  const outDir = join(workDir, 'ablations');
  mkdirSync(outDir, { recursive: true });
  const dataset: DatasetSpec = {
    kind: 'ucf101',
    videosDir: join(worldDir, 'UCF-101'),
    annotationsDir: join(worldDir, 'ucfTrainTestlist'),
    splits: [1],
  };
  const results: { name: string; zeroShot: number[]; linearProbe: number[]; knn: number[] }[] = [];
  // References without LSS training: the frozen image CLIP on split 1.
  const frozenReports = await evaluateModelAt(
    WORLD_CLIP_DIR,
    { label: 'frozen image CLIP (frame average)' },
    dataset,
    join(workDir, 'features'),
    join(outDir, 'frozen-clip'),
  );
  const frozenTop1 = (p: DemoProtocol) => frozenReports[p].summary.top1.mean;
  const frozenZeroShot = frozenTop1('zero-shot');
  const chanceRule = chanceCheck(frozenReports['zero-shot']);
  let steps = 0;
  for (const [index, row] of ablationRows.entries()) {
    const entry = { name: row.name, zeroShot: [] as number[], linearProbe: [] as number[], knn: [] as number[] };
    for (const seed of seeds) {
      const base = worldConfig(worldDir, join(outDir, 'run'), backend, ['data.split=1', `seed=${seed}`, ...extra]);
      const started = performance.now();
      const r = await trainAndEvaluate(
        row.apply(base),
        dataset,
        join(outDir, 'features-run'),
        join(outDir, 'reports', `row${index + 1}-seed${seed}`),
      );
      steps = Number(r['zero-shot'].model.label?.match(/step (\d+)/)?.[1] ?? 0);
      entry.zeroShot.push(r['zero-shot'].summary.top1.mean);
      entry.linearProbe.push(r['linear-probe'].summary.top1.mean);
      entry.knn.push(r.knn.summary.top1.mean);
      log(
        `  ${row.name}, seed ${seed}: zero-shot ${entry.zeroShot.at(-1)?.toFixed(1)} %, probe ${entry.linearProbe.at(-1)?.toFixed(1)} %, k-NN ${entry.knn.at(-1)?.toFixed(1)} % (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
    results.push(entry);
  }
  const chance = chanceRule.chance;
  const table = ablationTable(results, {
    seeds,
    steps,
    frozen: { zeroShot: frozenZeroShot, linearProbe: frozenTop1('linear-probe'), knn: frozenTop1('knn') },
    chance,
  });
  const minutes = (performance.now() - started) / 60000;
  const notes = [
    `mean ± sample std over seeds ${seeds.join(', ')}; every run: LSS on split 1's training videos without labels (configs/lss-world.yaml${extra.length > 0 ? `, training.maxSteps ${options.maxSteps}` : ''}, ${steps} steps), its EMA teacher tested on split 1's ${chanceRule.total} test videos.`,
    `chance ${chance.toFixed(1)} %; with ${chanceRule.total} test videos a single run is above chance (one-sided exact binomial p < ${DEMO_ALPHA}) from ${chanceRule.threshold.toFixed(1)} %; a seed-to-seed spread does not include the test videos' own binomial noise (the same ${chanceRule.total} videos for every run).`,
    "DINO's zero-shot uses the video tower's CLIP projection with the class-name prompts; DINO's loss never sees the text, so it tells how far DINO training moves the tower away from (or keeps it near) the text space.",
    `reports: ${outDir}/frozen-clip and ${outDir}/reports/row<k>-seed<s>/<protocol>/; backend ${backend}; ${minutes.toFixed(1)} min.`,
  ];
  writeFileSync(join(outDir, 'ablations.md'), `${table}\n\n${notes.join('\n')}\n`);
  writeFileSync(
    join(outDir, 'ablations.json'),
    `${JSON.stringify({ frozen: { zeroShot: frozenZeroShot, linearProbe: frozenTop1('linear-probe'), knn: frozenTop1('knn') }, chance, aboveChanceFrom: chanceRule.threshold, seeds, steps, maxSteps: options.maxSteps ?? null, results, minutes }, null, 2)}\n`,
  );
  writeFileSync(
    join(outDir, 'ablations.svg'),
    renderResultsPlot(
      results.map((r) => ({ name: r.name, values: r.zeroShot })),
      {
        title: `LSS ablations on the synthetic action world (split 1): zero-shot top-1 %, ${seeds.length} seeds`,
        xLabel: 'zero-shot top-1 % (dots: seeds; bar: mean; whisker: ± sample std)',
        references: [
          { name: 'chance', value: chance },
          { name: 'above chance from (p < 0.05)', value: chanceRule.threshold },
          { name: 'frozen image CLIP', value: frozenZeroShot },
        ],
      },
    ),
  );
  process.stdout.write(`\n${table}\n\n${notes.join('\n')}\nwritten: ${outDir}/ablations.{md,json,svg}\n`);
}

/** Mean ± sample std of one row's per-seed values (points). */
export function meanStd(xs: readonly number[]): string {
  if (xs.length === 0) throw new Error('meanStd: no values; an ablation row needs at least one seed.');
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const s = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return `${m.toFixed(1)} ± ${s.toFixed(1)}`;
}

/** The ablation table: the frozen CLIP (no training), one row per ablation (mean ± std over seeds), chance. */
export function ablationTable(
  results: readonly { name: string; zeroShot: readonly number[]; linearProbe: readonly number[]; knn: readonly number[] }[],
  context: {
    seeds: readonly number[];
    steps: number;
    frozen: { zeroShot: number; linearProbe: number; knn: number };
    chance: number;
  },
): string {
  const { frozen, chance } = context;
  return [
    `| row (split 1, ${context.seeds.length} seeds, ${context.steps} steps) | zero-shot top-1 % | linear probe top-1 % | k-NN top-1 % |`,
    '|---|---|---|---|',
    `| frozen image CLIP, frame average (no training) | ${frozen.zeroShot.toFixed(1)} | ${frozen.linearProbe.toFixed(1)} | ${frozen.knn.toFixed(1)} |`,
    ...results.map((r) => `| ${r.name} | ${meanStd(r.zeroShot)} | ${meanStd(r.linearProbe)} | ${meanStd(r.knn)} |`),
    `| chance | ${chance.toFixed(1)} | ${chance.toFixed(1)} | ${chance.toFixed(1)} |`,
  ].join('\n');
}
