/**
 * Child process for the signal test in `src/signals.test.ts`: a tiny run on an in-memory source (every
 * await of the loop resolves through microtasks only, like frames cached after the first epoch), with
 * the CLI's SIGINT/SIGTERM handlers. Prints `step <n>` after each step and the result as JSON at the end.
 *
 * Usage: tsx --conditions=@lss/source scripts/signal-run.ts <workdir> <conceptCacheDir> <maxSteps>
 */
import { initBackend } from '@lss/core';
import { loadConfig } from '../src/config/load.js';
import { MemoryClipSource } from '../src/data.js';
import { runTraining } from '../src/run.js';
import { tinyRunOverrides } from '../src/test-helpers.js';

const [workdir, cacheDir, maxSteps] = process.argv.slice(2) as [string, string, string];
await initBackend('wasm');
const config = loadConfig('lss-tiny-synthetic', {
  overrides: [
    ...tinyRunOverrides(workdir, cacheDir),
    'training.batchSize=2',
    'training.epochs=100', // 2 steps per epoch: step 5 is in the third epoch
    `training.maxSteps=${maxSteps}`,
    'checkpoint.every=1000',
    'logging.every=1',
  ],
});
const source = new MemoryClipSource({ numClasses: 2, videosPerClass: 2, numFrames: 8, size: 32, seed: 0 });
const result = await runTraining(config, {
  source,
  handleSignals: true,
  exportTowers: false,
  printConfig: false,
  log: (line) => process.stderr.write(`${line}\n`),
  onStep: (step) => process.stdout.write(`step ${step + 1}\n`),
});
process.stdout.write(`${JSON.stringify({ step: result.step, stoppedBy: result.stoppedBy, checkpoint: result.lastCheckpoint })}\n`);
