/**
 * `concept-alignment` (LSS SPEC section 3): relates actions (categories) and their attributes
 * (descriptions) across views through the relation matrix M [K_cat, K_desc]. With M̂ = M row-normalised
 * and M̂ᵀ = Mᵀ row-normalised, the teacher's category belief implies a description belief
 * `q_desc^v = p_t^v[cat] · M̂` and its description belief implies a category belief
 * `q_cat^v = p_t^v[desc] · M̂ᵀ`, where `p_t` is concept distillation's teacher distribution (centre
 * included); the student is trained towards them on the other views:
 * `L_CA = mean over pairs (v global, w ≠ v) of ½ [H(q_desc^v, p_s^w[desc]) + H(q_cat^v, p_s^w[cat])]`.
 */
import { ConfigError, formatShape, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_CONCEPT_DISTILLATION } from './concept-distillation.js';
import { crossViewCrossEntropy } from './dino-loss.js';
import { TeacherDistribution } from './teacher-distribution.js';
import type { ConceptAlignmentConfig, Objective, ObjectiveInputs, ObjectiveTerms } from './types.js';
import { checkNumGlobalViews, checkOptionKeys, checkPositive, spaceViews, withoutSpecKeys } from './validate.js';

/**
 * SPEC default: τ_s = 0.01. There is no teacher temperature here: the teacher distributions are
 * concept distillation's (SPEC section 3: one `p_t` per view and space), shared through
 * `linkTeacherDistributions` (which `createObjectives` calls); alone, alignment uses a distribution
 * with concept distillation's defaults.
 */
export const DEFAULT_CONCEPT_ALIGNMENT: ConceptAlignmentConfig = {
  studentTemperature: 0.01,
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
  private ownDistribution: TeacherDistribution | null;
  private distribution: TeacherDistribution;

  constructor(options: Partial<ConceptAlignmentConfig> = {}) {
    if ('teacherTemperature' in options) {
      throw new ConfigError(
        `${ID}: teacherTemperature is not an option of concept alignment: its teacher distributions are concept distillation's (SPEC section 3, one p_t). Set the temperature on concept-distillation.`,
      );
    }
    checkOptionKeys(ID, options, Object.keys(DEFAULT_CONCEPT_ALIGNMENT));
    this.config = { ...DEFAULT_CONCEPT_ALIGNMENT, ...withoutSpecKeys(options) };
    checkPositive(ID, 'studentTemperature', this.config.studentTemperature);
    const d = DEFAULT_CONCEPT_DISTILLATION;
    this.ownDistribution = new TeacherDistribution({
      temperature: d.teacherTemperature,
      centering: false,
      centerMomentum: d.centerMomentum,
      scope: `objectives/${ID}`,
    });
    this.distribution = this.ownDistribution;
  }

  /** The teacher distribution the targets come from (concept distillation's once linked). */
  get teacherDistribution(): TeacherDistribution {
    return this.distribution;
  }

  /** Uses `distribution` (concept distillation's) from now on; the alignment owns no state then. */
  useTeacherDistribution(distribution: TeacherDistribution): void {
    this.ownDistribution?.dispose();
    this.ownDistribution = null;
    this.distribution = distribution;
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
    const { studentTemperature } = this.config;
    const distribution = this.distribution;
    return tf.tidy(() => {
      const m = tf.cast(relation, 'float32') as tf.Tensor2D;
      const mHat = rowNormalize(m); // [K_cat, K_desc]
      const mTHat = rowNormalize(tf.transpose(m)); // [K_desc, K_cat]
      // p_t^v: the teacher distribution concept distillation uses (same temperature, same centre).
      const categoryProbs = distribution.probabilities(category.teacher, 'category', inputs);
      const descriptionProbs = distribution.probabilities(description.teacher, 'description', inputs);
      const studentLogProbs = (views: readonly tf.Tensor2D[]) =>
        views.map((s) => tf.logSoftmax(tf.div(s, studentTemperature)) as tf.Tensor2D);
      // q_desc^v = p_t^v[cat] · M̂: [B, K_cat] × [K_cat, K_desc] → [B, K_desc]
      const qDescription = categoryProbs.map((p) => tf.matMul(p, mHat) as tf.Tensor2D);
      // q_cat^v = p_t^v[desc] · M̂ᵀ: [B, K_desc] × [K_desc, K_cat] → [B, K_cat]
      const qCategory = descriptionProbs.map((p) => tf.matMul(p, mTHat) as tf.Tensor2D);
      const descriptionTerm = crossViewCrossEntropy(qDescription, studentLogProbs(description.student));
      const categoryTerm = crossViewCrossEntropy(qCategory, studentLogProbs(category.student));
      const loss = tf.mul(tf.add(descriptionTerm, categoryTerm), 0.5) as tf.Scalar;
      return { loss, description: descriptionTerm, category: categoryTerm } as ObjectiveTerms;
    });
  }

  dispose(): void {
    this.ownDistribution?.dispose();
  }
}

/** Creates a {@link ConceptAlignment} objective; omitted options take the SPEC defaults. */
export function createConceptAlignment(options: Partial<ConceptAlignmentConfig> = {}): ConceptAlignment {
  return new ConceptAlignment(options);
}
