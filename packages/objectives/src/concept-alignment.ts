/**
 * `concept-alignment` (LSS SPEC section 3): relates actions (categories) and their attributes
 * (descriptions) across views through the relation matrix M [K_cat, K_desc]. With M̂ = M row-normalised
 * and M̂ᵀ = Mᵀ row-normalised, the teacher's category belief implies a description belief
 * `q_desc^v = p_t^v[cat] · M̂` and its description belief implies a category belief
 * `q_cat^v = p_t^v[desc] · M̂ᵀ`; the student is trained towards them on the other views:
 * `L_CA = mean over pairs (v global, w ≠ v) of ½ [H(q_desc^v, p_s^w[desc]) + H(q_cat^v, p_s^w[cat])]`.
 */
import { formatShape, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { LSS_TEACHER_TEMPERATURE } from './concept-distillation.js';
import { crossViewCrossEntropy } from './dino-loss.js';
import { stopGradient } from './gradient.js';
import { scheduleValue, validateTemperature } from './schedules.js';
import type { ConceptAlignmentConfig, Objective, ObjectiveInputs, ObjectiveTerms } from './types.js';
import { checkNumGlobalViews, checkOptionKeys, checkPositive, spaceViews, withoutSpecKeys } from './validate.js';

/**
 * SPEC defaults: τ_s = 0.01 and the teacher temperature of concept distillation (0.004 → 0.007 over
 * 5 epochs). The teacher distributions here are NOT centred (centring belongs to concept-distillation).
 */
export const DEFAULT_CONCEPT_ALIGNMENT: ConceptAlignmentConfig = {
  studentTemperature: 0.01,
  teacherTemperature: LSS_TEACHER_TEMPERATURE,
};

const ID = 'concept-alignment';

/**
 * Row-normalises a non-negative matrix; all-zero rows stay zero (a category without descriptions, or a
 * description without categories, passes no mass).
 *
 * Input shape [R, C]. Output shape [R, C] (new tensor).
 */
export function rowNormalize(matrix: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(matrix, tf.maximum(tf.sum(matrix, 1, true), 1e-12)) as tf.Tensor2D); // [R, C] / [R, 1]
}

/**
 * Concept alignment. Needs `inputs.relation` [K_cat, K_desc] and both spaces in `student` and `teacher`
 * (with the same number of views). Terms: `loss`, `description` (H(q_desc, p_s desc) averaged over
 * pairs), `category` (H(q_cat, p_s cat)). No state.
 */
export class ConceptAlignment implements Objective {
  readonly id = ID;
  readonly config: ConceptAlignmentConfig;

  constructor(options: Partial<ConceptAlignmentConfig> = {}) {
    checkOptionKeys(ID, options, Object.keys(DEFAULT_CONCEPT_ALIGNMENT));
    this.config = { ...DEFAULT_CONCEPT_ALIGNMENT, ...withoutSpecKeys(options) };
    checkPositive(ID, 'studentTemperature', this.config.studentTemperature);
    validateTemperature(this.config.teacherTemperature, `${ID}: teacherTemperature`);
  }

  terms(inputs: ObjectiveInputs): ObjectiveTerms {
    const G = checkNumGlobalViews(ID, inputs.numGlobalViews);
    const category = spaceViews(ID, inputs.student, inputs.teacher, 'category', G);
    const description = spaceViews(ID, inputs.student, inputs.teacher, 'description', G);
    if (category.student.length !== description.student.length) {
      throw new ShapeError(
        `${ID}: student.category has ${category.student.length} views and student.description ${description.student.length}; expected the same views in both spaces.`,
      );
    }
    const relation = inputs.relation;
    const expected = [category.numConcepts, description.numConcepts];
    if (relation === undefined || relation.rank !== 2 || relation.shape[0] !== expected[0] || relation.shape[1] !== expected[1]) {
      throw new ShapeError(
        `${ID}: relation has shape ${relation === undefined ? 'undefined' : formatShape(relation.shape)}; expected ${formatShape(expected)} = [K_category, K_description] (0/1, M[i, j] = 1 when description j belongs to category i). Pass it as inputs.relation.`,
      );
    }
    const teacherTemperature = scheduleValue(this.config.teacherTemperature, inputs);
    const { studentTemperature } = this.config;
    return tf.tidy(() => {
      const m = tf.cast(relation, 'float32') as tf.Tensor2D;
      const mHat = rowNormalize(m); // [K_cat, K_desc]
      const mTHat = rowNormalize(tf.transpose(m)); // [K_desc, K_cat]
      const teacherProbs = (views: readonly tf.Tensor2D[]) =>
        views.map((t) => tf.softmax(tf.div(stopGradient(t), teacherTemperature)) as tf.Tensor2D);
      const studentLogProbs = (views: readonly tf.Tensor2D[]) =>
        views.map((s) => tf.logSoftmax(tf.div(s, studentTemperature)) as tf.Tensor2D);
      // q_desc^v = p_t^v[cat] · M̂: [B, K_cat] × [K_cat, K_desc] → [B, K_desc]
      const qDescription = teacherProbs(category.teacher).map((p) => tf.matMul(p, mHat) as tf.Tensor2D);
      // q_cat^v = p_t^v[desc] · M̂ᵀ: [B, K_desc] × [K_desc, K_cat] → [B, K_cat]
      const qCategory = teacherProbs(description.teacher).map((p) => tf.matMul(p, mTHat) as tf.Tensor2D);
      const descriptionTerm = crossViewCrossEntropy(qDescription, studentLogProbs(description.student));
      const categoryTerm = crossViewCrossEntropy(qCategory, studentLogProbs(category.student));
      const loss = tf.mul(tf.add(descriptionTerm, categoryTerm), 0.5) as tf.Scalar;
      return { loss, description: descriptionTerm, category: categoryTerm } as ObjectiveTerms;
    });
  }

  dispose(): void {}
}

/** Creates a {@link ConceptAlignment} objective; omitted options take the SPEC defaults. */
export function createConceptAlignment(options: Partial<ConceptAlignmentConfig> = {}): ConceptAlignment {
  return new ConceptAlignment(options);
}
