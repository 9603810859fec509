/**
 * The batch-statistics hook (`BatchMean`): where a distributed trainer turns a local mean into the
 * global batch's. Simulated here with two "ranks" whose rows are split: the hook that averages in the
 * other rank's mean must give exactly the statistic of the concatenated batch.
 */
import { allClose } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { updateCenter } from './dino-loss.js';
import type { BatchMean } from './types.js';
import { klToUniform } from './uniform-prior.js';

afterEach(() => tf.disposeVariables());

/** A hook that combines the local mean with another rank's rows (a stand-in for an all-reduce). */
function withOtherRank(other: tf.Tensor2D, transform: (rows: tf.Tensor2D) => tf.Tensor2D): BatchMean {
  return (localMean, localRows) =>
    tf.tidy(() => {
      const otherRows = other.shape[0];
      const otherMean = tf.reshape(tf.mean(transform(other), 0), localMean.shape);
      return tf.div(tf.add(tf.mul(localMean, localRows), tf.mul(otherMean, otherRows)), localRows + otherRows);
    });
}

describe('BatchMean hook', () => {
  it("uniform prior: the hook's global p̄ gives the KL of the whole batch, not of the local rows", () => {
    const a = tf.randomNormal([3, 5], 0, 0.05, 'float32', 1) as tf.Tensor2D;
    const b = tf.randomNormal([5, 5], 0, 0.05, 'float32', 2) as tf.Tensor2D;
    const tau = 0.01;
    const whole = klToUniform([tf.concat([a, b], 0) as tf.Tensor2D], tau);
    const local = klToUniform([a], tau);
    const hooked = klToUniform(
      [a],
      tau,
      withOtherRank(b, (rows) => tf.softmax(tf.div(rows, tau)) as tf.Tensor2D),
    );
    expect(allClose(hooked.dataSync(), whole.dataSync(), 1e-5, 1e-5).ok).toBe(true);
    expect(Math.abs((local.dataSync()[0] as number) - (whole.dataSync()[0] as number))).toBeGreaterThan(1e-3);
    tf.dispose([a, b, whole, local, hooked]);
  });

  it('centre: the hook makes the centre update use the whole batch (DINO all_reduce)', () => {
    const center = tf.zeros([1, 4]);
    const a = tf.randomNormal([2, 4], 0, 1, 'float32', 3) as tf.Tensor2D;
    const b = tf.randomNormal([6, 4], 0, 1, 'float32', 4) as tf.Tensor2D;
    const whole = updateCenter(center, [tf.concat([a, b], 0) as tf.Tensor2D], 0.9);
    const hooked = updateCenter(
      center,
      [a],
      0.9,
      withOtherRank(b, (rows) => rows),
    );
    expect(allClose(hooked.dataSync(), whole.dataSync(), 1e-6, 1e-5).ok).toBe(true);
    tf.dispose([center, a, b, whole, hooked]);
  });
});
