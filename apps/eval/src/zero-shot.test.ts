import { l2NormalizeRows, SeededRandom } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { computeSplitMetrics } from './metrics.js';
import { averageNormalizedViews, transductiveZeroShot, zeroShotScores } from './zero-shot.js';

describe('zero-shot scores', () => {
  it('average the cosine over views', () => {
    // 1 video, 2 views in 2-D; classifier rows e0, e1 (unnormalised on purpose).
    const features = { data: Float32Array.from([2, 0, 0, 3]), numVideos: 1, numViews: 2, dim: 2 };
    const s = zeroShotScores(features, { matrix: Float32Array.from([5, 0, 1, 1]), shape: [2, 2] });
    expect(s.data[0]).toBeCloseTo((1 + 0) / 2, 6);
    expect(s.data[1]).toBeCloseTo((Math.SQRT1_2 + Math.SQRT1_2) / 2, 6);
    expect(Array.from(averageNormalizedViews(features))).toEqual([0.5, 0.5]);
  });
  it('rejects a classifier from another embedding size', () => {
    const features = { data: new Float32Array(4), numVideos: 1, numViews: 1, dim: 4 };
    expect(() => zeroShotScores(features, { matrix: new Float32Array(6), shape: [2, 3] })).toThrow(
      /dim 3 but the video features have dim 4/,
    );
  });
});

describe('transductive zero-shot', () => {
  // Class clusters around random unit means; the "text" prototypes are the means rotated by noise,
  // so the plain classifier makes mistakes that the test features can correct.
  const rng = new SeededRandom(5);
  const k = 6;
  const d = 16;
  const perClass = 40;
  const means = l2NormalizeRows(rng.normalArray(k * d), d);
  const text = l2NormalizeRows(
    Float32Array.from(means, (v) => v + rng.normal(0, 0.25)),
    d,
  );
  const n = k * perClass;
  const data = new Float32Array(n * 2 * d); // 2 views per video
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % k;
    for (let v = 0; v < 2; v++)
      for (let j = 0; j < d; j++) data[(i * 2 + v) * d + j] = (means[(i % k) * d + j] as number) + rng.normal(0, 0.2);
  }
  const features = { data, numVideos: n, numViews: 2, dim: d };

  it('improves on the text classifier and reports its iterations', () => {
    const plain = computeSplitMetrics(zeroShotScores(features, { matrix: text, shape: [k, d] }), labels).top1;
    const r = transductiveZeroShot(features, { matrix: text, shape: [k, d] });
    const refined = computeSplitMetrics(r.scores, labels).top1;
    expect(plain).toBeLessThan(99);
    expect(refined).toBeGreaterThan(plain);
    expect(r.iterations).toBeGreaterThanOrEqual(1);
    expect(r.changes.length).toBe(r.iterations);
    if (r.converged) expect(r.changes.at(-1)).toBe(0);
    for (let c = 0; c < k; c++) expect(Math.hypot(...r.prototypes.subarray(c * d, (c + 1) * d))).toBeCloseTo(1, 5);
  });

  it('with 0 iterations equals the plain zero-shot classifier', () => {
    const r = transductiveZeroShot(features, { matrix: text, shape: [k, d] }, { maxIterations: 0 });
    const plain = zeroShotScores(features, { matrix: text, shape: [k, d] });
    expect(r.iterations).toBe(0);
    expect(Array.from(r.scores.data)).toEqual(Array.from(plain.data));
  });
});
