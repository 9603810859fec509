/**
 * Linear probe on frozen features: L2-regularised multinomial logistic regression, fitted by full-batch
 * L-BFGS in float64, with the regularisation strength chosen on a held-out part of the training split
 * and the final model refitted on the whole training split (SPEC.md section 5; the protocol of CLIP's
 * linear-probe evaluation, Radford et al. 2021, appendix A.3, with a fixed grid instead of their
 * parametric search).
 *
 * Objective (scikit-learn's `LogisticRegression(penalty='l2', multi_class='multinomial')`, so the same
 * C means the same model):  C · Σ_i −log softmax(W xᵢ + b)[yᵢ] + ½ ‖W‖²,  the bias b not penalised.
 * We minimise it divided by C·N, which has the same minimiser and keeps tolerances scale-free.
 */
import { ConfigError, l2NormalizeRows, SeededRandom } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { checkFeatureSet, type FeatureSet, inferNumClasses, selectRows } from './features-math.js';
import { minimizeLbfgs } from './lbfgs.js';
import { argmaxRows, type ScoreMatrix } from './metrics.js';

/** A fitted linear classifier: logits = x W + b with W [dim, numClasses] row-major. */
export interface LinearModel {
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly dim: number;
  readonly numClasses: number;
}

export interface FitLogisticOptions {
  /** Inverse regularisation strength C (scikit-learn's convention). */
  readonly c: number;
  readonly numClasses?: number;
  readonly maxIterations?: number;
  readonly gradientTolerance?: number;
  /** Start from this model (warm start along a C grid). */
  readonly init?: LinearModel;
  /**
   * Where the objective is computed: 'float64' (plain TypeScript, exact, about 0.2 GFLOP/s here) or
   * 'tfjs' (the two matrix products X·W and Xᵀ·G on the tfjs backend in float32, about 50x faster on
   * wasm; softmax, loss and the L2 term are float32 too, so L-BFGS stops near float32 precision).
   * Default 'auto': tfjs when N·D·K > 2e7 (about UCF-101 scale and above), else float64.
   */
  readonly engine?: 'auto' | 'float64' | 'tfjs';
}

export interface FitLogisticResult {
  readonly model: LinearModel;
  readonly iterations: number;
  readonly converged: boolean;
  /** Final objective value (divided by C·N). */
  readonly objective: number;
  /** The engine that computed the objective. */
  readonly engine: 'float64' | 'tfjs';
  /** Why L-BFGS stopped ('line-search' is the usual stop of the float32 engine at its precision). */
  readonly stopReason: 'gradient' | 'function' | 'max-iterations' | 'line-search';
}

/**
 * Fits multinomial logistic regression with an L2 penalty on W by L-BFGS.
 * Input: features [N, D] (used as given; normalise before if wanted) and labels.
 */
