/**
 * Small host-side helpers for feature matrices: row-major `Float32Array` [N, D] with labels.
 */
import { ShapeError, WeightsError } from '@lss/core';

/** A labelled feature matrix: `data` is row-major [numSamples, dim]. */
export interface FeatureSet {
  readonly data: Float32Array;
  readonly numSamples: number;
  readonly dim: number;
  /** Class index per sample, length numSamples. */
  readonly labels: Int32Array;
}

/** Validates the sizes of a feature set. */
export function checkFeatureSet(set: FeatureSet, name = 'feature set'): void {
  if (set.data.length !== set.numSamples * set.dim) {
    throw new ShapeError(
      `${name}: data has ${set.data.length} values; expected numSamples*dim = ${set.numSamples}*${set.dim}. Check how the features were stacked.`,
    );
  }
  if (set.labels.length !== set.numSamples) {
    throw new ShapeError(`${name}: ${set.labels.length} labels for ${set.numSamples} samples; expected one label per sample.`);
  }
}

/** Number of classes implied by labels (max + 1), or `numClasses` when given and larger. */
export function inferNumClasses(labels: ArrayLike<number>, numClasses?: number): number {
  let max = -1;
  for (let i = 0; i < labels.length; i++) max = Math.max(max, labels[i] as number);
  return Math.max(max + 1, numClasses ?? 0);
}

/** Rows `indices` of a feature set, as a new feature set. */
export function selectRows(set: FeatureSet, indices: ArrayLike<number>): FeatureSet {
  const data = new Float32Array(indices.length * set.dim);
  const labels = new Int32Array(indices.length);
  for (let r = 0; r < indices.length; r++) {
    const i = indices[r] as number;
    data.set(set.data.subarray(i * set.dim, (i + 1) * set.dim), r * set.dim);
    labels[r] = set.labels[i] as number;
  }
  return { data, numSamples: indices.length, dim: set.dim, labels };
}

/**
 * Throws a WeightsError when any of the `numVideos` feature rows (each `perVideo` values: views × dim)
 * holds NaN or ±Infinity: a diverged checkpoint's features would otherwise be ranked as if they meant
 * something (every NaN score ties, and ties go to class 0). The message names how many videos, the
 * first of them, and the model.
 */
export function assertFiniteFeatures(
  data: Float32Array,
  numVideos: number,
  paths: readonly string[],
  model: { readonly label: string; readonly path: string },
  what: string,
): void {
  if (numVideos === 0) return;
  const perVideo = data.length / numVideos;
  const bad: number[] = [];
  for (let i = 0; i < numVideos; i++) {
    for (let j = i * perVideo; j < (i + 1) * perVideo; j++) {
      if (!Number.isFinite(data[j] as number)) {
        bad.push(i);
        break;
      }
    }
  }
  if (bad.length === 0) return;
  const first = bad.slice(0, 3).map((i) => paths[i] ?? `video ${i}`);
  throw new WeightsError(
    `Model ${model.label} (${model.path}) gave non-finite features (NaN or ±Infinity) for ${bad.length} of ${numVideos} videos of ${what} ` +
      `(e.g. ${first.join(', ')}); expected finite embeddings. The checkpoint has probably diverged (or its weights hold NaN): ` +
      'evaluate an earlier checkpoint, or check the training log for a non-finite loss.',
  );
}
