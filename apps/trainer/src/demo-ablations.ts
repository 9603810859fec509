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
import { type DatasetSpec, loadEvalModel } from '@lss/eval';
import type { TrainConfig } from './config/schema.js';
import { evaluateRow, trainAndEvaluate, WORLD_CLIP_DIR, worldConfig } from './demo.js';
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

export async function runAblations(options: { workDir: string; backend: BackendName; log: (line: string) => void }): Promise<void> {
  const { workDir, backend, log } = options;
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
  const frozen = await loadEvalModel(WORLD_CLIP_DIR, { label: 'frozen image CLIP (frame average)' });
  let frozenZeroShot = Number.NaN;
  try {
    const r = await evaluateRow(frozen, dataset, join(workDir, 'features'), join(outDir, 'frozen-clip'));
    frozenZeroShot = r['zero-shot'].summary.top1.mean;
  } finally {
    frozen.dispose();
  }
  for (const row of ABLATION_ROWS) {
    const entry = { name: row.name, zeroShot: [] as number[], linearProbe: [] as number[], knn: [] as number[] };
    for (const seed of ABLATION_SEEDS) {
      const base = worldConfig(worldDir, join(outDir, 'run'), backend, ['data.split=1', `seed=${seed}`]);
      const started = performance.now();
      const r = await trainAndEvaluate(row.apply(base), dataset, join(outDir, 'features-run'));
      entry.zeroShot.push(r['zero-shot'].summary.top1.mean);
      entry.linearProbe.push(r['linear-probe'].summary.top1.mean);
      entry.knn.push(r.knn.summary.top1.mean);
      log(
        `  ${row.name}, seed ${seed}: zero-shot ${entry.zeroShot.at(-1)?.toFixed(1)} %, probe ${entry.linearProbe.at(-1)?.toFixed(1)} %, k-NN ${entry.knn.at(-1)?.toFixed(1)} % (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
    results.push(entry);
  }
  const ms = (xs: readonly number[]) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const s = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
    return `${m.toFixed(1)} ± ${s.toFixed(1)}`;
  };
  const chance = 100 / 12;
  const lines = [
    '| row (split 1, 3 seeds) | zero-shot top-1 % | linear probe top-1 % | k-NN top-1 % |',
    '|---|---|---|---|',
    `| frozen image CLIP, frame average (no training) | ${frozenZeroShot.toFixed(1)} | | |`,
    ...results.map((r) => `| ${r.name} | ${ms(r.zeroShot)} | ${ms(r.linearProbe)} | ${ms(r.knn)} |`),
    `| chance | ${chance.toFixed(1)} | ${chance.toFixed(1)} | ${chance.toFixed(1)} |`,
  ];
  const table = lines.join('\n');
  writeFileSync(
    join(outDir, 'ablations.md'),
    `${table}\n\nmean ± sample std over seeds ${ABLATION_SEEDS.join(', ')}; DINO's zero-shot uses the video tower's CLIP projection with the class-name prompts; DINO's loss never sees the text, so it tells how far DINO training moves the tower away from (or keeps it near) the text space.\n`,
  );
  writeFileSync(join(outDir, 'ablations.json'), `${JSON.stringify({ frozenZeroShot, chance, seeds: ABLATION_SEEDS, results }, null, 2)}\n`);
  writeFileSync(
    join(outDir, 'ablations.svg'),
    renderResultsPlot(
      results.map((r) => ({ name: r.name, values: r.zeroShot })),
      {
        title: 'LSS ablations on the synthetic action world (split 1): zero-shot top-1 %, 3 seeds',
        xLabel: 'zero-shot top-1 % (dots: seeds; bar: mean; whisker: ± sample std)',
        references: [
          { name: 'chance', value: chance },
          { name: 'frozen image CLIP', value: frozenZeroShot },
        ],
      },
    ),
  );
  process.stdout.write(`\n${table}\n\nwritten: ${outDir}/ablations.{md,json,svg}\n`);
}
