/**
 * The SVT-style SGD linear probe (an option next to the L-BFGS probe): one linear layer trained with
 * mini-batch SGD with momentum, cross-entropy loss, a cosine learning-rate schedule to 0 and weights
 * initialised N(0, 0.01²), bias 0, following `eval_linear.py` of DINO, which SVT's linear evaluation
 * reuses. Defaults are DINO's (100 epochs, base lr 0.001 per 256 samples, momentum 0.9, no weight
 * decay) and are config fields; on L2-normalised features the base lr usually needs raising (our
 * choice, not DINO's: default base lr 0.1 here, see README).
 */
import { ConfigError, l2NormalizeRows, SeededRandom } from '@lss/core';
import { checkFeatureSet, type FeatureSet, inferNumClasses } from './features-math.js';
import { type LinearModel, linearScores } from './linear-probe.js';
import type { ScoreMatrix } from './metrics.js';

export interface SgdProbeOptions {
  readonly epochs?: number;
  readonly batchSize?: number;
  /** Learning rate for a batch of 256; scaled linearly with batchSize (DINO's `lr * batch / 256`). */
  readonly baseLearningRate?: number;
  readonly momentum?: number;
  readonly weightDecay?: number;
  readonly normalize?: 'l2' | 'none';
  readonly seed?: number;
  readonly numClasses?: number;
}

export const SGD_PROBE_DEFAULTS = {
  epochs: 100,
  batchSize: 256,
  baseLearningRate: 0.1,
  momentum: 0.9,
  weightDecay: 0,
  normalize: 'l2',
  seed: 0,
} as const;

export interface SgdProbeResult {
  readonly scores: ScoreMatrix;
  readonly model: LinearModel;
  readonly finalTrainLoss: number;
  readonly settings: Required<Omit<SgdProbeOptions, 'numClasses'>>;
}

/** Trains the SGD probe on `train` and scores `test`. */
export function runSgdProbe(train: FeatureSet, test: FeatureSet, options: SgdProbeOptions = {}): SgdProbeResult {
  checkFeatureSet(train, 'SGD probe train features');
  checkFeatureSet(test, 'SGD probe test features');
  const settings = { ...SGD_PROBE_DEFAULTS, ...stripUndefined(options) } as Required<Omit<SgdProbeOptions, 'numClasses'>>;
  const { epochs, batchSize, baseLearningRate, momentum, weightDecay } = settings;
  if (!(epochs >= 1 && batchSize >= 1 && baseLearningRate > 0 && momentum >= 0 && momentum < 1 && weightDecay >= 0)) {
    throw new ConfigError(
      `SGD probe options out of range: received ${JSON.stringify(settings)}; expected epochs ≥ 1, batchSize ≥ 1, baseLearningRate > 0, 0 ≤ momentum < 1, weightDecay ≥ 0.`,
    );
  }
  const k = options.numClasses ?? inferNumClasses([...train.labels, ...test.labels]);
  const dim = train.dim;
  const x = settings.normalize === 'l2' ? l2NormalizeRows(train.data, dim) : train.data;
  const xTest = settings.normalize === 'l2' ? l2NormalizeRows(test.data, dim) : test.data;
  const rng = new SeededRandom(settings.seed);
  const w = new Float64Array(dim * k);
  for (let i = 0; i < w.length; i++) w[i] = rng.normal(0, 0.01);
  const b = new Float64Array(k);
  const vw = new Float64Array(dim * k);
  const vb = new Float64Array(k);
  const gw = new Float64Array(dim * k);
  const gb = new Float64Array(k);
  const z = new Float64Array(k);
  const lr0 = (baseLearningRate * batchSize) / 256;
  const n = train.numSamples;
  const order = Array.from({ length: n }, (_, i) => i);
  let lastLoss = Number.NaN;
  for (let epoch = 0; epoch < epochs; epoch++) {
    // CosineAnnealingLR stepped per epoch, eta_min 0, as DINO's eval_linear.
    const lr = 0.5 * lr0 * (1 + Math.cos((Math.PI * epoch) / epochs));
    rng.shuffle(order);
    let epochLoss = 0;
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const m = end - start;
      gw.fill(0);
      gb.fill(0);
      for (let r = start; r < end; r++) {
        const i = order[r] as number;
        for (let j = 0; j < k; j++) z[j] = b[j] as number;
        for (let d = 0; d < dim; d++) {
          const xv = x[i * dim + d] as number;
          for (let j = 0; j < k; j++) z[j] = (z[j] as number) + xv * (w[d * k + j] as number);
        }
        let max = Number.NEGATIVE_INFINITY;
        for (let j = 0; j < k; j++) max = Math.max(max, z[j] as number);
        let sum = 0;
        for (let j = 0; j < k; j++) {
          z[j] = Math.exp((z[j] as number) - max);
          sum += z[j] as number;
        }
        const y = train.labels[i] as number;
        epochLoss += -Math.log(Math.max((z[y] as number) / sum, 1e-300));
        for (let j = 0; j < k; j++) z[j] = ((z[j] as number) / sum - (j === y ? 1 : 0)) / m;
        for (let d = 0; d < dim; d++) {
          const xv = x[i * dim + d] as number;
          for (let j = 0; j < k; j++) gw[d * k + j] = (gw[d * k + j] as number) + xv * (z[j] as number);
        }
        for (let j = 0; j < k; j++) gb[j] = (gb[j] as number) + (z[j] as number);
      }
      // PyTorch SGD: g += wd * p; v = momentum * v + g; p -= lr * v.
      for (let p = 0; p < w.length; p++) {
        const g = (gw[p] as number) + weightDecay * (w[p] as number);
        vw[p] = momentum * (vw[p] as number) + g;
        w[p] = (w[p] as number) - lr * (vw[p] as number);
      }
      for (let j = 0; j < k; j++) {
        const g = (gb[j] as number) + weightDecay * (b[j] as number);
        vb[j] = momentum * (vb[j] as number) + g;
        b[j] = (b[j] as number) - lr * (vb[j] as number);
      }
    }
    lastLoss = epochLoss / n;
  }
  const model: LinearModel = { weights: w, bias: b, dim, numClasses: k };
  return { scores: linearScores(model, { data: xTest, numSamples: test.numSamples, dim }), model, finalTrainLoss: lastLoss, settings };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
