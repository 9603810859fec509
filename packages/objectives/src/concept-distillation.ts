/**
 * `concept-distillation` (LSS SPEC section 3): per concept space X, the teacher's sharpened belief
 * `p_t^v = softmax((s_t^v − c_X) / τ_t)` is distilled into the student's
 * `log p_s^w = log_softmax(s_s^w / τ_s)` over cross-view pairs (v global, w any view, w ≠ v):
 * `L_CD = mean over X and pairs of −Σ_k p_t^v[k] log p_s^w[k]`. With centring on and free logits this
 * is DINO's loss (`main_dino.py` DINOLoss), checked against `fixtures/dino-loss`.
 */
import { ConfigError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { dinoLossTerms } from './dino-loss.js';
import { validateTemperature } from './schedules.js';
import { assignVariables } from './state.js';
import { TeacherDistribution } from './teacher-distribution.js';
import type {
  AfterStepInputs,
  ConceptDistillationConfig,
  Objective,
  ObjectiveInputs,
  ObjectiveTerms,
  VariableValues,
  WarmupSchedule,
} from './types.js';
import {
  checkMomentum,
  checkNumGlobalViews,
  checkOptionKeys,
  checkPositive,
  checkSpaces,
  checkViewList,
  spaceViews,
  withoutSpecKeys,
} from './validate.js';

/** SPEC default teacher temperature of the concept objectives: 0.004 → 0.007 over the first 5 epochs, then 0.007. */
export const LSS_TEACHER_TEMPERATURE: WarmupSchedule = { start: 0.004, end: 0.007, warmupLength: 5, unit: 'epoch' };

/** SPEC defaults: τ_s = 0.01 (CLIP logit scale 100), τ_t warm-up 0.004 → 0.007, centring off (momentum 0.9 when on), both spaces. */
export const DEFAULT_CONCEPT_DISTILLATION: ConceptDistillationConfig = {
  studentTemperature: 0.01,
  teacherTemperature: LSS_TEACHER_TEMPERATURE,
  centering: false,
  centerMomentum: 0.9,
  spaces: ['category', 'description'],
  scope: 'objectives/concept-distillation',
};

const ID = 'concept-distillation';

/**
 * Concept distillation between an EMA teacher and the student in concept space.
 *
 * Inputs: `student[X]` V × [B, K_X], `teacher[X]` G × [B, K_X] for each configured space X.
 * Terms: `loss` (mean over spaces), one per space (`category`, `description`), `teacherEntropy`.
 * State: with `centering`, one centre [1, K_X] per space, `<scope>/center/<space>`, created at the
 * first call (or by `loadVariables`) and updated in `afterStep` from the raw teacher scores.
 */
export class ConceptDistillation implements Objective {
  readonly id = ID;
  readonly config: ConceptDistillationConfig;
  /** The teacher distribution p_t (temperature, centres); concept alignment shares it (`linkTeacherDistributions`). */
  readonly teacherDistribution: TeacherDistribution;

  constructor(options: Partial<ConceptDistillationConfig> = {}) {
    checkOptionKeys(ID, options, Object.keys(DEFAULT_CONCEPT_DISTILLATION));
    this.config = { ...DEFAULT_CONCEPT_DISTILLATION, ...withoutSpecKeys(options) };
    checkPositive(ID, 'studentTemperature', this.config.studentTemperature);
    validateTemperature(this.config.teacherTemperature, `${ID}: teacherTemperature`);
    checkMomentum(ID, 'centerMomentum', this.config.centerMomentum);
    checkSpaces(ID, this.config.spaces);
    if (typeof this.config.centering !== 'boolean') {
      throw new ConfigError(`${ID}: centering must be true or false; received ${JSON.stringify(this.config.centering)}.`);
    }
    this.teacherDistribution = new TeacherDistribution({
      temperature: this.config.teacherTemperature,
      centering: this.config.centering,
      centerMomentum: this.config.centerMomentum,
      scope: this.config.scope,
    });
  }

  terms(inputs: ObjectiveInputs): ObjectiveTerms {
    const G = checkNumGlobalViews(ID, inputs.numGlobalViews);
    const teacherTemperature = this.teacherDistribution.temperatureAt(inputs);
    const perSpace = this.config.spaces.map((space) => {
      const views = spaceViews(ID, inputs.student, inputs.teacher, space, G);
      return { space, views, center: this.teacherDistribution.center(space, views.numConcepts) };
    });
    return tf.tidy(() => {
      const result: Record<string, tf.Scalar> = {};
      const losses: tf.Scalar[] = [];
      const entropies: tf.Scalar[] = [];
      for (const { space, views, center } of perSpace) {
        const { loss, teacherEntropy } = dinoLossTerms({
          student: views.student,
          teacher: views.teacher,
          ...(center === undefined ? {} : { center }),
          studentTemperature: this.config.studentTemperature,
          teacherTemperature,
        });
        result[space] = loss;
        losses.push(loss);
        entropies.push(teacherEntropy);
      }
      result.loss = tf.div(tf.addN(losses), losses.length) as tf.Scalar;
      result.teacherEntropy = tf.div(tf.addN(entropies), entropies.length) as tf.Scalar;
      return result as ObjectiveTerms;
    });
  }

  /**
   * Centre update (only with `centering`): `c_X ← m c_X + (1 − m) mean(raw teacher scores)` over the
   * whole batch, after the loss; every space whose centre the loss (or concept alignment) used.
   */
  afterStep(inputs: AfterStepInputs): void {
    if (!this.config.centering) return;
    const G = checkNumGlobalViews(ID, inputs.numGlobalViews);
    for (const space of this.config.spaces) {
      const [, K] = checkViewList(ID, `teacher.${space}`, inputs.teacher[space], G);
      this.teacherDistribution.center(space, K);
    }
    this.teacherDistribution.updateCenters(inputs.teacher, inputs.batchMean);
  }

  variables(): ReadonlyMap<string, tf.Variable> {
    return this.teacherDistribution.variables();
  }

  loadVariables(values: VariableValues): void {
    assignVariables(ID, this.variables(), values, (key, value) =>
      this.teacherDistribution.loadCenter(key, value) ? this.teacherDistribution.variables().get(key) : undefined,
    );
  }

  dispose(): void {
    this.teacherDistribution.dispose();
  }
}

/** Creates a {@link ConceptDistillation} objective; omitted options take the SPEC defaults. */
export function createConceptDistillation(options: Partial<ConceptDistillationConfig> = {}): ConceptDistillation {
  return new ConceptDistillation(options);
}
