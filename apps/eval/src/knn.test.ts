import { expectNoLeaks } from '@lss/testing';
import { describe, expect, it } from 'vitest';
import { knnScores } from './knn.js';
import { computeSplitMetrics } from './metrics.js';
import { gaussianClusters, shuffleLabels } from './test-helpers.js';

describe('weighted k-NN (DINO/SVT)', () => {
  const { train, test } = gaussianClusters({
    numClasses: 5,
    dim: 16,
    trainPerClass: 40,
    testPerClass: 100,
    separation: 3,
    noise: 0.4,
    seed: 1,
  });

  it('reaches ~100% on linearly separable features', () => {
    const scores = expectNoLeaks(() => knnScores(train, test));
    expect(computeSplitMetrics(scores, test.labels).top1).toBeGreaterThanOrEqual(99);
  });

  it('is at chance on shuffled labels', () => {
    const scores = knnScores(shuffleLabels(train, 7), shuffleLabels(test, 8));
    const top1 = computeSplitMetrics(scores, shuffleLabels(test, 8).labels).top1;
    expect(Math.abs(top1 - 20)).toBeLessThan(6);
  });

  it('weights the k nearest votes by exp(sim / T)', () => {
    // Train: 3 unit vectors; test = one vector. Hand computation of DINO's vote.
    const trainSet = { data: Float32Array.from([1, 0, 0, 1, 0.6, 0.8]), numSamples: 3, dim: 2, labels: Int32Array.from([0, 1, 1]) };
    const testSet = { data: Float32Array.from([2, 0]), numSamples: 1, dim: 2, labels: Int32Array.from([0]) };
    const s = knnScores(trainSet, testSet, { k: 2, temperature: 0.5 });
    // similarities 1, 0, 0.6 → k=2 picks 1 (class 0) and 0.6 (class 1)
    expect(s.data[0]).toBeCloseTo(Math.exp(1 / 0.5), 4);
    expect(s.data[1]).toBeCloseTo(Math.exp(0.6 / 0.5), 4);
  });
});
