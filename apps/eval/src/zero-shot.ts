/**
 * Zero-shot classification with a concept space (SPEC.md section 5): the classifier is the category
 * space of the target dataset's class names (unit-norm prompt-ensembled text embeddings, one row per
 * class); a video's score for class k is the mean over its test views of cos(f_view, c_k).
 *
 * Transductive zero-shot: the unlabeled test features refine the class prototypes. Start from the text
 * classifier; iterate: assign every test video to its best prototype, move each prototype towards the
 * mean of the features assigned to it (`P_k ← normalize((1 − α) P_k + α · mean_k)`), re-normalise.
 * The step α (default 0.5), the maximum number of iterations (default 10) and the stopping rule
 * (assignments unchanged) are our choices, not the paper's, and are reported.
 */
import { ConfigError, l2NormalizeRows, ShapeError } from '@lss/core';
import type { ScoreMatrix } from './metrics.js';

/** Per-view features of N videos: `data` is row-major [numVideos, numViews, dim]. */
export interface ViewFeatures {
  readonly data: Float32Array;
  readonly numVideos: number;
  readonly numViews: number;
  readonly dim: number;
}

/**
 * One feature per video: the mean over views of the L2-normalised view features (not re-normalised),
 * so that `videoFeature · c = mean over views of cos(f_view, c)` for a unit-norm c.
 * Output: [numVideos, dim] row-major.
 */
export function averageNormalizedViews(features: ViewFeatures): Float32Array {
  const { numVideos, numViews, dim } = features;
  if (features.data.length !== numVideos * numViews * dim) {
    throw new ShapeError(`View features have ${features.data.length} values; expected [N, V, D] = [${numVideos}, ${numViews}, ${dim}].`);
  }
  const unit = l2NormalizeRows(features.data, dim); // [(N V), D]
  const out = new Float32Array(numVideos * dim);
  for (let i = 0; i < numVideos; i++) {
    for (let v = 0; v < numViews; v++) {
      const base = (i * numViews + v) * dim;
      for (let d = 0; d < dim; d++) out[i * dim + d] = (out[i * dim + d] as number) + (unit[base + d] as number) / numViews;
    }
  }
  return out;
}

/** Scores [N, K] = videoFeatures [N, D] · prototypesᵀ [D, K]. */
export function prototypeScores(videoFeatures: Float32Array, prototypes: Float32Array, dim: number): ScoreMatrix {
  const n = videoFeatures.length / dim;
  const k = prototypes.length / dim;
  if (!Number.isInteger(n) || !Number.isInteger(k)) {
    throw new ShapeError(
      `Features (${videoFeatures.length} values) or prototypes (${prototypes.length} values) are not a multiple of dim ${dim}.`,
    );
  }
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += (videoFeatures[i * dim + d] as number) * (prototypes[j * dim + d] as number);
      out[i * k + j] = s;
    }
  }
  return { data: out, shape: [n, k] };
}

/** Zero-shot scores: mean over views of the cosine between each view feature and each class row. */
export function zeroShotScores(
  features: ViewFeatures,
  classifier: { matrix: Float32Array; shape: readonly [number, number] },
): ScoreMatrix {
  const [k, d] = classifier.shape;
  if (d !== features.dim) {
    throw new ShapeError(
      `The zero-shot classifier has dim ${d} but the video features have dim ${features.dim}; build the classifier with the text tower of the same CLIP model.`,
    );
  }
  if (classifier.matrix.length !== k * d)
    throw new ShapeError(`Classifier matrix has ${classifier.matrix.length} values; expected ${k}*${d}.`);
  return prototypeScores(averageNormalizedViews(features), l2NormalizeRows(classifier.matrix, d), d);
}

export interface TransductiveOptions {
  /** Maximum refinement iterations (default 10). 0 gives the plain zero-shot classifier. */
  readonly maxIterations?: number;
  /** Step α towards the assigned mean (default 0.5; 1 replaces the prototype by the mean). */
  readonly step?: number;
}

export const TRANSDUCTIVE_DEFAULTS = { maxIterations: 10, step: 0.5 } as const;

export interface TransductiveResult {
  readonly scores: ScoreMatrix;
  /** Refined prototypes [K, D], unit-norm rows. */
  readonly prototypes: Float32Array;
  /** Iterations actually run (each = one assignment + one prototype update). */
  readonly iterations: number;
  /** True when the assignment stopped changing before maxIterations. */
  readonly converged: boolean;
  /** Number of videos whose assignment changed at each iteration. */
  readonly changes: readonly number[];
}

/** Transductive zero-shot classification (see the file header for the exact iteration). */
export function transductiveZeroShot(
  features: ViewFeatures,
  classifier: { matrix: Float32Array; shape: readonly [number, number] },
  options: TransductiveOptions = {},
): TransductiveResult {
  const maxIterations = options.maxIterations ?? TRANSDUCTIVE_DEFAULTS.maxIterations;
  const step = options.step ?? TRANSDUCTIVE_DEFAULTS.step;
  if (!Number.isInteger(maxIterations) || maxIterations < 0)
    throw new ConfigError(`maxIterations must be an integer ≥ 0; received ${maxIterations}.`);
  if (!(step > 0 && step <= 1)) throw new ConfigError(`Transductive step must be in (0, 1]; received ${step}.`);
  const [k, d] = classifier.shape;
  if (d !== features.dim) throw new ShapeError(`Classifier dim ${d} differs from feature dim ${features.dim}.`);
  const x = averageNormalizedViews(features); // [N, D]
  const n = features.numVideos;
  let prototypes = l2NormalizeRows(classifier.matrix, d); // [K, D]
  let scores = prototypeScores(x, prototypes, d);
  let assignment = argmax(scores);
  const changes: number[] = [];
  let converged = false;
  let iterations = 0;
  while (iterations < maxIterations) {
    // Move each prototype towards the mean of its assigned (view-averaged, unit-view) features.
    const sums = new Float64Array(k * d);
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const a = assignment[i] as number;
      counts[a] = (counts[a] as number) + 1;
      for (let j = 0; j < d; j++) sums[a * d + j] = (sums[a * d + j] as number) + (x[i * d + j] as number);
    }
    const next = new Float32Array(prototypes);
    for (let c = 0; c < k; c++) {
      const count = counts[c] as number;
      if (count === 0) continue; // no video assigned: the prototype stays where it is
      for (let j = 0; j < d; j++)
        next[c * d + j] = (1 - step) * (prototypes[c * d + j] as number) + (step * (sums[c * d + j] as number)) / count;
    }
    prototypes = l2NormalizeRows(next, d);
    iterations++;
    scores = prototypeScores(x, prototypes, d);
    const nextAssignment = argmax(scores);
    let changed = 0;
    for (let i = 0; i < n; i++) if (nextAssignment[i] !== assignment[i]) changed++;
    changes.push(changed);
    assignment = nextAssignment;
    if (changed === 0) {
      converged = true;
      break;
    }
  }
  return { scores, prototypes, iterations, converged, changes };
}

function argmax(scores: ScoreMatrix): Int32Array {
  const [n, k] = scores.shape;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if ((scores.data[i * k + j] as number) > (scores.data[i * k + best] as number)) best = j;
    out[i] = best;
  }
  return out;
}
