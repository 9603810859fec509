/**
 * Weighted k-nearest-neighbour classifier on frozen features, exactly as DINO's `knn_classifier`
 * (facebookresearch/dino `eval_knn.py`), which SVT reuses for video: features are L2-normalised, the
 * similarity is the dot product, the k most similar training samples vote for their class with weight
 * `exp(similarity / T)`, and classes are ranked by the summed votes. Defaults k = 20, T = 0.07.
 */
import { ConfigError, l2NormalizeRows } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkFeatureSet, type FeatureSet, inferNumClasses } from './features-math.js';
import { type ScoreMatrix, topKAccuracy } from './metrics.js';

export interface KnnOptions {
  /** Number of neighbours (DINO/SVT: 20). Capped at the number of training samples. */
  readonly k?: number;
  /** Vote temperature T in exp(sim / T) (DINO/SVT: 0.07). */
  readonly temperature?: number;
  /** Number of classes; defaults to max label + 1 over train and test. */
  readonly numClasses?: number;
  /** Test rows per similarity chunk (memory: chunk x numTrain floats). */
  readonly chunkSize?: number;
}

export const KNN_DEFAULTS = { k: 20, temperature: 0.07, chunkSize: 256 } as const;

/**
 * Scores every test sample with the weighted k-NN vote.
 *
 * Input: train and test feature sets (any scale; both are L2-normalised here).
 * Output: a score matrix [numTest, numClasses] of summed votes.
 */
export function knnScores(train: FeatureSet, test: FeatureSet, options: KnnOptions = {}): ScoreMatrix {
  checkFeatureSet(train, 'k-NN train features');
  checkFeatureSet(test, 'k-NN test features');
  if (train.dim !== test.dim) {
    throw new ConfigError(
      `k-NN: train features have dim ${train.dim} but test features have dim ${test.dim}; they must come from the same model.`,
    );
  }
  const k = Math.min(options.k ?? KNN_DEFAULTS.k, train.numSamples);
  const temperature = options.temperature ?? KNN_DEFAULTS.temperature;
  const chunkSize = options.chunkSize ?? KNN_DEFAULTS.chunkSize;
  if (!(k >= 1) || !Number.isInteger(k)) throw new ConfigError(`k-NN k must be a positive integer; received ${options.k}.`);
  if (!(temperature > 0)) throw new ConfigError(`k-NN temperature must be > 0; received ${temperature}.`);
  const numClasses = options.numClasses ?? inferNumClasses([...train.labels, ...test.labels]);
  const out = new Float64Array(test.numSamples * numClasses);
  const trainT = tf.tidy(() => tf.transpose(tf.tensor2d(l2NormalizeRows(train.data, train.dim), [train.numSamples, train.dim]))); // [D, Ntr]
  const testNorm = l2NormalizeRows(test.data, test.dim);
  try {
    for (let start = 0; start < test.numSamples; start += chunkSize) {
      const rows = Math.min(chunkSize, test.numSamples - start);
      const top = tf.tidy(() => {
        const q = tf.tensor2d(testNorm.subarray(start * test.dim, (start + rows) * test.dim), [rows, test.dim]); // [b, D]
        const sim = tf.matMul(q, trainT); // [b, Ntr]
        return tf.topk(sim, k, true); // values, indices: [b, k] each
      });
      let values: Float32Array;
      let indices: Int32Array;
      try {
        values = top.values.dataSync() as Float32Array;
        indices = top.indices.dataSync() as Int32Array;
      } finally {
        tf.dispose([top.values, top.indices]);
      }
      for (let r = 0; r < rows; r++) {
        const base = (start + r) * numClasses;
        for (let j = 0; j < k; j++) {
          const label = train.labels[indices[r * k + j] as number] as number;
          out[base + label] = (out[base + label] as number) + Math.exp((values[r * k + j] as number) / temperature);
        }
      }
    }
  } finally {
    trainT.dispose();
  }
  return { data: out, shape: [test.numSamples, numClasses] };
}

/**
 * Number of ranked classes that DINO's `knn_classifier` counts for "top-5": `min(5, k)`. Only the
 * classes of the k neighbours receive votes, so with k < 5 the rest of a top-5 would be classes with no
 * vote at all; DINO counts the first min(5, k) positions ("top5 does not make sense if k < 5").
 */
export function knnTop5Positions(k: number): number {
  return Math.min(5, k);
}

/**
 * Top-1 and "top-5" (percent) of k-NN vote scores with DINO's semantics (eval_knn.py): classes ranked by
 * summed votes, ties to the lower class index (PyTorch's stable CPU sort), top-5 over the first
 * {@link knnTop5Positions}(k) positions. `k` is the effective number of neighbours.
 */
export function knnAccuracy(scores: ScoreMatrix, labels: ArrayLike<number>, k: number): { top1: number; top5: number } {
  return { top1: 100 * topKAccuracy(scores, labels, 1), top5: 100 * topKAccuracy(scores, labels, knnTop5Positions(k)) };
}
