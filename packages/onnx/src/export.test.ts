import { ConfigError, ShapeError } from '@lss/core';
import { maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { exportToOnnx, ONNX_OPSET } from './export.js';
import { traceKernels } from './trace.js';

async function runOnnx(bytes: Uint8Array, name: string, x: tf.Tensor): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const s = await ort.InferenceSession.create(bytes);
  try {
    const out = await s.run({ [s.inputNames[0] as string]: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape) });
    const y = out[name];
    return { data: y?.data as Float32Array, dims: y?.dims ?? [] };
  } finally {
    await s.release();
  }
}

describe('exportToOnnx (kernel tracing)', () => {
  const w = tf.randomNormal([6, 12], 0, 0.3, 'float32', 1);
  const bias = tf.randomNormal([12], 0, 0.3, 'float32', 2);
  const table = tf.randomNormal([10, 4], 0, 1, 'float32', 3);
  // Many kernels, batch-dependent reshapes/slices/ranges, a constant-only split that gets folded.
  const fn = (x: tf.Tensor) => {
    const [B, N] = x.shape as [number, number, number];
    const [w1, w2] = tf.split(w, [8, 4], 1);
    const h = tf.add(tf.matMul(tf.reshape(x, [B * N, 6]), w1 as tf.Tensor), tf.slice(bias, [0], [8])); // [(B N), 8]
    const h3 = tf.reshape(tf.sigmoid(h), [B, N, 8]);
    const att = tf.softmax(tf.matMul(h3, h3, false, true), -1); // [B, N, N], transposeB flag
    const pooled = tf.mean(tf.matMul(att, h3), 1); // [B, 8]
    const side = tf.matMul(tf.reshape(x, [B * N, 6]), w2 as tf.Tensor); // [(B N), 4]
    const arg = tf.argMax(tf.reshape(side, [B, N, 4]), 1); // [B, 4] int32 in 0..N-1
    const offsets = tf.cast(tf.add(arg, tf.reshape(tf.range(0, B * 4, 4, 'int32'), [B, 1])), 'float32'); // [B, 4]
    const picked = tf.gather(table, tf.reshape(arg, [B * 4])); // [B*4, 4]
    const g = tf.concat([tf.reshape(picked, [B, 16]), offsets], 1); // [B, 20]
    const stacked = tf.stack([tf.sum(g, 1), tf.max(g, 1)], 1); // [B, 2]
    const tiled = tf.tile(tf.slice(x, [0, 0, 0], [B, 1, 6]), [1, 2, 1]); // [B, 2, 6]
    return tf.concat([pooled, stacked, tf.reshape(tf.rsqrt(tf.add(tf.square(tiled), 1)), [B, 12])], 1); // [B, 22]
  };

  it('matches tfjs at batch 1, 3 and 5 (dynamic batch), opset 17', async () => {
    const ex = exportToOnnx(fn, { inputName: 'x', outputName: 'y', itemShape: [5, 6] });
    for (const B of [1, 3, 5]) {
      const x = tf.randomNormal([B, 5, 6], 0, 1, 'float32', B);
      const ref = fn(x).dataSync() as Float32Array;
      const y = await runOnnx(ex.bytes, 'y', x);
      expect(y.dims).toEqual([B, 22]);
      expect(maxAbsDiff(y.data, ref)).toBeLessThan(1e-5);
    }
    expect(ONNX_OPSET).toBe(17);
  });

  it('folds kernels of constants only (the weight split) and leaves no unused initialisers', () => {
    const trace = traceKernels(fn, tf.zeros([1, 5, 6]), { readConstants: true });
    const split = trace.ops.find((o) => o.kernel === 'SplitV');
    expect(split?.constantOutputs).toHaveLength(2);
    const ex = exportToOnnx(fn, { inputName: 'x', outputName: 'y', itemShape: [5, 6] });
    expect(ex.kernels).toBe(trace.ops.length);
    expect(ex.nodes).toBeLessThan(3 * trace.ops.length);
  });

  it('int8: linear weights quantised, output close (cosine > 0.999)', async () => {
    const lin = (x: tf.Tensor) => tf.relu(tf.add(tf.matMul(x, w), bias));
    const q = exportToOnnx(lin, { inputName: 'x', outputName: 'y', itemShape: [6], quantize: 'int8' });
    expect(q.quantizedLinears).toBe(1);
    const x = tf.randomNormal([4, 6], 0, 1, 'float32', 9);
    const ref = lin(x).dataSync() as Float32Array;
    const y = await runOnnx(q.bytes, 'y', x);
    let ab = 0;
    let aa = 0;
    let bb = 0;
    ref.forEach((r, i) => {
      ab += r * (y.data[i] as number);
      aa += r * r;
      bb += (y.data[i] as number) ** 2;
    });
    expect(ab / Math.sqrt(aa * bb)).toBeGreaterThan(0.999);
  });

  it('a kernel without translation is a ConfigError naming it', () => {
    expect(() => exportToOnnx((x) => tf.cumsum(x, 1), { inputName: 'x', outputName: 'y', itemShape: [3] })).toThrow(ConfigError);
    expect(() => exportToOnnx((x) => tf.cumsum(x, 1), { inputName: 'x', outputName: 'y', itemShape: [3] })).toThrow(
      /tfjs kernel Cumsum .* has no ONNX translation/,
    );
  });

  it('a constant whose shape depends on the batch size is a ShapeError', () => {
    const bad = (x: tf.Tensor) => tf.add(x, tf.ones(x.shape));
    expect(() => exportToOnnx(bad, { inputName: 'x', outputName: 'y', itemShape: [3] })).toThrow(ShapeError);
  });
});
