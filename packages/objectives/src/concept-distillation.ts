/**
 * `concept-distillation` (LSS SPEC section 3): per concept space X, the teacher's sharpened belief
 * `p_t^v = softmax((s_t^v − c_X) / τ_t)` is distilled into the student's
 * `log p_s^w = log_softmax(s_s^w / τ_s)` over cross-view pairs (v global, w any view, w ≠ v):
 * `L_CD = mean over X and pairs of −Σ_k p_t^v[k] log p_s^w[k]`. With centring on and free logits this
 * is DINO's loss (`main_dino.py` DINOLoss), checked against `fixtures/dino-loss`.
 */
import { ConfigError, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { dinoLossTerms, updateCenter } from './dino-loss.js';
import { scheduleValue, validateTemperature } from './schedules.js';
import { assertVariableNameFree, assignVariables } from './state.js';
import type {
  AfterStepInputs,
  ConceptDistillationConfig,
  ConceptSpace,
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
  private readonly centers = new Map<ConceptSpace, tf.Variable>();

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
  }

  terms(inputs: ObjectiveInputs): ObjectiveTerms {
    const G = checkNumGlobalViews(ID, inputs.numGlobalViews);
    const teacherTemperature = scheduleValue(this.config.teacherTemperature, inputs);
    const perSpace = this.config.spaces.map((space) => {
      const views = spaceViews(ID, inputs.student, inputs.teacher, space, G);
      const center = this.config.centering ? this.center(space, views.numConcepts) : undefined;
      return { space, views, center };
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

  /** Centre update (only with `centering`): `c_X ← m c_X + (1 − m) mean(raw teacher scores)`, after the loss. */
  afterStep(inputs: AfterStepInputs): void {
    if (!this.config.centering) return;
    const G = checkNumGlobalViews(ID, inputs.numGlobalViews);
    for (const space of this.config.spaces) {
      const teacher = inputs.teacher[space];
      const [, K] = checkViewList(ID, `teacher.${space}`, teacher, G);
      const center = this.center(space, K);
      tf.tidy(() => center.assign(updateCenter(center, teacher as readonly tf.Tensor2D[], this.config.centerMomentum)));
    }
  }

  variables(): ReadonlyMap<string, tf.Variable> {
    return new Map([...this.centers.values()].map((variable) => [variable.name, variable]));
  }

  loadVariables(values: VariableValues): void {
    assignVariables(ID, this.variables(), values, (key, value) => {
      const space = this.config.spaces.find((s) => key === this.centerName(s));
      if (space === undefined || !this.config.centering) return undefined;
      const variable = this.center(space, value.shape[value.shape.length - 1] as number);
      tf.tidy(() => variable.assign(tf.reshape(tf.cast(value, 'float32'), variable.shape)));
      return variable;
    });
  }

  dispose(): void {
    for (const variable of this.centers.values()) variable.dispose();
    this.centers.clear();
  }

  private centerName(space: ConceptSpace): string {
    return `${this.config.scope}/center/${space}`;
  }

  /** The centre of a space, created as zeros [1, K] on first use (DINO starts from zeros). */
  private center(space: ConceptSpace, numConcepts: number): tf.Variable {
    let center = this.centers.get(space);
    if (center === undefined) {
      assertVariableNameFree(ID, this.centerName(space));
      center = tf.tidy(() => tf.variable(tf.zeros([1, numConcepts]), false, this.centerName(space)));
      this.centers.set(space, center);
    } else if (center.shape[1] !== numConcepts) {
      throw new ShapeError(
        `${ID}: ${space} scores have ${numConcepts} concepts but the running centre has ${center.shape[1]}. The concept bank changed size mid-run; create a new objective (or load a matching checkpoint).`,
      );
    }
    return center;
  }
}

/** Creates a {@link ConceptDistillation} objective; omitted options take the SPEC defaults. */
export function createConceptDistillation(options: Partial<ConceptDistillationConfig> = {}): ConceptDistillation {
  return new ConceptDistillation(options);
}
