/** Synthetic feature sets for the evaluator tests (not exported from the package). */
import { SeededRandom } from '@lss/core';
import type { FeatureSet } from './features-math.js';

/**
 * Gaussian clusters: class c has a random mean of norm `separation`, samples = mean + N(0, noise²).
 * Returns train and test drawn from the same clusters.
 */
export function gaussianClusters(options: {
  numClasses: number;
  dim: number;
  trainPerClass: number;
  testPerClass: number;
  separation: number;
  noise: number;
  seed: number;
}): { train: FeatureSet; test: FeatureSet } {
  const rng = new SeededRandom(options.seed);
  const means: Float64Array[] = [];
  for (let c = 0; c < options.numClasses; c++) {
    const m = Float64Array.from({ length: options.dim }, () => rng.normal());
    const norm = Math.hypot(...m);
    means.push(m.map((v) => (v / norm) * options.separation));
  }
  const make = (perClass: number): FeatureSet => {
    const n = perClass * options.numClasses;
    const data = new Float32Array(n * options.dim);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = i % options.numClasses;
      labels[i] = c;
      for (let d = 0; d < options.dim; d++) data[i * options.dim + d] = (means[c]?.[d] as number) + rng.normal(0, options.noise);
    }
    return { data, numSamples: n, dim: options.dim, labels };
  };
  return { train: make(options.trainPerClass), test: make(options.testPerClass) };
}

/** The same features with labels permuted at random. */
export function shuffleLabels(set: FeatureSet, seed: number): FeatureSet {
  const labels = Int32Array.from(new SeededRandom(seed).shuffle([...set.labels]));
  return { ...set, labels };
}
