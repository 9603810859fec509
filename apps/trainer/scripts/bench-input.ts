/**
 * Training-input throughput (not part of CI): clips/s of `TrainInput` + `FileClipSource` (ffmpeg decode and view
 * rendering in worker threads) on a generated dataset, for several worker counts, at a chosen view scale.
 * Paper scale is SVT's 2 global 224 px + 8 local 96 px views of 8 frames. Compare with the step's clips/s from
 * `bench:step` at the same scale: the input keeps up when its clips/s is at least the step's.
 *
 * Usage: pnpm --filter @lss/trainer bench:input [--scale paper|tiny] [--workers 0,1,2] [--steps 4] [--batch 2]
 *        [--size 320x240] [--frames 32]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { generateSyntheticDataset } from '@lss/data/node';
import { trainConfigSchema } from '../src/config/schema.js';
import { FileClipSource, StepPlanner, svtViewConfig, TrainInput } from '../src/data.js';

const { values } = parseArgs({
  options: {
    scale: { type: 'string', default: 'paper' },
    workers: { type: 'string', default: '0,1,2' },
    steps: { type: 'string', default: '4' },
    batch: { type: 'string', default: '2' },
    size: { type: 'string', default: '320x240' },
    frames: { type: 'string', default: '32' },
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
