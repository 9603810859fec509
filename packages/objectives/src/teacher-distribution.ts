/**
 * The teacher distribution of the concept objectives (LSS SPEC section 3): per concept space X and
 * global view v, `p_t^v = softmax((s_t^v − c_X) / τ_t)`, with an optional running centre `c_X` (DINO).
 * There is ONE such distribution per view and space: concept distillation owns it, and concept
 * alignment consumes the very same one (same temperature, same centre), so changing the temperature or
 * turning centring on changes both (`linkTeacherDistributions`).
 */
import { ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { sharpenedTeacherLogits, updateCenter } from './dino-loss.js';
import { scheduleValue } from './schedules.js';
import { assertVariableNameFree } from './state.js';
import { type BatchMean, CONCEPT_SPACES, type ConceptSpace, type TemperatureSetting } from './types.js';

export interface TeacherDistributionConfig {
  /** τ_t, constant or warmed up. */
  readonly temperature: TemperatureSetting;
  /** Subtract a running centre before sharpening (DINO). */
  readonly centering: boolean;
  /** Centre EMA momentum m: c ← m c + (1 − m) mean(teacher). */
  readonly centerMomentum: number;
  /** Variable path prefix of the centres: `<scope>/center/<space>`. */
  readonly scope: string;
}

export class TeacherDistribution {
  private readonly centers = new Map<ConceptSpace, tf.Variable>();

  constructor(readonly config: TeacherDistributionConfig) {}

  /** τ_t at a step/epoch. */
  temperatureAt(at: { readonly step: number; readonly epoch: number }): number {
    return scheduleValue(this.config.temperature, at);
  }

  /** The centre of a space (created as zeros [1, K] on first use, DINO), or undefined without centring. */
  center(space: ConceptSpace, numConcepts: number): tf.Variable | undefined {
    if (!this.config.centering) return undefined;
    let center = this.centers.get(space);
    if (center === undefined) {
      assertVariableNameFree('teacher distribution', this.centerName(space));
      center = tf.tidy(() => tf.variable(tf.zeros([1, numConcepts]), false, this.centerName(space)));
      this.centers.set(space, center);
    } else if (center.shape[1] !== numConcepts) {
      throw new ShapeError(
        `${space} teacher scores have ${numConcepts} concepts but the running centre has ${center.shape[1]}. The concept bank changed size mid-run; create new objectives (or load a matching checkpoint).`,
      );
    }
    return center;
  }

  /**
   * `p_t^v` for each given global view of one space (gradient-stopped).
   * Input: G × [B, K] teacher scores. Output: G × [B, K] probabilities (new tensors).
   */
  probabilities(
    teacher: readonly tf.Tensor2D[],
    space: ConceptSpace,
    at: { readonly step: number; readonly epoch: number },
  ): tf.Tensor2D[] {
    const center = this.center(space, (teacher[0] as tf.Tensor2D).shape[1]);
    const temperature = this.temperatureAt(at);
    return tf.tidy(() => teacher.map((t) => tf.softmax(sharpenedTeacherLogits(t, center, temperature)) as tf.Tensor2D));
  }

  /** Centre update after the step, from the raw teacher scores of the whole batch: every space that has a centre. */
  updateCenters(teacher: Readonly<Partial<Record<ConceptSpace, readonly tf.Tensor2D[]>>>, batchMean?: BatchMean): void {
    for (const [space, center] of this.centers) {
      const views = teacher[space];
      if (!views || views.length === 0) continue;
      tf.tidy(() => center.assign(updateCenter(center, views, this.config.centerMomentum, batchMean)));
    }
  }

  /** The centres by variable name. */
  variables(): Map<string, tf.Variable> {
    return new Map([...this.centers.values()].map((v) => [v.name, v]));
  }

  /** Restores a centre saved under `<scope>/center/<space>`; false when `key` is not one of ours. */
  loadCenter(key: string, value: tf.Tensor): boolean {
    const space = CONCEPT_SPACES.find((s) => key === this.centerName(s));
    if (space === undefined || !this.config.centering) return false;
    const variable = this.center(space, value.shape[value.shape.length - 1] as number) as tf.Variable;
    tf.tidy(() => variable.assign(tf.reshape(tf.cast(value, 'float32'), variable.shape)));
    return true;
  }

  dispose(): void {
    for (const v of this.centers.values()) v.dispose();
    this.centers.clear();
  }

  private centerName(space: ConceptSpace): string {
    return `${this.config.scope}/center/${space}`;
  }
}
