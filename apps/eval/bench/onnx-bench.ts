/**
 * One clip (8 frames, 224 px) through a ViT-B/16 video tower with divided space-time attention (random
 * weights): ONNX Runtime fp32 and int8 (onnxruntime-node, exported by @lss/onnx from the tfjs tower),
 * tfjs wasm, tfjs torch (when the backend loads) and PyTorch fp32 (bench/onnx_bench_torch.py, same
 * architecture, its own random weights). Interleaved: every round runs every engine twice and times the
 * second run (PyTorch's script, one process per round, does the same: an untimed warm-up forward, then the
 * timed one), because the first call after another engine or process has used the cores is several
 * times slower on this machine and would otherwise be charged to the in-process engines only; min / median.
 *
 * Usage (from apps/eval): nice -n 10 npx tsx --conditions=@lss/source bench/onnx-bench.ts [ROUNDS=3] [THREADS=2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scope, VisionTower, visionPreset } from '@lss/backbone';
import { initBackend } from '@lss/core';
import { buildOnnx, traceForExport } from '@lss/onnx';
import { createOnnxSession } from '@lss/onnx/node';
import * as tf from '@tensorflow/tfjs-core';

const ROUNDS = Number(process.argv[2] ?? 3);
const THREADS = Number(process.argv[3] ?? 2);
const T = 8;
const R = 224;
const here = dirname(fileURLToPath(import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'lss-onnx-bench-'));
const log = (s: string) => process.stderr.write(`${s}\n`);

await initBackend('wasm');
const config = visionPreset('ViT-B/16', { temporal: true, numFrames: T });
const wasmTower = new VisionTower(config, new Scope('benchwasm'));
// Random temporal weights (the constructor zero-initialises the temporal output projection).
for (const [p, v] of wasmTower.scope.variables()) if (p.includes('temporal')) v.assign(tf.randomNormal(v.shape, 0, 0.02, 'float32', 1));
const x = tf.randomNormal([1, T, R, R, 3], 0, 1, 'float32', 2) as tf.Tensor5D;
const xData = x.dataSync() as Float32Array;

const files: Record<string, string> = {};
const t0 = performance.now();
const exportOptions = { inputName: 'pixel_values', outputName: 'video_embeds', itemShape: [T, R, R, 3] };
const traces = traceForExport((v) => wasmTower.call(v as tf.Tensor5D), exportOptions);
log(`trace (2 tfjs wasm forwards, batch 1 and 2): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
for (const q of [undefined, 'int8'] as const) {
  const t1 = performance.now();
  const ex = buildOnnx(traces, { ...exportOptions, ...(q ? { quantize: q } : {}) });
  const f = join(tmp, `video_${q ?? 'fp32'}.onnx`);
  writeFileSync(f, ex.bytes);
  files[q ?? 'fp32'] = f;
  log(
    `build ${q ?? 'fp32'}: ${((performance.now() - t1) / 1000).toFixed(1)} s, ${(ex.bytes.length / 1e6).toFixed(0)} MB, ${ex.nodes} nodes, ${ex.quantizedLinears} int8 linears`,
  );
}
const ortFp32 = await createOnnxSession(files.fp32 as string, { threads: THREADS });
const ortInt8 = await createOnnxSession(files.int8 as string, { threads: THREADS });

let torchTower: VisionTower | undefined;
let xTorch: tf.Tensor5D | undefined;
try {
  await initBackend('torch', { threads: THREADS });
  torchTower = new VisionTower(config, new Scope('benchtorch'));
  xTorch = tf.tensor5d(xData, [1, T, R, R, 3]);
  await tf.setBackend('wasm');
} catch (e) {
  log(`tfjs torch backend not run: ${(e as Error).message.split('\n')[0]}`);
  await tf.setBackend('wasm');
}

async function timeTfjs(backend: string, tower: VisionTower, input: tf.Tensor5D): Promise<number> {
  await tf.setBackend(backend);
  const t0 = performance.now();
  const y = tf.tidy(() => tower.call(input));
  y.dataSync();
  const s = (performance.now() - t0) / 1000;
  y.dispose();
  return s;
}

const engines: [string, () => Promise<number>][] = [
  [
    'ORT fp32',
    async () => {
      const t0 = performance.now();
      await ortFp32.run(xData, [1, T, R, R, 3]);
      return (performance.now() - t0) / 1000;
    },
  ],
  [
    'ORT int8',
    async () => {
      const t0 = performance.now();
      await ortInt8.run(xData, [1, T, R, R, 3]);
      return (performance.now() - t0) / 1000;
    },
  ],
  ['tfjs wasm (1 thread)', () => timeTfjs('wasm', wasmTower, x)],
  ...(torchTower && xTorch
    ? ([['tfjs torch', () => timeTfjs('torch', torchTower as VisionTower, xTorch as tf.Tensor5D)]] as [string, () => Promise<number>][])
    : []),
  [
    'PyTorch fp32',
    async () => {
      const r = spawnSync('/usr/bin/python3', [join(here, 'onnx_bench_torch.py'), String(T), String(THREADS)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`PyTorch failed: ${r.stderr}`);
      return (JSON.parse(r.stdout.trim().split('\n').at(-1) as string) as { seconds: number }).seconds;
    },
  ],
];
// Warm-up (not timed): first ORT runs allocate, first tfjs calls compile/upload.
for (const [name, run] of engines) if (name !== 'PyTorch fp32') await run();
const times = new Map<string, number[]>(engines.map(([n]) => [n, []]));
for (let round = 1; round <= ROUNDS; round++) {
  for (const [name, run] of engines) {
    if (name !== 'PyTorch fp32') await run(); // untimed, as PyTorch's own warm-up forward
    const s = await run();
    times.get(name)?.push(s);
    log(`round ${round} ${name}: ${s.toFixed(3)} s`);
  }
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)] as number;
const torchMed = median(times.get('PyTorch fp32') ?? [Number.NaN]);
console.log(
  `| engine (${THREADS} threads unless noted) | min s/clip | median s/clip | clips/s (median) | PyTorch median / engine median |`,
);
console.log('| --- | --- | --- | --- | --- |');
for (const [name, t] of times) {
  const med = median(t);
  console.log(`| ${name} | ${Math.min(...t).toFixed(3)} | ${med.toFixed(3)} | ${(1 / med).toFixed(2)} | ${(torchMed / med).toFixed(2)}x |`);
}
// The engines must compute the same thing: ORT's outputs against the tfjs tower's on the same clip.
{
  const ref = tf.tidy(() => wasmTower.call(x).dataSync() as Float32Array);
  const scale = Math.max(...Array.from(ref, Math.abs));
  for (const [name, s] of [
    ['ORT fp32', ortFp32],
    ['ORT int8', ortInt8],
  ] as const) {
    const y = (await s.run(xData, [1, T, R, R, 3])).data;
    let maxDiff = 0;
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let i = 0; i < ref.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs((y[i] as number) - (ref[i] as number)));
      dot += (y[i] as number) * (ref[i] as number);
      na += (y[i] as number) ** 2;
      nb += (ref[i] as number) ** 2;
    }
    console.log(
      `${name} vs tfjs wasm on the benchmark clip: max |diff| ${maxDiff.toExponential(2)} (output scale ${scale.toFixed(3)}), cosine ${(dot / Math.sqrt(na * nb)).toFixed(6)}`,
    );
  }
}
await ortFp32.release();
await ortInt8.release();
rmSync(tmp, { recursive: true, force: true });
