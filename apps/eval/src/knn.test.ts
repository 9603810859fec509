import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectNoLeaks } from '@lss/testing';
import { describe, expect, it } from 'vitest';
import { knnAccuracy, knnScores } from './knn.js';
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

describe('k-NN top-1 / top-5 equal DINO knn_classifier (reference values, scripts/dino_knn_reference.py)', () => {
  const ref = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dino-knn.json'), 'utf8')) as {
    temperature: number;
    numClasses: number;
    dim: number;
    train: { features: number[]; labels: number[] };
    test: { features: number[]; labels: number[] };
    results: { k: number; top1: number; top5: number }[];
  };
  const set = (s: { features: number[]; labels: number[] }) => ({
    data: Float32Array.from(s.features),
    numSamples: s.labels.length,
    dim: ref.dim,
    labels: Int32Array.from(s.labels),
  });
  for (const { k, top1, top5 } of ref.results) {
    it(`k = ${k}: top-1 ${top1} %, top-5 ${top5} %`, () => {
      const scores = knnScores(set(ref.train), set(ref.test), { k, temperature: ref.temperature, numClasses: ref.numClasses });
      const accuracy = knnAccuracy(scores, ref.test.labels, Math.min(k, ref.train.labels.length));
      expect(accuracy.top1).toBeCloseTo(top1, 6);
      expect(accuracy.top5).toBeCloseTo(top5, 6);
    });
  }

  it('top-5 with k = 1 is top-1 (DINO), not 100 % over 4 classes', () => {
    const trainSet = { data: Float32Array.from([1, 0, 0, 1]), numSamples: 2, dim: 2, labels: Int32Array.from([0, 1]) };
    const testSet = { data: Float32Array.from([0.9, 0.1]), numSamples: 1, dim: 2, labels: Int32Array.from([1]) };
    const scores = knnScores(trainSet, testSet, { k: 1, numClasses: 4 });
    expect(knnAccuracy(scores, testSet.labels, 1)).toEqual({ top1: 0, top5: 0 });
  });
});
