/** SPEC section 3: one teacher distribution p_t per view and space, shared by distillation and alignment. */
import { ConfigError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { randomInputs } from './__fixtures__/inputs.js';
import { type ConceptAlignment, createConceptAlignment, rowNormalize } from './concept-alignment.js';
import type { ConceptDistillation } from './concept-distillation.js';
import { crossViewCrossEntropy } from './dino-loss.js';
import { createObjectives } from './registry.js';

afterEach(() => tf.disposeVariables());

/** L_CA computed by hand from given teacher probabilities (the SPEC formula). */
function alignmentByHand(
  inputs: ReturnType<typeof randomInputs>,
  pCategory: tf.Tensor2D[],
  pDescription: tf.Tensor2D[],
  tauS: number,
): number {
  return tf.tidy(() => {
    const m = inputs.relation as tf.Tensor2D;
    const qDesc = pCategory.map((p) => tf.matMul(p, rowNormalize(m)) as tf.Tensor2D);
    const qCat = pDescription.map((p) => tf.matMul(p, rowNormalize(tf.transpose(m) as tf.Tensor2D)) as tf.Tensor2D);
    const logP = (views: readonly tf.Tensor2D[]) => views.map((s) => tf.logSoftmax(tf.div(s, tauS)) as tf.Tensor2D);
    const d = crossViewCrossEntropy(qDesc, logP(inputs.student.description ?? []));
    const c = crossViewCrossEntropy(qCat, logP(inputs.student.category ?? []));
    return tf.mul(tf.add(d, c), 0.5).dataSync()[0] as number;
  });
}

describe('one teacher distribution (concept distillation -> concept alignment)', () => {
  it('alignment consumes the distribution distillation made: its temperature and its centre', () => {
    const inputs = randomInputs({ scale: 0.05, seed: 7 });
    const [distillation, alignment] = createObjectives([
      { name: 'concept-distillation', centering: true, teacherTemperature: 0.02 },
      { name: 'concept-alignment' },
    ]).map((w) => w.objective) as [ConceptDistillation, ConceptAlignment];
    expect(alignment.teacherDistribution).toBe(distillation.teacherDistribution);
    // Move the centre away from zero, as after a few steps.
    tf.tidy(() => distillation.terms(inputs)); // creates the centres
    distillation.afterStep({ ...inputs, teacherMomentum: 0.9 });
    const centres = distillation.variables();
    expect([...centres.keys()].sort()).toEqual([
      'objectives/concept-distillation/center/category',
      'objectives/concept-distillation/center/description',
    ]);
    const probs = (space: 'category' | 'description') =>
      (inputs.teacher[space] ?? []).map(
        (t) =>
          tf.softmax(tf.div(tf.sub(t, centres.get(`objectives/concept-distillation/center/${space}`) as tf.Variable), 0.02)) as tf.Tensor2D,
      );
    const expected = tf.tidy(() => alignmentByHand(inputs, probs('category'), probs('description'), 0.01));
    const loss = tf.tidy(() => alignment.terms(inputs).loss.dataSync()[0] as number);
    expect(loss).toBeCloseTo(expected, 4);
    // An alignment with a distribution of its own (no centre, 0.004 -> 0.007) gives another value: the link matters.
    const alone = createConceptAlignment();
    const aloneLoss = tf.tidy(() => alone.terms(inputs).loss.dataSync()[0] as number);
    expect(Math.abs(aloneLoss - loss)).toBeGreaterThan(1e-3);
    for (const o of [distillation, alignment, alone]) o.dispose();
    inputs.dispose();
  });

  it('has no teacher temperature of its own', () => {
    expect(() => createConceptAlignment({ teacherTemperature: 0.05 } as never)).toThrow(ConfigError);
    expect(() => createConceptAlignment({ teacherTemperature: 0.05 } as never)).toThrow(/concept distillation's/);
  });
});
