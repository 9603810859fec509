/**
 * `uniform-prior` (LSS SPEC section 3): keeps the student from collapsing onto a few concepts.
 * `p̄_X = mean over batch and student views of softmax(s_s / τ_s)`,
 * `L_U = Σ_X KL(p̄_X ‖ U) = Σ_X Σ_k p̄_X[k] log(K_X p̄_X[k])`.
 * `log p̄_X` is computed as a log-sum-exp of log-softmax values, so it stays finite (and the gradient
 * too) even when a concept's mean probability underflows to 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchMean, Objective, ObjectiveInputs, ObjectiveTerms, UniformPriorConfig } from './types.js';
import { checkOptionKeys, checkPositive, checkSpaces, checkViewList, withoutSpecKeys } from './validate.js';

/** SPEC defaults: τ_s = 0.01 (the student temperature of concept distillation), summed over both spaces. */
export const DEFAULT_UNIFORM_PRIOR: UniformPriorConfig = {
  studentTemperature: 0.01,
  spaces: ['category', 'description'],
};

const ID = 'uniform-prior';

/**
 * KL divergence of a set of student distributions' mean to the uniform distribution.
 *
 * Input shape: `logits` N × [B, K] (views). Output: scalar `Σ_k p̄[k] log(K p̄[k])` (new tensor).
 * `p̄` is a batch statistic: `batchMean` (when given) turns the local mean into the global batch's.
 */
export function klToUniform(logits: readonly tf.Tensor2D[], temperature: number, batchMean?: BatchMean): tf.Scalar {
  return tf.tidy(() => {
    const all = tf.concat(logits as tf.Tensor2D[], 0); // N × [B, K] → [N·B, K]
    const [rows, K] = all.shape;
    const logP = tf.logSoftmax(tf.div(all, temperature)); // [N·B, K]
    // log p̄[k] = log Σ_n exp(log p[n, k]) − log(N·B)
    const logMean = tf.sub(tf.logSumExp(logP, 0), Math.log(rows)); // [K]
    if (batchMean === undefined) {
      // Σ_k p̄ (log p̄ + log K); exp(log p̄) = 0 makes an underflowed concept contribute exactly 0.
      return tf.sum(tf.mul(tf.exp(logMean), tf.add(logMean, Math.log(K)))) as tf.Scalar;
    }
    // The global batch's p̄ (e.g. all-reduced over ranks); a concept at exactly 0 contributes 0 · log(tiny) = 0.
    const mean = batchMean(tf.exp(logMean), rows); // [K]
    return tf.sum(tf.mul(mean, tf.add(tf.log(tf.maximum(mean, 1e-38)), Math.log(K)))) as tf.Scalar;
  });
}

/**
 * The uniform prior objective. Terms: `loss` (sum over spaces) and one KL per space. No state.
 * Uses only `inputs.student` (all views, global and local).
 */
export class UniformPrior implements Objective {
  readonly id = ID;
  readonly config: UniformPriorConfig;

  constructor(options: Partial<UniformPriorConfig> = {}) {
    checkOptionKeys(ID, options, Object.keys(DEFAULT_UNIFORM_PRIOR));
    this.config = { ...DEFAULT_UNIFORM_PRIOR, ...withoutSpecKeys(options) };
    checkPositive(ID, 'studentTemperature', this.config.studentTemperature);
    checkSpaces(ID, this.config.spaces);
  }

  terms(inputs: ObjectiveInputs): ObjectiveTerms {
    for (const space of this.config.spaces) checkViewList(ID, `student.${space}`, inputs.student[space]);
    return tf.tidy(() => {
      const result: Record<string, tf.Scalar> = {};
      const perSpace = this.config.spaces.map((space) => {
        const kl = klToUniform(inputs.student[space] as readonly tf.Tensor2D[], this.config.studentTemperature, inputs.batchMean);
        result[space] = kl;
        return kl;
      });
      result.loss = tf.addN(perSpace) as tf.Scalar;
      return result as ObjectiveTerms;
    });
  }

  dispose(): void {}
}

/** Creates a {@link UniformPrior} objective; omitted options take the SPEC defaults. */
export function createUniformPrior(options: Partial<UniformPriorConfig> = {}): UniformPrior {
  return new UniformPrior(options);
}
