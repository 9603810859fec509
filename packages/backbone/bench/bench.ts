/**
 * Benchmark: forward and forward+backward of ViT-B/16 divided space-time video blocks on the wasm
 * backend (B=1, T=8, 224 px: 1 + 8*196 tokens of width 768), with and without per-block recompute,
 * and the same shapes in PyTorch (bench/torch_bench.py, 2 threads) when `/usr/bin/python3 -c 'import
 * torch'` works; prints the ratios.
 *
 * Usage: pnpm --filter @lss/backbone bench [-- --blocks 2 --runs 1 --frames 8]
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initBackend } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { type BlockWeights, checkpointed, createVideoVit, dividedSpaceTimeBlock, Scope, visionPreset } from '../src/index.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const BLOCKS = arg('blocks', 2);
const RUNS = arg('runs', 1);
const T = arg('frames', 8);
const B = 1;

const backend = await initBackend('wasm');
const config = visionPreset('ViT-B/16', { layers: BLOCKS, numFrames: T });
const tower = createVideoVit(config, new Scope('bench', { seed: 1 }));
// non-zero temporal parts, as after some training
tf.tidy(() => {
  for (const [p, v] of tower.variables()) if (/temporalFc\/kernel/.test(p)) v.assign(tf.randomNormal(v.shape, 0, 0.02, 'float32', 2));
});
const G = config.imageSize / config.patchSize;
const S = G * G;
const D = config.width;
const x = tf.randomNormal([B, 1 + T * S, D], 0, 1, 'float32', 3);
const options = { heads: config.heads, layerNormEps: config.layerNormEps, activation: config.activation };
type Mode = 'none' | 'block' | 'nested';
const run = (mode: Mode) => (h0: tf.Tensor) => {
  let h = h0;
  const block = (x: tf.Tensor, w: BlockWeights) => dividedSpaceTimeBlock(x, w, options, T, mode === 'nested');
  for (const w of tower.weights.blocks) {
    const input = h;
    h = tf.tidy(() => (mode === 'none' ? block(input, w) : checkpointed(block, input, w)));
  }
  return h;
};

/** First run: warm-up, under tf.profile for the peak tensor memory; then RUNS timed runs (best reported). */
async function measure(label: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const once = async () => {
    const out = fn();
    const outs = Array.isArray(out) ? out : [out];
    await Promise.all(outs.map((o) => o.data()));
    tf.dispose(outs);
  };
  const base = tf.memory().numBytes;
  const t0 = performance.now();
  const info = await tf.profile(once);
  const warm = (performance.now() - t0) / 1000;
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t1 = performance.now();
    await once();
    times.push((performance.now() - t1) / 1000);
  }
  const best = Math.min(...times);
  console.log(
    `  ${label.padEnd(38)} ${best.toFixed(2)} s  (timed runs: ${times.map((t) => t.toFixed(2)).join(', ')}; warm-up ${warm.toFixed(1)} s); peak tensor memory above weights ${((info.peakBytes - base) / 2 ** 20).toFixed(0)} MiB`,
  );
  return best;
}

const trainable = tower.trainableVariables();
const fwdBwd = (mode: Mode) => () => {
  const { value, grads } = tf.variableGrads(() => tf.sum(run(mode)(x)) as tf.Scalar, trainable);
  return [value, ...Object.values(grads)];
};

console.log(
  `@lss/backbone bench: ${BLOCKS} ViT-B/16 divided space-time blocks, B=${B}, T=${T}, ${config.imageSize}px (${1 + T * S} tokens x ${D}), backend ${backend.name}, tfjs ${backend.tfjsVersion}, 1 thread`,
);
const fwd = await measure('wasm forward', () => tf.tidy(() => run('none')(x)));
const bwd = await measure('wasm forward+backward', fwdBwd('none'));
const bwdR = await measure("wasm forward+backward, recompute 'nested'", fwdBwd('nested'));

const here = dirname(fileURLToPath(import.meta.url));
const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
if (probe.status === 0) {
  const r = spawnSync(
    '/usr/bin/python3',
    [join(here, 'torch_bench.py'), ...[BLOCKS, B, T, G, D, config.heads, Math.max(RUNS, 2), 2].map(String)],
    {
      encoding: 'utf8',
      timeout: 240_000,
      env: { ...process.env, OMP_NUM_THREADS: '2' },
    },
  );
  if (r.status !== 0) {
    console.log(`  PyTorch run failed (${r.status}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  } else {
    const pt = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { forward_s: number; forward_backward_s: number; torch: string };
    console.log(`  torch ${pt.torch} forward (2 threads)        ${pt.forward_s.toFixed(2)} s`);
    console.log(`  torch forward+backward (2 threads)   ${pt.forward_backward_s.toFixed(2)} s`);
    console.log(
      `  ratio wasm/torch: forward ${(fwd / pt.forward_s).toFixed(2)}x, forward+backward ${(bwd / pt.forward_backward_s).toFixed(2)}x (with nested recompute ${(bwdR / pt.forward_backward_s).toFixed(2)}x)`,
    );
  }
} else {
  console.log("  PyTorch comparison skipped: /usr/bin/python3 -c 'import torch' failed.");
}
tf.dispose(x);
tower.dispose();
