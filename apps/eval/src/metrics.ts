/**
 * Accuracy metrics, confusion matrices and the mean ± std over splits used in every report.
 *
 * Scores are host data: a row-major `Float32Array | Float64Array` of shape [N, C] (one row of class
 * scores per test video) and integer labels of length N.
 */
import { ConfigError, ShapeError } from '@lss/core';

/** A row-major score matrix with its shape. */
export interface ScoreMatrix {
  readonly data: Float32Array | Float64Array;
  /** [numSamples, numClasses]. */
  readonly shape: readonly [number, number];
}

/** Checks that `scores` is [N, C] with N = labels.length and every label in [0, C). */
export function checkScores(scores: ScoreMatrix, labels: ArrayLike<number>): void {
  const [n, c] = scores.shape;
  if (scores.data.length !== n * c) {
    throw new ShapeError(`Score matrix data has ${scores.data.length} values; expected N*C = ${n}*${c} = ${n * c}.`);
  }
  if (labels.length !== n) {
    throw new ShapeError(`Received ${labels.length} labels for ${n} score rows; expected one label per row.`);
  }
  for (let i = 0; i < n; i++) {
    const y = labels[i] as number;
    if (!Number.isInteger(y) || y < 0 || y >= c) {
      throw new ShapeError(`Label ${y} at index ${i} is outside [0, ${c}); labels must be class indices of the score matrix.`);
    }
  }
}

/**
 * Indices of the `k` largest entries of row `i`, best first. Ties go to the lower class index, so
 * results are deterministic.
 */
export function topKIndices(scores: ScoreMatrix, i: number, k: number): number[] {
  const c = scores.shape[1];
  const kk = Math.min(k, c);
  const best: number[] = [];
  const base = i * c;
  for (let j = 0; j < c; j++) {
    const v = scores.data[base + j] as number;
    let pos = best.length;
    while (pos > 0 && v > (scores.data[base + (best[pos - 1] as number)] as number)) pos--;
    if (pos < kk) {
      best.splice(pos, 0, j);
      if (best.length > kk) best.pop();
    }
  }
  return best;
}

/** Fraction (0..1) of rows whose label is among the `k` best-scored classes. */
export function topKAccuracy(scores: ScoreMatrix, labels: ArrayLike<number>, k: number): number {
  checkScores(scores, labels);
  const n = scores.shape[0];
  if (n === 0) return Number.NaN;
  let hits = 0;
  for (let i = 0; i < n; i++) if (topKIndices(scores, i, k).includes(labels[i] as number)) hits++;
  return hits / n;
}

/** Top-1 predictions (argmax per row, lowest index on ties). */
export function argmaxRows(scores: ScoreMatrix): Int32Array {
  const [n, c] = scores.shape;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < c; j++) {
      const v = scores.data[i * c + j] as number;
      if (v > bestValue) {
        bestValue = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Confusion matrix of counts: `matrix[true][predicted]`. */
export function confusionMatrix(predictions: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number[][] {
  if (predictions.length !== labels.length) {
    throw new ShapeError(`Received ${predictions.length} predictions and ${labels.length} labels; expected the same number.`);
  }
  const m = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) {
    const row = m[labels[i] as number];
    if (row === undefined) throw new ShapeError(`Label ${labels[i]} is outside [0, ${numClasses}).`);
    row[predictions[i] as number] = (row[predictions[i] as number] ?? 0) + 1;
  }
  return m;
}

/** Top-1, top-5 and the confusion matrix of one evaluated split. */
export interface SplitMetrics {
  /** Percent, 0..100. */
  readonly top1: number;
  /** Percent, 0..100 (equals 100 when there are 5 classes or fewer). */
  readonly top5: number;
  readonly numSamples: number;
  readonly confusion: number[][];
}

/** Computes top-1 / top-5 (in percent) and the confusion matrix from a score matrix. */
export function computeSplitMetrics(scores: ScoreMatrix, labels: ArrayLike<number>): SplitMetrics {
  checkScores(scores, labels);
  return {
    top1: 100 * topKAccuracy(scores, labels, 1),
    top5: 100 * topKAccuracy(scores, labels, 5),
    numSamples: scores.shape[0],
    confusion: confusionMatrix(argmaxRows(scores), labels, scores.shape[1]),
  };
}

/** Mean and standard deviation of a metric over splits. */
export interface MeanStd {
  readonly mean: number;
  /**
   * SAMPLE standard deviation over the splits (denominator n - 1, Bessel's correction), which is
   * what `numpy.std(x, ddof=1)` gives. SPEC.md section 5 asks for "mean ± std" over the three official
   * splits without naming the estimator; we use the sample std and say so in every report. With a
   * single split the std is 0 and `numSplits` is 1.
   */
  readonly std: number;
  readonly numSplits: number;
}

/** The estimator used for `MeanStd.std`, written into every report. */
export const STD_DEFINITION = 'sample standard deviation over splits (denominator n - 1)';

/** Mean ± sample std (n - 1) of per-split values. */
export function meanStd(values: readonly number[]): MeanStd {
  if (values.length === 0) throw new ConfigError('meanStd received no values; expected at least one split result.');
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n === 1) return { mean, std: 0, numSplits: 1 };
  const ss = values.reduce((a, b) => a + (b - mean) * (b - mean), 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), numSplits: n };
}

/** Formats a mean ± std in percent with `digits` decimals, e.g. `73.8 ± 0.6`. */
export function formatMeanStd(value: MeanStd, digits = 1): string {
  if (value.numSplits === 1) return value.mean.toFixed(digits);
  return `${value.mean.toFixed(digits)} ± ${value.std.toFixed(digits)}`;
}
