/**
 * The DINO loss on free logits and its running centre: the computational core shared by
 * `concept-distillation` (scores in concept space) and the `dino` baseline (logits of a learned head).
 * Reference: DINO `main_dino.py` `DINOLoss.forward` / `update_center` (Caron et al., 2021).
 */
import { formatShape, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { stopGradient } from './gradient.js';
import type { BatchMean } from './types.js';

/** Inputs of {@link dinoLoss}. Tensors are owned by the caller. */
export interface DinoLossOptions {
  /** Student logits, one [B, K] tensor per view (V views; the first G are the global views). */
  readonly student: readonly tf.Tensor2D[];
  /** Teacher logits, one [B, K] tensor per global view (G views). No gradient flows into them. */
  readonly teacher: readonly tf.Tensor2D[];
  /** Running centre subtracted from the teacher logits, [1, K] or [K]. Omit for no centring. */
  readonly center?: tf.Tensor;
  /** τ_s. */
  readonly studentTemperature: number;
  /** τ_t. */
  readonly teacherTemperature: number;
}

/**
 * Cross-view cross-entropy between sharpened teacher targets and student log-probabilities:
 * mean over pairs (v < G, w < V, w ≠ v) of mean over the batch of `−Σ_k q_v[b, k] · log p_w[b, k]`.
 * Pairs number G·V − G (DINO: `n_loss_terms`). Teacher view v is student view v (the same crop).
 *
 * Output: a scalar (new tensor).
 */
export function crossViewCrossEntropy(targets: readonly tf.Tensor2D[], studentLogProbs: readonly tf.Tensor2D[]): tf.Scalar {
  const numPairs = targets.length * studentLogProbs.length - Math.min(targets.length, studentLogProbs.length);
  if (targets.length === 0 || numPairs <= 0) {
    throw new ShapeError(
      `crossViewCrossEntropy: ${targets.length} teacher views and ${studentLogProbs.length} student views give no pair of different views; expected >= 1 teacher view and >= 2 student views.`,
    );
  }
  return tf.tidy(() => {
    const perPair: tf.Scalar[] = [];
    targets.forEach((q, v) => {
      studentLogProbs.forEach((logP, w) => {
        if (w === v) return; // the same view: not a cross-view pair
        // [B, K] · [B, K] → sum over K → [B] → mean over B
        perPair.push(tf.mean(tf.neg(tf.sum(tf.mul(q, logP), -1))) as tf.Scalar);
      });
    });
    return tf.div(tf.addN(perPair), numPairs) as tf.Scalar;
  });
}

/**
 * The teacher's sharpened logits `(t − c) / τ_t` on a gradient-stopped copy of `t` (DINO: the teacher
 * output is detached); `softmax` of them is THE teacher distribution `p_t` of SPEC section 3, shared by
 * concept distillation, concept alignment and the dino baseline.
 *
 * Input shapes: `teacher` [B, K], `center` [1, K] or [K] (optional). Output: [B, K] (new tensor).
 */
export function sharpenedTeacherLogits(teacher: tf.Tensor2D, center: tf.Tensor | undefined, temperature: number): tf.Tensor2D {
  return tf.tidy(() => {
    const detached = stopGradient(teacher);
    const centred = center === undefined ? detached : tf.sub(detached, center); // [B, K] − [1, K]
    return tf.div(centred, temperature) as tf.Tensor2D;
  });
}

/**
 * Teacher and student distributions of DINO, plus the diagnostic teacher entropy.
 * Returns `{ loss, teacherEntropy }` (new scalars).
 */
export function dinoLossTerms(options: DinoLossOptions): { loss: tf.Scalar; teacherEntropy: tf.Scalar } {
  const { student, teacher, center, studentTemperature, teacherTemperature } = options;
  if (student.length === 0 || teacher.length === 0) {
    throw new ShapeError(
      `dinoLoss: received ${student.length} student and ${teacher.length} teacher views; expected at least 2 student views and 1 teacher view.`,
    );
  }
  const K = (student[0] as tf.Tensor2D).shape[1];
  if (center !== undefined && center.size !== K) {
    throw new ShapeError(`dinoLoss: center has shape ${formatShape(center.shape)}; expected [1, ${K}] (one value per logit).`);
  }
  return tf.tidy(() => {
    const teacherLogits = teacher.map((t) => sharpenedTeacherLogits(t, center, teacherTemperature));
    const targets = teacherLogits.map((z) => tf.softmax(z) as tf.Tensor2D);
    // Student: log_softmax(s / τ_s); never log(softmax(·)), which is −∞ for extreme scores.
    const studentLogProbs = student.map((s) => tf.logSoftmax(tf.div(s, studentTemperature)) as tf.Tensor2D);
    const loss = crossViewCrossEntropy(targets, studentLogProbs);
    // Entropy of the teacher distribution, mean over views and batch (collapse diagnostic).
    const entropies = teacherLogits.map((z, v) => tf.mean(tf.neg(tf.sum(tf.mul(targets[v] as tf.Tensor2D, tf.logSoftmax(z)), -1))));
    const teacherEntropy = tf.div(tf.addN(entropies), entropies.length) as tf.Scalar;
    return { loss, teacherEntropy };
  });
}

/**
 * DINO's loss on free logits: `mean over pairs (v < G, w ≠ v) of H(softmax((t_v − c)/τ_t), softmax(s_w/τ_s))`.
 * Does not update the centre (call {@link updateCenter} after the loss, as DINO does).
 *
 * Input shapes: student V × [B, K], teacher G × [B, K], center [1, K]. Output: scalar.
 *
 * @example
 * const loss = dinoLoss({ student, teacher, center, studentTemperature: 0.1, teacherTemperature: 0.04 });
 * const next = updateCenter(center, teacher, 0.9); // then center.assign(next)
 */
export function dinoLoss(options: DinoLossOptions): tf.Scalar {
  const { loss, teacherEntropy } = dinoLossTerms(options);
  teacherEntropy.dispose();
  return loss;
}

/**
 * DINO's centre EMA: `c ← m · c + (1 − m) · mean over batch and views of the raw (uncentred) teacher logits`.
 *
 * Input shapes: center [1, K], teacher G × [B, K]. Output: the new centre [1, K] (new tensor).
 * The mean is a batch statistic: `batchMean` (when given) makes it the global batch's (all ranks).
 */
export function updateCenter(center: tf.Tensor, teacher: readonly tf.Tensor2D[], momentum: number, batchMean?: BatchMean): tf.Tensor2D {
  return tf.tidy(() => {
    const all = tf.concat(teacher as tf.Tensor2D[], 0); // G × [B, K] → [G·B, K]
    const localCenter = tf.mean(all, 0, true); // [1, K]
    const batchCenter = batchMean === undefined ? localCenter : batchMean(localCenter, all.shape[0]); // DINO: all_reduce / world size
    return tf.add(tf.mul(tf.reshape(center, batchCenter.shape), momentum), tf.mul(batchCenter, 1 - momentum)) as tf.Tensor2D;
  });
}
