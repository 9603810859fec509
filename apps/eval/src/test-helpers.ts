/** Synthetic feature sets, a look-up model and a list dataset for the evaluator tests (not exported from the package). */
import { SeededRandom } from '@lss/core';
import type { ResolvedDataset } from './datasets.js';
import type { ViewLoader } from './feature-cache.js';
import type { FeatureSet } from './features-math.js';
import type { EvalModel } from './model.js';

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

/**
 * An `EvalModel` that looks features up: the views of video `i` (pixels filled with `i` by {@link indexViewLoader})
 * embed to `features[i * dim .. (i + 1) * dim)`, each value passed through `transform(value, i)`.
 */
export function lookupEvalModel(
  features: ArrayLike<number>,
  dim: number,
  options: { path?: string; label?: string; transform?: (value: number, video: number) => number } = {},
): EvalModel {
  const transform = options.transform ?? ((v: number) => v);
  return {
    kind: 'checkpoint',
    path: options.path ?? '/fake/checkpoint',
    hash: 'a'.repeat(64),
    label: options.label ?? 'fake',
    embedDim: dim,
    imageSize: 2,
    numFrames: 1,
    textModelDir: null,
    clip: null,
    dispose() {},
    async encodeViews(views) {
      const n = views.shape[0] as number;
      const per = views.data.length / n;
      const out = new Float32Array(n * dim);
      for (let i = 0; i < n; i++) {
        const video = views.data[i * per] as number;
        for (let d = 0; d < dim; d++) out[i * dim + d] = transform(features[video * dim + d] as number, video);
      }
      return out;
    },
  };
}

/** A view loader for `/videos/v<i>` paths: every pixel of the views holds `i` (read back by {@link lookupEvalModel}). */
export const indexViewLoader: ViewLoader = async (sample, v) => {
  const video = Number(/v(\d+)$/.exec(sample.path)?.[1]);
  return { data: new Float32Array(v.numFrames * v.size * v.size * 3).fill(video), shape: [1, v.numFrames, v.size, v.size, 3] };
};

/** The views {@link lookupEvalModel} expects: 1 clip x 1 crop of 1 frame at 2 px. */
export const LOOKUP_VIEWS = { numClips: 1, numCrops: 1, numFrames: 1, size: 2 } as const;

/** One split named 'all': training videos `/videos/v0..`, then the test videos, numbered on. */
export function listSplitDataset(
  trainLabels: readonly number[],
  testLabels: readonly number[],
  classNames: readonly string[],
): ResolvedDataset {
  return {
    name: 'list',
    root: '/videos',
    classNames: [...classNames],
    warnings: [],
    splits: [
      {
        name: 'all',
        train: { samples: trainLabels.map((label, i) => ({ path: `/videos/v${i}`, label })) },
        test: { samples: testLabels.map((label, i) => ({ path: `/videos/v${trainLabels.length + i}`, label })) },
      } as unknown as ResolvedDataset['splits'][number],
    ],
  };
}
