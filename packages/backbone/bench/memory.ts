/**
 * Peak memory of one training step of the full ViT-B/16 video tower (12 blocks, B=1, T=8, 224 px) on
 * wasm, with a frozen teacher forward as in training. Slow (minutes); not part of `bench`.
 *
 * Usage: tsx --conditions=@lss/source bench/memory.ts [nested|block|branches]
 */
import { initBackend } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { createStudentTeacher } from '../src/index.js';

const mode = (process.argv[2] ?? 'nested') as 'nested' | 'block' | 'branches';
await initBackend('wasm');
const { student, teacher } = createStudentTeacher('ViT-B/16');
const video = tf.randomNormal([1, 8, 224, 224, 3]);
const heap = () => ((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength / 2 ** 20).toFixed(0);
const base = tf.memory().numBytes;
console.log(`student + teacher + input: ${(base / 2 ** 20).toFixed(0)} MiB of tensors, wasm heap ${heap()} MiB`);
const t0 = performance.now();
const info = await tf.profile(() => {
  const target = tf.tidy(() => teacher.call(video));
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.mul(student.call(video, { training: true, recompute: mode }), target)) as tf.Scalar,
  );
  tf.dispose([target, value, ...Object.values(grads)]);
});
console.log(
  `recompute ${mode}: peak ${(info.peakBytes / 2 ** 20).toFixed(0)} MiB of tensors (${((info.peakBytes - base) / 2 ** 20).toFixed(0)} above weights), wasm heap now ${heap()} MiB, ${((performance.now() - t0) / 1000).toFixed(0)} s`,
);
