import { describe, expect, it } from 'vitest';
import { computeSplitMetrics, confusionMatrix, formatMeanStd, meanStd, topKAccuracy } from './metrics.js';

describe('meanStd over splits', () => {
  it('uses the sample std (n - 1) and prints one decimal', () => {
    // Fixed per-split numbers: mean 74, deviations -0.6, +0.6, 0 → Σ = 0.72, /(3-1) = 0.36, sqrt = 0.6
    const r = meanStd([73.4, 74.6, 74.0]);
    expect(r.mean).toBeCloseTo(74.0, 12);
    expect(r.std).toBeCloseTo(0.6, 12);
    expect(r.numSplits).toBe(3);
    expect(formatMeanStd(r)).toBe('74.0 ± 0.6');
    // The population std would be 0.4899: make sure we are not computing that.
    expect(Math.abs(r.std - Math.sqrt(0.72 / 3))).toBeGreaterThan(0.1);
  });
  it('matches numpy.std(ddof=1) on uneven numbers', () => {
    // numpy: np.mean([47.1, 48.6, 47.9]) = 47.866666..., np.std(..., ddof=1) = 0.750555...
    const r = meanStd([47.1, 48.6, 47.9]);
    expect(r.mean).toBeCloseTo(47.866666666666667, 10);
    expect(r.std).toBeCloseTo(0.7505553499465139, 10);
    expect(formatMeanStd(r)).toBe('47.9 ± 0.8');
  });
  it('reports a single split without a std', () => {
    expect(formatMeanStd(meanStd([67.25]))).toBe('67.3');
    expect(() => meanStd([])).toThrow(/at least one split/);
  });
});

describe('top-k accuracy and confusion', () => {
  const scores = {
    // 3 samples x 6 classes
    data: Float64Array.from([
      // sample 0: best 0, then 1..5
      6, 5, 4, 3, 2, 1,
      // sample 1: best 5, label 0 ranked last
      0, 1, 2, 3, 4, 5,
      // sample 2: tie between 2 and 3: lowest index wins
      0, 0, 9, 9, 0, 0,
    ]),
    shape: [3, 6] as [number, number],
  };
  it('counts top-1 and top-5 hits', () => {
    const labels = [0, 0, 3];
    expect(topKAccuracy(scores, labels, 1)).toBeCloseTo(1 / 3);
    expect(topKAccuracy(scores, labels, 5)).toBeCloseTo(2 / 3);
    const m = computeSplitMetrics(scores, labels);
    expect(m.top1).toBeCloseTo(100 / 3);
    expect(m.confusion[0]).toEqual([1, 0, 0, 0, 0, 1]);
    expect(m.confusion[3]).toEqual([0, 0, 1, 0, 0, 0]);
  });
  it('rejects labels outside the score matrix', () => {
    expect(() => topKAccuracy(scores, [0, 0, 7], 1)).toThrow(/outside \[0, 6\)/);
    expect(() => confusionMatrix([0], [0, 1], 2)).toThrow(/same number/);
  });
});
