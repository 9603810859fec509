/**
 * Eval feature extraction, clips per second, tfjs engine vs ONNX engine (fp32 and int8), interleaved:
 * `lss-eval knn --splits 1 --no-cache` on a generated synthetic dataset (UCF-101 layout, 3 classes x 4
 * videos, 64x48, 16 frames; split 1 embeds all 12 videos once: train and test) with clip-tiny's video
 * tower (4 frames, 32 px, random divided-attention weights). Decoding (ffmpeg) is inside the time for every
 * engine. The ONNX folders are exported before the timed rounds.
 *
 * Usage (from apps/eval): nice -n 10 npx tsx --conditions=@lss/source bench/onnx-extract-bench.ts [ROUNDS=3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClip } from '@lss/backbone';
import { initBackend } from '@lss/core';
import { generateSyntheticDataset } from '@lss/data/node';
import { CLIP_TINY_DIR, ucf101EvalArgs, writeTrainerCheckpoint } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { runCli } from '../src/cli.js';
import { exportOnnxModelFolder } from '../src/onnx-model.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'lss-extract-bench-'));
await initBackend('wasm');
const synth = await generateSyntheticDataset({
  dir: join(dir, 'synth'),
  numClasses: 3,
  videosPerClass: 4,
  width: 64,
  height: 48,
  numFrames: 16,
  seed: 3,
});
const clip = await loadClip(CLIP_TINY_DIR, { video: true, numFrames: 4, root: 'bench' });
let k = 0;
for (const v of clip.vision.scope.variables().values()) v.assign(tf.add(v, tf.randomNormal(v.shape, 0, 0.05, 'float32', k++)));
const ckpt = writeTrainerCheckpoint(clip.vision, join(dir, 'ckpt'), { clip: CLIP_TINY_DIR });
clip.dispose();
const fp32 = (await exportOnnxModelFolder(ckpt, join(dir, 'onnx-fp32'))).dir;
const int8 = (await exportOnnxModelFolder(ckpt, join(dir, 'onnx-int8'), { quantize: 'int8' })).dir;
const clips = 12;
const runs: [string, string[]][] = [
  ['tfjs wasm', ['--model', ckpt, '--engine', 'tfjs']],
  ['ONNX fp32 (2 threads)', ['--model', fp32, '--engine', 'onnx', '--threads', '2']],
  ['ONNX int8 (2 threads)', ['--model', int8, '--engine', 'onnx', '--threads', '2']],
];
const common = [
  'knn',
  ...ucf101EvalArgs(synth, { splits: '1' }),
  '--no-cache',
  '--quiet',
  '--backend',
  'wasm',
  '--text-model',
  CLIP_TINY_DIR,
];
const times = new Map<string, number[]>(runs.map(([n]) => [n, []]));
const quiet = { stdout: () => {}, stderr: (t: string) => process.stderr.write(t) };
for (let round = 0; round <= ROUNDS; round++) {
  for (const [name, args] of runs) {
    const t0 = performance.now();
    const code = await runCli([...common, ...args, '--out', join(dir, 'out', `${round}-${name}`)], quiet);
    const s = (performance.now() - t0) / 1000;
    if (code !== 0) throw new Error(`${name} exited with ${code}`);
    if (round > 0) times.get(name)?.push(s); // round 0 warms up
    process.stderr.write(`round ${round}${round === 0 ? ' (warm-up)' : ''} ${name}: ${s.toFixed(2)} s\n`);
  }
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)] as number;
console.log('| engine | min s (12 clips) | median s | clips/s (median) |');
console.log('| --- | --- | --- | --- |');
for (const [name, t] of times)
  console.log(`| ${name} | ${Math.min(...t).toFixed(2)} | ${median(t).toFixed(2)} | ${(clips / median(t)).toFixed(2)} |`);
rmSync(dir, { recursive: true, force: true });