export function fitLogisticRegression(train: FeatureSet, options: FitLogisticOptions): FitLogisticResult {
  checkFeatureSet(train, 'logistic regression train features');
  const { c } = options;
  if (!(c > 0) || !Number.isFinite(c)) throw new ConfigError(`Regularisation C must be a positive finite number; received ${c}.`);
  const n = train.numSamples;
  const dim = train.dim;
  const k = options.numClasses ?? inferNumClasses(train.labels);
  if (n === 0) throw new ConfigError('Cannot fit a linear probe on 0 training samples; check the training split.');
  const numW = dim * k;
  const x = train.data;
  const labels = train.labels;
  const invN = 1 / n;
  const reg = 1 / (c * n);
  const engine = options.engine === undefined || options.engine === 'auto' ? (n * dim * k > 2e7 ? 'tfjs' : 'float64') : options.engine;
  const z = new Float64Array(k);
  const float64 = (theta: Float64Array, grad: Float64Array): number => {
    grad.fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = i * dim;
      for (let j = 0; j < k; j++) z[j] = theta[numW + j] as number;
      for (let d = 0; d < dim; d++) {
        const xv = x[row + d] as number;
        if (xv === 0) continue;
        const w = d * k;
        for (let j = 0; j < k; j++) z[j] = (z[j] as number) + xv * (theta[w + j] as number);
      }
      let max = Number.NEGATIVE_INFINITY;
      for (let j = 0; j < k; j++) max = Math.max(max, z[j] as number);
      let sum = 0;
      for (let j = 0; j < k; j++) {
        const e = Math.exp((z[j] as number) - max);
        z[j] = e;
        sum += e;
      }
      const y = labels[i] as number;
      // z now holds exp(z - max); p = z / sum; loss_i = log(sum) + max - z_y
      const py = (z[y] as number) / sum;
      loss += -Math.log(Math.max(py, 1e-300));
      for (let j = 0; j < k; j++) z[j] = ((z[j] as number) / sum - (j === y ? 1 : 0)) * invN; // dL/dlogit
      for (let d = 0; d < dim; d++) {
        const xv = x[row + d] as number;
        if (xv === 0) continue;
        const w = d * k;
        for (let j = 0; j < k; j++) grad[w + j] = (grad[w + j] as number) + xv * (z[j] as number);
      }
      for (let j = 0; j < k; j++) grad[numW + j] = (grad[numW + j] as number) + (z[j] as number);
    }
    let wsq = 0;
    for (let p = 0; p < numW; p++) {
      const w = theta[p] as number;
      wsq += w * w;
      grad[p] = (grad[p] as number) + reg * w;
    }
    return loss * invN + 0.5 * reg * wsq;
  };
  const theta0 = new Float64Array(numW + k);
  let xT: tf.Tensor2D | undefined;
  let xMat: tf.Tensor2D | undefined;
  let oneHot: tf.Tensor2D | undefined;
  if (engine === 'tfjs') {
    xMat = tf.tensor2d(x, [n, dim]); // [N, D]
    xT = tf.transpose(xMat); // [D, N], transposed once (no transpose flags in the loop)
    oneHot = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), k).toFloat() as tf.Tensor2D); // [N, K]
  }
  const tfjsFn = (theta: Float64Array, grad: Float64Array): number => {
    const [lossT, gradW, gradB] = tf.tidy(() => {
      const w = tf.tensor2d(Float32Array.from(theta.subarray(0, numW)), [dim, k]); // [D, K]
      const b = tf.tensor1d(Float32Array.from(theta.subarray(numW))); // [K]
      const logits = tf.add(tf.matMul(xMat as tf.Tensor2D, w), b); // [N, K]
      const lse = tf.logSumExp(logits, 1); // [N]
      const picked = tf.sum(tf.mul(logits, oneHot as tf.Tensor2D), 1); // [N]
      const lossValue = tf.mean(tf.sub(lse, picked));
      const g = tf.div(tf.sub(tf.softmax(logits), oneHot as tf.Tensor2D), n); // [N, K] dL/dlogits
      return [lossValue, tf.matMul(xT as tf.Tensor2D, g), tf.sum(g, 0)] as const; // [], [D, K], [K]
    });
    try {
      const gw = gradW.dataSync();
      const gb = gradB.dataSync();
      let wsq = 0;
      for (let p = 0; p < numW; p++) {
        const wv = theta[p] as number;
        wsq += wv * wv;
        grad[p] = (gw[p] as number) + reg * wv;
      }
      for (let j = 0; j < k; j++) grad[numW + j] = gb[j] as number;
      return (lossT.dataSync()[0] as number) + 0.5 * reg * wsq;
    } finally {
      tf.dispose([lossT, gradW, gradB]);
    }
  };
  if (options.init) {
    if (options.init.dim !== dim || options.init.numClasses !== k) {
      throw new ConfigError(`Warm-start model is [${options.init.dim}, ${options.init.numClasses}]; expected [${dim}, ${k}].`);
    }
    theta0.set(options.init.weights, 0);
    theta0.set(options.init.bias, numW);
  }
  let result: ReturnType<typeof minimizeLbfgs>;
  try {
    result = minimizeLbfgs(engine === 'tfjs' ? tfjsFn : float64, theta0, {
      maxIterations: options.maxIterations ?? 1000,
      // float32 objective: a gradient below ~1e-6 is noise.
      gradientTolerance: options.gradientTolerance ?? (engine === 'tfjs' ? 1e-6 : 1e-7),
      ...(engine === 'tfjs' ? { functionTolerance: 1e-9 } : {}),
    });
  } finally {
    tf.dispose([xMat, xT, oneHot].filter((t): t is tf.Tensor2D => t !== undefined));
  }
  return {
    engine,
    model: { weights: result.x.slice(0, numW), bias: result.x.slice(numW), dim, numClasses: k },
    iterations: result.iterations,
    converged: result.converged,
    objective: result.value,
    stopReason: result.reason,
  };
}

