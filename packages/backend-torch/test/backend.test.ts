/**
 * The torch backend's contract beyond kernel values: two-sided BatchMatMul broadcasting against a plain-JS
 * oracle, errors that name the kernel and shapes (and never abort the process), missing kernels, int64
 * results cast back to int32, storage (reads copy, async reads, live handles back to baseline).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { TorchKernelError, torchMemory } from '../src/index.js';
import { matMulOracle, randomHost, rng, worstDiff } from './helpers.js';

describe('BatchMatMul', () => {
  it('broadcasts batch dimensions on both sides: [2,1,3,4] x [5,4,6] -> [2,5,3,6] (tfjs cpu/wasm get this wrong)', () => {
    const r = rng(3);
    const a = randomHost(r, [2, 1, 3, 4]);
    const b = randomHost(r, [5, 4, 6]);
    const oracle = matMulOracle(a, b);
    const out = tf.tidy(() => tf.matMul(tf.tensor(a.values, [...a.shape]), tf.tensor(b.values, [...b.shape])));
    expect(out.shape).toEqual([2, 5, 3, 6]);
    expect(oracle.shape).toEqual([2, 5, 3, 6]);
    expect(worstDiff(Array.from(out.dataSync()), oracle.values)).toBeLessThan(1e-6);
    out.dispose();
  });
  it('matches the oracle for [3,1,2,5] x [1,4,5,2] and [7,3] x [2,3,4]', () => {
    const r = rng(4);
    for (const [sa, sb] of [
      [
        [3, 1, 2, 5],
        [1, 4, 5, 2],
      ],
      [
        [7, 3],
        [2, 3, 4],
      ],
    ] as const) {
      const a = randomHost(r, sa);
      const b = randomHost(r, sb);
      const oracle = matMulOracle(a, b);
      const out = tf.tidy(() => tf.matMul(tf.tensor(a.values, [...sa]), tf.tensor(b.values, [...sb])));
      expect(out.shape).toEqual(oracle.shape);
      expect(worstDiff(Array.from(out.dataSync()), oracle.values)).toBeLessThan(1e-6);
      out.dispose();
    }
  });
});

describe('errors', () => {
  it('turns a libtorch exception into a TorchKernelError naming the kernel and shapes; the process goes on', () => {
    const a = tf.ones([2, 3]);
    const b = tf.ones([4, 5]);
    let caught: unknown;
    try {
      // tfjs checks inner dimensions of matMul itself; the raw kernel gets the mismatched shapes.
      tf.engine().runKernel('BatchMatMul', { a, b }, { transposeA: false, transposeB: false });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TorchKernelError);
    const message = (caught as Error).message;
    expect(message).toMatch(/^BatchMatMul failed on the torch backend/);
    expect(message).toContain('a: float32[2, 3]');
    expect(message).toContain('b: float32[4, 5]');
    expect(message).toMatch(/cannot be multiplied/);
    // still alive and computing
    expect(Array.from(tf.tidy(() => tf.sum(tf.add(a, 1))).dataSync())).toEqual([12]);
    tf.dispose([a, b]);
  });
  it('a kernel it lacks fails naming the kernel and a backend that has it', () => {
    const x = tf.ones([1, 4, 4, 1]);
    const w = tf.ones([2, 2, 1, 1]);
    expect(() => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')).toThrow(
      /Kernel 'Conv2D' is not implemented by the torch backend .*The cpu backend has it/,
    );
    tf.dispose([x, w]);
  });
  it('rejects string tensors with the dtypes it holds', () => {
    expect(() => tf.tensor(['a'])).toThrow(/float32, int32 and bool.*received dtype string/);
  });
});

describe('dtypes', () => {
  it('casts libtorch int64 results (ArgMax, TopK indices, Range, int Sum) back to int32', () => {
    const results = tf.tidy(() => [
      tf.argMax(tf.tensor1d([1, 5, 2])),
      tf.topk(tf.tensor1d([1, 5, 2]), 2).indices,
      tf.range(0, 4, 1, 'int32'),
      tf.sum(tf.tensor1d([1, 2, 3], 'int32')),
    ]);
    for (const t of results) {
      expect(t.dtype).toBe('int32');
      expect(t.dataSync()).toBeInstanceOf(Int32Array);
    }
    expect(Array.from(results[1]!.dataSync())).toEqual([1, 2]);
    tf.dispose(results);
  });
});

describe('storage', () => {
  it('reads copy out: a read array is not a view of libtorch memory', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const first = x.dataSync() as Float32Array;
    first[0] = 100;
    expect(Array.from(x.dataSync())).toEqual([1, 2, 3]);
    x.dispose();
  });
  it('reads asynchronously', async () => {
    const x = tf.tidy(() => tf.mul(tf.tensor1d([1, 2, 3]), 2));
    expect(Array.from(await x.data())).toEqual([2, 4, 6]);
    x.dispose();
  });
  it('frees native handles: live handles return to baseline and match tfjs data buffers', () => {
    const before = torchMemory().handles;
    const beforeBuffers = tf.memory().numDataBuffers;
    const y = tf.tidy(() => {
      const x = tf.randomNormal([4, 8]);
      const parts = tf.split(x, 2, 1);
      return tf.sum(tf.matMul(parts[0]!, tf.transpose(parts[1]!)));
    });
    expect(torchMemory().handles - before).toBe(tf.memory().numDataBuffers - beforeBuffers);
    y.dispose();
    expect(torchMemory().handles).toBe(before);
    const m = tf.memory() as tf.MemoryInfo & { numHandles: number; numBytesInTorch: number };
    expect(m.numHandles).toBe(before);
    expect(typeof m.numBytesInTorch).toBe('number');
  });
  it('gradients through the tape leave no native handle behind', () => {
    const before = torchMemory().handles;
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.softmax(tf.matMul(v, v))))(x);
    tf.dispose([x, g]);
    expect(torchMemory().handles).toBe(before);
  });
});
