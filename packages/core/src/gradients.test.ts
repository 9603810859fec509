import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, describe, expect, it } from 'vitest';
import { withOriginalGradient } from './gradients.js';
import { SeededRandom } from './random.js';

const rng = new SeededRandom(99);
const randn = (shape: number[]) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);

/** Gradients of sum(matMul(a, b, tA, tB) * r) with respect to a and b, as plain arrays. */
function matMulGrads(a: tf.Tensor, b: tf.Tensor, r: tf.Tensor, tA: boolean, tB: boolean): number[][] {
  return tf.tidy(() => {
    const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, tA, tB), r)));
    return g([a, b]).map((t) => Array.from(t.dataSync()));
  });
}

/** Plain-JS gradients of sum((A @ B) * R) with numpy broadcasting over batch dims: the test's oracle. */
function naiveBroadcastGrads(a: tf.Tensor, b: tf.Tensor, r: tf.Tensor, outBatch: number[]): number[][] {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.rank - 1] as number;
  const A = a.dataSync();
  const B = b.dataSync();
  const R = r.dataSync();
  const dA = new Array(a.size).fill(0);
  const dB = new Array(b.size).fill(0);
  const numBatch = outBatch.reduce((x, y) => x * y, 1);
  // Maps a flat output batch index to the flat batch index of an input with batch shape `shape`.
  const inputBatchIndex = (flat: number, shape: number[]): number => {
    const idx: number[] = [];
    let rest = flat;
    for (let d = outBatch.length - 1; d >= 0; d--) {
      idx.unshift(rest % (outBatch[d] as number));
      rest = Math.floor(rest / (outBatch[d] as number));
    }
    const offset = outBatch.length - shape.length;
    let out = 0;
    for (let d = 0; d < shape.length; d++)
      out = out * (shape[d] as number) + ((shape[d] as number) === 1 ? 0 : (idx[d + offset] as number));
    return out;
  };
  for (let bi = 0; bi < numBatch; bi++) {
    const ai = inputBatchIndex(bi, a.shape.slice(0, -2));
    const bj = inputBatchIndex(bi, b.shape.slice(0, -2));
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        const g = R[bi * m * n + i * n + j] as number;
        for (let p = 0; p < k; p++) {
          dA[ai * m * k + i * k + p] += g * (B[bj * k * n + p * n + j] as number);
          dB[bj * k * n + p * n + j] += g * (A[ai * m * k + i * k + p] as number);
        }
      }
  }
  return [dA, dB];
}

function expectClose(x: number[], y: number[]): void {
  expect(x.length).toBe(y.length);
  for (let i = 0; i < x.length; i++)
    expect(Math.abs((x[i] as number) - (y[i] as number))).toBeLessThan(1e-4 * (1 + Math.abs(y[i] as number)));
}

const original = tf.getBackend();
afterAll(async () => {
  await tf.setBackend(original);
});

for (const backend of ['cpu', 'wasm']) {
  describe(`BatchMatMul gradient fix on ${backend}`, () => {
    it('matches tfjs default gradients for every transpose combination, 2-D and batched', async () => {
      await tf.setBackend(backend);
      for (const [batch, m, k, n] of [
        [[], 3, 4, 5],
        [[2], 3, 4, 5],
        [[2, 3], 5, 2, 4],
        [[1], 1, 7, 1],
      ] as Array<[number[], number, number, number]>) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            const a = randn([...batch, ...(tA ? [k, m] : [m, k])]);
            const b = randn([...batch, ...(tB ? [n, k] : [k, n])]);
            const r = randn([...batch, m, n]);
            const fixed = matMulGrads(a, b, r, tA, tB);
            const reference = withOriginalGradient('BatchMatMul', () => matMulGrads(a, b, r, tA, tB));
            expectClose(fixed[0] as number[], reference[0] as number[]);
            expectClose(fixed[1] as number[], reference[1] as number[]);
            tf.dispose([a, b, r]);
          }
        }
      }
    });

    it('reduces over broadcast batch dimensions (compared with explicit tiling)', async () => {
      await tf.setBackend(backend);
      for (const [aShape, bShape] of [
        [
          [1, 3, 4],
          [5, 4, 2],
        ],
        [
          [6, 3, 4],
          [4, 2],
        ],
        [
          [3, 4],
          [2, 2, 4, 5],
        ],
        // Two-sided broadcasting such as [2,1,..] x [1,3,..] is not tested: the tfjs kernels flatten batch
        // dims and index them modulo their size, so the forward pass itself differs from numpy there.
        [
          [1, 1, 3, 4],
          [2, 3, 4, 2],
        ],
      ] as Array<[number[], number[]]>) {
        const a = randn(aShape);
        const b = randn(bShape);
        const outBatch = tf.backend_util.assertAndGetBroadcastShape(aShape.slice(0, -2), bShape.slice(0, -2));
        const m = aShape[aShape.length - 2] as number;
        const n = bShape[bShape.length - 1] as number;
        const r = randn([...outBatch, m, n]);
        const fixed = matMulGrads(a, b, r, false, false);
        const reference = naiveBroadcastGrads(a, b, r, outBatch);
        expect(fixed[0]?.length).toBe(a.size);
        expect(fixed[1]?.length).toBe(b.size);
        expectClose(fixed[0] as number[], reference[0] as number[]);
        expectClose(fixed[1] as number[], reference[1] as number[]);
        tf.dispose([a, b, r]);
      }
    });
  });
}
