/**
 * GPU check (bundled by prepare.sh into one file, run by run-on-gpu.sh on a machine with a CUDA PyTorch):
 * 1. kernel parity: a set of ops on the torch backend (LSS_TORCH_DEVICE, cuda there) against tfjs's cpu
 *    backend, forward and through tfjs's tape;
 * 2. timing: the ViT-B/16 video tower (divided space-time blocks, B=1, T=8, 224 px) forward and
 *    forward+backward on torch, 3 rounds, min / median (PyTorch's side: bench/torch_bench.py, same GPU).
 * Runs on CPU too (LSS_TORCH_DEVICE=cpu), which is how it was checked on the development machine.
 */
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { createVideoVit, dividedSpaceTimeBlock, Scope, visionPreset } from '@lss/backbone';
import { registerTorchBackend } from '@lss/backend-torch';
import * as tf from '@tensorflow/tfjs-core';

const info = registerTorchBackend({});
console.log(JSON.stringify({ event: 'torch', ...info }));

let seed = 7;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31 - 0.5;
};
const host = (shape: number[]) => ({ shape, values: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, rand) });
type Host = ReturnType<typeof host>;
const cases: Array<[string, Host[], (...x: tf.Tensor[]) => tf.Tensor | tf.Tensor[]]> = [
  // (tfjs's cpu kernel is wrong for two-sided batch broadcasting, so the reference cases broadcast one side)
  ['matMul batched', [host([4, 5, 7]), host([4, 7, 3])], (a, b) => tf.matMul(a!, b!)],
  ['matMul one-sided broadcast', [host([3, 5, 7]), host([7, 6])], (a, b) => tf.matMul(a!, b!)],
  ['attention', [host([12, 197, 64]), host([12, 197, 64])], (q, k) => tf.softmax(tf.matMul(q!, tf.transpose(k!, [0, 2, 1])))],
  [
    'layernorm+erf',
    [host([8, 768])],
    (x) => tf.erf(tf.div(tf.sub(x!, tf.mean(x!, -1, true)), tf.sqrt(tf.add(tf.mean(tf.square(x!), -1, true), 1e-5)))),
  ],
  [
    'slice/concat/pad/tile',
    [host([4, 6])],
    (x) =>
      tf.pad(tf.concat([tf.slice(x!, [0, 1], [4, 3]), tf.tile(x!, [1, 2])], 1), [
        [1, 0],
        [0, 2],
      ]),
  ],
  ['reductions', [host([3, 5, 7])], (x) => [tf.sum(x!, 1), tf.max(x!, 2), tf.argMax(x!, 2), tf.topk(x!, 3).indices]],
  ['gather/split/stack', [host([9, 4])], (x) => tf.stack(tf.split(tf.gather(x!, tf.tensor1d([0, 8, 3, 3], 'int32')), 2, 0))],
  [
    'grad attention',
    [host([2, 10, 16]), host([16, 16])],
    (x, w) =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.softmax(tf.matMul(tf.reshape(tf.matMul(tf.reshape(a, [-1, 16]), b), [2, 10, 16]), tf.transpose(a, [0, 2, 1])))),
      )([x!, w!]),
  ],
];
const run = (backend: string, c: (typeof cases)[number]) => {
  tf.setBackend(backend);
  const xs = c[1].map((h) => tf.tensor(h.values, h.shape));
  const out = c[2](...xs);
  const outs = Array.isArray(out) ? out : [out];
  const vals = outs.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) }));
  tf.dispose([...xs, ...outs]);
  return vals;
};
let failed = 0;
for (const c of cases) {
  const ref = run('cpu', c);
  const got = run('torch', c);
  let worst = 0;
  ref.forEach((r, i) => {
    const g = got[i]!;
    if (JSON.stringify(g.shape) !== JSON.stringify(r.shape)) worst = Number.POSITIVE_INFINITY;
    r.values.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - (g.values[j] as number)) / (1 + Math.abs(v)));
    });
  });
  const ok = worst < 1e-4;
  if (!ok) failed++;
  console.log(JSON.stringify({ event: 'parity', case: c[0], worstRelDiff: worst, ok }));
}

// LSS_CHECK_BLOCKS: tower depth (default 12; 0 skips the timing, as on the loaded development machine)
const BLOCKS = Number(process.env.LSS_CHECK_BLOCKS ?? 12);
if (BLOCKS === 0) process.exit(failed ? 1 : 0);
tf.setBackend('torch');
const config = visionPreset('ViT-B/16', { numFrames: 8, layers: BLOCKS });
const tower = createVideoVit(config, new Scope('gpu', { seed: 1 }));
const T = 8;
const S = (config.imageSize / config.patchSize) ** 2;
const x = tf.randomNormal([1, 1 + T * S, config.width], 0, 1, 'float32', 3);
const options = { heads: config.heads, layerNormEps: config.layerNormEps, activation: config.activation };
const forward = () => {
  let h: tf.Tensor = x;
  for (const w of tower.weights.blocks) h = dividedSpaceTimeBlock(h, w, options, T, false);
  return h;
};
const trainable = tower.trainableVariables();
const timeIt = async (f: () => tf.Tensor[]) => {
  const t0 = performance.now();
  const outs = f();
  await Promise.all(outs.map((o) => o.data()));
  tf.dispose(outs);
  return (performance.now() - t0) / 1000;
};
const fwd = () => [tf.tidy(forward)];
const fwdBwd = () => {
  const { value, grads } = tf.variableGrads(() => tf.sum(forward()) as tf.Scalar, trainable);
  return [value, ...Object.values(grads)];
};
await timeIt(fwdBwd); // warm-up
const times: Record<string, number[]> = { forward: [], forwardBackward: [] };
for (let r = 0; r < 3; r++) {
  times.forward!.push(await timeIt(fwd));
  times.forwardBackward!.push(await timeIt(fwdBwd));
}
const mm = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return { min: s[0], median: s[1] };
};
console.log(
  JSON.stringify({ event: 'tower', blocks: config.layers, forward: mm(times.forward!), forwardBackward: mm(times.forwardBackward!) }),
);
process.exit(failed ? 1 : 0);
