import { autograd } from '@lss/core';
import { expectNoLeaks, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  addResidual,
  concatLean,
  geluFused,
  layerNormFused,
  linearFused,
  meanLean,
  quickGeluFused,
  reshapeLean,
  scaleLean,
  sliceLean,
} from './fused.js';

const randn = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);

/**
 * Value and gradients (w.r.t. every input) of `sum(op(...inputs) * r)` for the explicit-gradient op and
 * for the same maths written with tfjs primitives (differentiated by tfjs), as plain arrays.
 */
function compare(fused: (...xs: tf.Tensor[]) => tf.Tensor, reference: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[]): void {
  const run = (op: (...xs: tf.Tensor[]) => tf.Tensor) =>
    tf.tidy(() => {
      const y = op(...inputs);
      const r = randn(y.shape, 7);
      const g = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(op(...xs), r)))(inputs);
      return [y, ...g].map((t) => ({ shape: t.shape, data: Array.from(t.dataSync()) }));
    });
  const a = run(fused);
  const b = run(reference);
  expect(a.map((t) => t.shape)).toEqual(b.map((t) => t.shape));
  a.forEach((t, i) => {
    const scale = Math.max(1, ...b[i]!.data.map(Math.abs));
    expect(maxAbsDiff(t.data, b[i]!.data) / scale).toBeLessThan(2e-5);
  });
}

describe('explicit-gradient layers (fused.ts) equal tfjs autodiff of the same maths', () => {
  it('layerNormFused', () => {
    const ref = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b);
    };
    compare((x, g, b) => layerNormFused(x!, g!, b!, 1e-5), ref as never, [randn([2, 5, 16], 1), randn([16], 2), randn([16], 3)]);
    compare((x, g, b) => layerNormFused(x!, g!, b!, 1e-5), ref as never, [randn([7, 16], 4), randn([16], 5), randn([16], 6)]);
  });

  it('linearFused, with and without bias, any rank', () => {
    const ref = (x: tf.Tensor, k: tf.Tensor, b?: tf.Tensor) => {
      const y = tf.matMul(tf.reshape(x, [-1, x.shape[x.rank - 1]!]), k);
      return tf.reshape(b ? tf.add(y, b) : y, [...x.shape.slice(0, -1), k.shape[1]!]);
    };
    compare((x, k, b) => linearFused(x!, k!, b), ref as never, [randn([2, 3, 8], 1), randn([8, 5], 2), randn([5], 3)]);
    compare((x, k) => linearFused(x!, k!), ref as never, [randn([4, 8], 4), randn([8, 6], 5)]);
  });

  it('quickGeluFused and geluFused', () => {
    compare(
      (x) => quickGeluFused(x!),
      (x) => tf.mul(x!, tf.sigmoid(tf.mul(x!, 1.702))),
      [tf.mul(randn([3, 40], 1), 3)],
    );
    compare(
      (x) => geluFused(x!),
      (x) => tf.mul(tf.mul(x!, 0.5), tf.add(tf.erf(tf.mul(x!, Math.SQRT1_2)), 1)),
      [tf.mul(randn([3, 40], 2), 3)],
    );
  });

  it('addResidual, scaleLean, sliceLean, concatLean, reshapeLean, meanLean', () => {
    compare(
      (a, b) => addResidual(a!, b!),
      (a, b) => tf.add(a!, b!),
      [randn([3, 4], 1), randn([3, 4], 2)],
    );
    compare(
      (a, b) => addResidual(a!, b!),
      (a, b) => tf.add(a!, b!),
      [randn([3, 4], 1), randn([4], 2)],
    ); // broadcast falls back
    compare(
      (x) => scaleLean(x!, 0.125),
      (x) => tf.mul(x!, 0.125),
      [randn([2, 6], 3)],
    );
    compare(
      (x) => sliceLean(x!, [0, 1, 2], [2, 2, 3]),
      (x) => tf.slice(x!, [0, 1, 2], [2, 2, 3]),
      [randn([3, 4, 6], 4)],
    );
    compare(
      (a, b) => concatLean([a!, b!], 1),
      (a, b) => tf.concat([a!, b!], 1),
      [randn([2, 1, 4], 5), randn([2, 3, 4], 6)],
    );
    compare(
      (x) => reshapeLean(tf.transpose(x!, [1, 0, 2]), [6, 4]),
      (x) => tf.reshape(tf.transpose(x!, [1, 0, 2]), [6, 4]),
      [randn([2, 3, 4], 7)],
    );
    compare(
      (x) => meanLean(x!, 1),
      (x) => tf.mean(x!, 1),
      [randn([2, 5, 1, 4], 8)],
    );
  });

  it('keep less on the tape than the primitive ops (a linear layer saves its input and kernel only)', () => {
    const x = randn([64, 32], 1);
    const k = tf.variable(randn([32, 48], 2));
    const b = tf.variable(randn([48], 3));
    const savedBytes = (op: () => tf.Tensor) => {
      let bytes = 0;
      const { value, grads } = tf.variableGrads(() => {
        const y = op();
        const tape = (tf.engine().state as unknown as { activeTape: { saved?: tf.Tensor[] }[] }).activeTape;
        for (const node of tape) for (const t of node.saved ?? []) bytes += t.size * 4;
        return tf.sum(y) as tf.Scalar;
      }, [k, b]);
      tf.dispose([value, ...Object.values(grads)]);
      return bytes;
    };
    const fused = savedBytes(() => linearFused(x, k, b));
    const primitive = savedBytes(() => tf.add(tf.matMul(x, k), b));
    expect(fused).toBe((64 * 32 + 32 * 48) * 4); // x and the kernel
    expect(primitive).toBeGreaterThan(fused); // + the matMul output, kept by Add for its shape
    tf.dispose([x, k, b]);
  });

  it('leave no tensors behind under autograd.variableGrads', () => {
    const x = randn([2, 5, 16], 1);
    const g = tf.variable(randn([16], 2));
    const bt = tf.variable(randn([16], 3));
    const k = tf.variable(randn([16, 16], 4));
    expectNoLeaks(() => {
      const { value, grads } = autograd.variableGrads(
        () => tf.sum(addResidual(x, linearFused(quickGeluFused(layerNormFused(x, g, bt, 1e-5)), k))) as tf.Scalar,
        [g, bt, k],
      );
      tf.dispose([value, ...Object.values(grads)]);
    });
    tf.dispose([x, g, bt, k]);
  });
});
