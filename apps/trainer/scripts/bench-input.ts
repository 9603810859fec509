/**
 * Training-input throughput (not part of CI): clips/s of `TrainInput` + `FileClipSource` (ffmpeg decode and view
 * rendering in worker threads) on a generated dataset, for several worker counts, at a chosen view scale.
 * Paper scale is SVT's 2 global 224 px + 8 local 96 px views of 8 frames. Compare with the step's clips/s from
 * `bench:step` at the same scale: the input keeps up when its clips/s is at least the step's.
 *
 * With `--step true` (the default at `--scale tiny`) the same command then times the lss-tiny-synthetic training
 * loop twice on this machine: with its views handed over from memory (the step alone: no decode, no rendering)
 * and with its real input (the generated videos decoded and rendered by worker threads while the model steps).
 * The input keeps up when the second loop runs at the first one's clips/s.
 *
 * Usage: pnpm --filter @lss/trainer bench:input [--scale paper|tiny] [--workers 0,1,2] [--steps 4] [--batch 2]
 *        [--size 320x240] [--frames 32] [--step true|false] [--train-steps 20] [--backend auto]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendName, initBackend } from '@lss/core';
import type { HostVideo } from '@lss/data';
import { generateSyntheticDataset } from '@lss/data/node';
import { loadConfig } from '../src/config/load.js';
import { trainConfigSchema } from '../src/config/schema.js';
import { type ClipSource, FileClipSource, StepPlanner, svtViewConfig, TrainInput } from '../src/data.js';
import { readMetrics } from '../src/metrics.js';
import { runTraining } from '../src/run.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: 'paper' },
    workers: { type: 'string', default: '0,1,2' },
    steps: { type: 'string', default: '4' },
    batch: { type: 'string', default: '2' },
    size: { type: 'string', default: '320x240' },
    frames: { type: 'string', default: '32' },
    step: { type: 'string' },
    'train-steps': { type: 'string', default: '20' },
    backend: { type: 'string', default: 'auto' },
  },
});
const [width, height] = (values.size as string).split('x').map(Number) as [number, number];
const steps = Number(values.steps);
const batch = Number(values.batch);
const views =
  values.scale === 'tiny'
    ? { numGlobal: 2, numLocal: 2, numFrames: 4, globalSize: 32, localSize: 16 }
    : { numGlobal: 2, numLocal: 8, numFrames: 8, globalSize: 224, localSize: 96 };
const viewConfig = svtViewConfig(trainConfigSchema.shape.views.parse(views));
const synth = await generateSyntheticDataset({
  dir: join(mkdtempSync(join(tmpdir(), 'lss-bench-input-')), 'data'),
  numClasses: 2,
  videosPerClass: Math.max(3, Math.ceil((steps * batch) / 2)),
  width,
  height,
  numFrames: Number(values.frames),
});
const samples = synth.files.map((path) => ({ path, label: 0, className: 'x' }));
console.log(
  `${values.scale} views (${views.numGlobal} x ${views.globalSize} px + ${views.numLocal} x ${views.localSize} px, ${views.numFrames} frames), ` +
    `${samples.length} videos ${width}x${height} of ${values.frames} frames, batch ${batch}, ${steps} steps; machine shared, figures indicative`,
);
for (const numWorkers of (values.workers as string).split(',').map(Number)) {
  const source = new FileClipSource(samples, { numWorkers });
  const input = new TrainInput(source, new StepPlanner(samples.length, batch, 1, 0, steps), viewConfig, { seed: 0 });
  await input.take(0, steps + 1); // worker start-up and first probes
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) await input.take(s, steps + 1);
  const seconds = (performance.now() - t0) / 1000;
  await input.close();
  await source.close();
  console.log(
    `workers ${numWorkers}: ${((steps * batch) / seconds).toFixed(2)} clips/s (${seconds.toFixed(1)} s for ${steps * batch} clips)`,
  );
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

if ((values.step ?? (values.scale === 'tiny' ? 'true' : 'false')) === 'true') {
  // The tiny recipe's own loop, twice, same machine, same command: views from memory (the step alone), then the real
  // input (synthetic videos decoded by ffmpeg and rendered in worker threads while the model steps).
  const trainSteps = Number(values['train-steps']);
  const root = mkdtempSync(join(tmpdir(), 'lss-bench-step-input-'));
  await initBackend(values.backend as BackendName);
  const config = (workdir: string) =>
    loadConfig('lss-tiny-synthetic', {
      overrides: [
        `workdir=${join(root, workdir)}`,
        `data.root=${join(root, 'synthetic-data')}`,
        `training.maxSteps=${trainSteps}`,
        'logging.progress=off',
      ],
    });
  const loop = async (workdir: string, source?: ClipSource) => {
    const result = await runTraining(config(workdir), {
      resume: false,
      exportTowers: false,
      printConfig: false,
      log: () => undefined,
      ...(source ? { source } : {}),
    });
    // Epoch 0 warms up (kernels, worker start-up, and with the recipe's cacheFrames every video's one decode): the
    // median of the later steps is the steady state; epoch 0's median is reported too.
    const records = readMetrics(result.metricsPath);
    const later = records.filter((r) => r.epoch >= 1).map((r) => r.clipsPerSecond);
    const first = records.filter((r) => r.epoch < 1 && r.step >= 1).map((r) => r.clipsPerSecond); // epoch: step / stepsPerEpoch
    return { steady: later.length > 0 ? median(later) : Number.NaN, firstEpoch: first.length > 0 ? median(first) : Number.NaN };
  };
  const withInput = await loop('file-input'); // also generates the synthetic dataset
  // Views of one real clip, handed over for every slot: the step costs the same, the input costs nothing.
  const files = new FileClipSource(
    (await import('@lss/data/node')).readUcf101({
      videosDir: join(root, 'synthetic-data', 'UCF-101'),
      annotationsDir: join(root, 'synthetic-data', 'ucfTrainTestlist'),
      split: 1,
      subset: 'train',
    }).samples,
    { numWorkers: 0 },
  );
  const tiny = config('memory');
  const fixed: HostVideo[] = await files.views(0, svtViewConfig(tiny.views), 0);
  await files.close();
  const memory: ClipSource = { numClips: files.numClips, views: async () => fixed };
  const stepOnly = await loop('memory', memory);
  const ratio = withInput.steady / stepOnly.steady;
  console.log(
    `lss-tiny-synthetic loop (${trainSteps} steps, median of the steps after epoch 0, backend ${values.backend}): step alone ` +
      `(views from memory) ${stepOnly.steady.toFixed(2)} clips/s; with the real input (ffmpeg + worker threads, frames cached ` +
      `after their first decode) ${withInput.steady.toFixed(2)} clips/s = ${ratio.toFixed(2)}x the step alone ` +
      `(${Number.isNaN(ratio) ? 'too few steps: use --train-steps above one epoch' : ratio >= 0.9 ? 'input keeps up' : 'input is the bottleneck'}); ` +
      `epoch 0 (every video decoded once): ${withInput.firstEpoch.toFixed(2)} vs ${stepOnly.firstEpoch.toFixed(2)} clips/s`,
  );
  rmSync(root, { recursive: true, force: true });
}
