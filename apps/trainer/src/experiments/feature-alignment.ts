/**
 * An example of a researcher-written objective, loaded from a config entry
 * `{ name: module, module: ../src/experiments/feature-alignment.ts, weight: 0.5, options: { ... } }`
 * or injected with `runTraining(config, { objectives: [createFeatureAlignment()] })`.
 *
 * Feature alignment (a BYOL-style term, our example, not part of LSS): for each global view v and
 * every other student view w, `1 − cos(f_s^w, f_t^v)` on the backbone embeddings, averaged over
 * pairs and the batch. The teacher features are computed outside the gradient tape by the trainer.
 */
import type { Objective, ObjectiveInputs, ObjectiveTerms } from '@lss/objectives';
import * as tf from '@tensorflow/tfjs-core';
import type { ObjectiveContext } from '../run.js';

export interface FeatureAlignmentOptions {
  /** Also align each view with the teacher's output on the same view (default false: cross-view pairs only). */
  readonly sameView?: boolean;
}

function normalize(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.add(tf.norm(x, 2, 1, true), 1e-6)) as tf.Tensor2D; // [B, E] rows to unit norm
}

export function createFeatureAlignment(options: FeatureAlignmentOptions = {}, _context?: ObjectiveContext): Objective {
  const sameView = options.sameView ?? false;
  return {
    id: 'feature-alignment',
    terms(inputs: ObjectiveInputs): ObjectiveTerms {
      const student = inputs.studentFeatures;
      const teacher = inputs.teacherFeatures;
      if (!student || !teacher) throw new Error('feature-alignment needs studentFeatures and teacherFeatures.');
      return tf.tidy(() => {
        const costs: tf.Scalar[] = [];
        teacher.forEach((t, v) => {
          const tn = normalize(t);
          student.forEach((s, w) => {
            if (w === v && !sameView) return;
            const cos = tf.sum(tf.mul(normalize(s), tn), 1); // [B]
            costs.push(tf.mean(tf.sub(1, cos)) as tf.Scalar);
          });
        });
        const loss = tf.div(tf.addN(costs), costs.length) as tf.Scalar;
        return { loss, pairs: tf.scalar(costs.length) };
      }) as ObjectiveTerms;
    },
    dispose: () => undefined,
  };
}

/** The module-file entry point: `(options, context) => Objective`. */
export default function factory(options: Record<string, unknown>, context: ObjectiveContext): Objective {
  return createFeatureAlignment(options as FeatureAlignmentOptions, context);
}