/** Logits x W + b for every row. Output: [N, numClasses]. */
export function linearScores(model: LinearModel, set: { data: Float32Array; numSamples: number; dim: number }): ScoreMatrix {
  if (set.dim !== model.dim) throw new ConfigError(`Linear model expects dim ${model.dim}; received features of dim ${set.dim}.`);
  const k = model.numClasses;
  const out = new Float64Array(set.numSamples * k);
  for (let i = 0; i < set.numSamples; i++) {
    for (let j = 0; j < k; j++) out[i * k + j] = model.bias[j] as number;
    for (let d = 0; d < set.dim; d++) {
      const xv = set.data[i * set.dim + d] as number;
      for (let j = 0; j < k; j++) out[i * k + j] = (out[i * k + j] as number) + xv * (model.weights[d * k + j] as number);
    }
  }
  return { data: out, shape: [set.numSamples, k] };
}

/**
 * A stratified split of sample indices into (fit, held-out): in each class, `fraction` of the
 * samples (rounded, at least 1 when the class has 2 or more, never all of them) go to held-out.
 */
export function stratifiedHoldout(labels: Int32Array, fraction: number, seed: number): { fit: number[]; heldOut: number[] } {
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError(`Held-out fraction must be in (0, 1); received ${fraction}.`);
  const rng = new SeededRandom(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((y, i) => {
    const list = byClass.get(y) ?? [];
    list.push(i);
    byClass.set(y, list);
  });
  const fit: number[] = [];
  const heldOut: number[] = [];
  for (const y of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = rng.shuffle([...(byClass.get(y) as number[])]);
    const take = idx.length < 2 ? 0 : Math.min(idx.length - 1, Math.max(1, Math.round(fraction * idx.length)));
    heldOut.push(...idx.slice(0, take));
    fit.push(...idx.slice(take));
  }
  fit.sort((a, b) => a - b);
  heldOut.sort((a, b) => a - b);
  return { fit, heldOut };
}

/**
 * A held-out split that keeps whole groups together: in each class, groups (e.g. the clips cut from one
 * UCF-101 source video, `g08`) are shuffled and held out whole until at least `fraction` of the class's
 * samples are held out (never all of its groups; a class with one group holds nothing out). Clips of one
 * source video in both parts would make the held-out score optimistic (the probe recognises the video).
 * `groups[i]` is the group key of sample i; keys are taken per class (UCF's g08 of two classes differ).
 */
export function groupedHoldout(
  labels: Int32Array,
  groups: readonly string[],
  fraction: number,
  seed: number,
): { fit: number[]; heldOut: number[] } {
  if (!(fraction > 0 && fraction < 1)) throw new ConfigError(`Held-out fraction must be in (0, 1); received ${fraction}.`);
  if (groups.length !== labels.length) {
    throw new ConfigError(`groupedHoldout: ${groups.length} group keys for ${labels.length} samples; expected one per sample.`);
  }
  const rng = new SeededRandom(seed);
  const byClass = new Map<number, Map<string, number[]>>();
  labels.forEach((y, i) => {
    const classGroups = byClass.get(y) ?? new Map<string, number[]>();
    const key = groups[i] as string;
    classGroups.set(key, [...(classGroups.get(key) ?? []), i]);
    byClass.set(y, classGroups);
  });
  const fit: number[] = [];
  const heldOut: number[] = [];
  for (const y of [...byClass.keys()].sort((a, b) => a - b)) {
    const classGroups = byClass.get(y) as Map<string, number[]>;
    const keys = rng.shuffle([...classGroups.keys()].sort());
    const size = keys.reduce((n, k) => n + (classGroups.get(k) as number[]).length, 0);
    const target = Math.max(1, Math.round(fraction * size));
    let taken = 0;
    keys.forEach((k, g) => {
      const members = classGroups.get(k) as number[];
      if (taken < target && g < keys.length - 1) {
        heldOut.push(...members);
        taken += members.length;
      } else fit.push(...members);
    });
  }
  fit.sort((a, b) => a - b);
  heldOut.sort((a, b) => a - b);
  return { fit, heldOut };
}

/**
 * The group of a video for held-out splits: UCF-101's source-video group (`v_ApplyEyeMakeup_g08_c01.avi`
 * → `g08`), or the file itself when the name carries no group (each clip its own group).
 */
export function videoGroup(path: string): string {
  const name = path.split(/[\\/]/).pop() ?? path;
  const match = /_g(\d+)_c\d+/i.exec(name);
  return match ? `g${match[1]}` : path;
}

/** The default C grid: 10^-2 … 10^4 (features L2-normalised, so logits need large weights). */
export const DEFAULT_C_GRID: readonly number[] = [1e-2, 1e-1, 1, 10, 100, 1e3, 1e4];

export interface LinearProbeOptions {
  /** Candidate C values (default {@link DEFAULT_C_GRID}). A single value skips the selection. */
  readonly cGrid?: readonly number[];
  /** Fraction of each training class held out to choose C (default 0.2). */
  readonly heldOutFraction?: number;
  /**
   * Group key per training sample (e.g. `videoGroup(path)`: UCF-101's source video): the held-out part
   * takes whole groups ({@link groupedHoldout}). Absent: a stratified split of samples.
   */
  readonly groups?: readonly string[];
  /** Seed of the held-out split (default 0). */
  readonly seed?: number;
  /** 'l2' (default): L2-normalise every feature row before fitting and testing; 'none': use as given. */
  readonly normalize?: 'l2' | 'none';
  readonly numClasses?: number;
  readonly maxIterations?: number;
  /** Objective engine (see {@link FitLogisticOptions.engine}; default 'auto'). */
  readonly engine?: 'auto' | 'float64' | 'tfjs';
}

/** Held-out accuracy of one candidate C. */
export interface CSelectionRow {
  readonly c: number;
  /** Percent. */
  readonly heldOutTop1: number;
  readonly heldOutLoss: number;
  readonly iterations: number;
}

export interface LinearProbeResult {
  readonly scores: ScoreMatrix;
  readonly model: LinearModel;
  readonly chosenC: number;
  readonly selection: readonly CSelectionRow[];
  /** How C was chosen, in words (printed in reports). */
  readonly selectionNote: string;
  readonly iterations: number;
  readonly converged: boolean;
  readonly stopReason: FitLogisticResult['stopReason'];
  readonly engine: 'float64' | 'tfjs';
  /** The features as fed to the classifier (after normalisation), for export and cross-checks. */
  readonly preparedTrain: FeatureSet;
  readonly preparedTest: FeatureSet;
}

function prepare(set: FeatureSet, normalize: 'l2' | 'none'): FeatureSet {
  return normalize === 'l2' ? { ...set, data: l2NormalizeRows(set.data, set.dim) } : set;
}

function meanCrossEntropy(scores: ScoreMatrix, labels: Int32Array): number {
  const [n, k] = scores.shape;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let max = Number.NEGATIVE_INFINITY;
    for (let j = 0; j < k; j++) max = Math.max(max, scores.data[i * k + j] as number);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp((scores.data[i * k + j] as number) - max);
    total += Math.log(sum) + max - (scores.data[i * k + (labels[i] as number)] as number);
  }
  return total / Math.max(n, 1);
}

/**
 * The full linear-probe protocol: choose C on a stratified held-out part of `train` (highest held-out
 * top-1, ties broken by lower held-out cross-entropy, then by smaller C), refit on all of `train` with
 * that C, score `test`.
 */
export function runLinearProbe(train: FeatureSet, test: FeatureSet, options: LinearProbeOptions = {}): LinearProbeResult {
  checkFeatureSet(train, 'linear-probe train features');
  checkFeatureSet(test, 'linear-probe test features');
  const normalize = options.normalize ?? 'l2';
  const grid = [...(options.cGrid ?? DEFAULT_C_GRID)].sort((a, b) => a - b);
  if (grid.length === 0) throw new ConfigError('The C grid is empty; give at least one value, e.g. [0.1, 1, 10].');
  const numClasses = options.numClasses ?? inferNumClasses([...train.labels, ...test.labels]);
  const preparedTrain = prepare(train, normalize);
  const preparedTest = prepare(test, normalize);
  const maxIterations = options.maxIterations ?? 1000;
  const selection: CSelectionRow[] = [];
  let chosenC = grid[0] as number;
  let selectionNote: string;
  if (grid.length === 1) {
    selectionNote = `C fixed at ${chosenC} (a single value was given; no selection).`;
  } else {
    const fraction = options.heldOutFraction ?? 0.2;
    const seed = options.seed ?? 0;
    const { fit, heldOut } = options.groups
      ? groupedHoldout(preparedTrain.labels, options.groups, fraction, seed)
      : stratifiedHoldout(preparedTrain.labels, fraction, seed);
    if (heldOut.length === 0 || fit.length === 0) {
      chosenC = grid[Math.floor(grid.length / 2)] as number;
      selectionNote = `Training split too small to hold samples out (${train.numSamples} samples); C set to the grid's middle value ${chosenC}.`;
    } else {
      const fitSet = selectRows(preparedTrain, fit);
      const heldSet = selectRows(preparedTrain, heldOut);
      let init: LinearModel | undefined;
      let best: CSelectionRow | undefined;
      for (const c of grid) {
        // Warm start along the increasing C grid (the solution moves continuously with C).
        const r = fitLogisticRegression(fitSet, {
          c,
          numClasses,
          maxIterations,
          engine: options.engine ?? 'auto',
          ...(init ? { init } : {}),
        });
        init = r.model;
        const s = linearScores(r.model, heldSet);
        const hits = argmaxRows(s).reduce((a, p, i) => a + (p === heldSet.labels[i] ? 1 : 0), 0);
        const row: CSelectionRow = {
          c,
          heldOutTop1: (100 * hits) / heldSet.numSamples,
          heldOutLoss: meanCrossEntropy(s, heldSet.labels),
          iterations: r.iterations,
        };
        selection.push(row);
        if (!best || row.heldOutTop1 > best.heldOutTop1 || (row.heldOutTop1 === best.heldOutTop1 && row.heldOutLoss < best.heldOutLoss))
          best = row;
      }
      chosenC = (best as CSelectionRow).c;
      selectionNote =
        `C chosen on a stratified held-out ${Math.round(fraction * 100)}% of the training split${options.groups ? ', whole groups (source videos) held out' : ''} (seed ${seed}; ` +
        `${fit.length} fit / ${heldOut.length} held-out samples) by held-out top-1, ties by held-out cross-entropy; ` +
        'then refitted on the whole training split.';
    }
  }
  const final = fitLogisticRegression(preparedTrain, { c: chosenC, numClasses, maxIterations, engine: options.engine ?? 'auto' });
  return {
    scores: linearScores(final.model, preparedTest),
    model: final.model,
    chosenC,
    selection,
    selectionNote,
    iterations: final.iterations,
    converged: final.converged,
    stopReason: final.stopReason,
    engine: final.engine,
    preparedTrain,
    preparedTest,
  };
}
