/** The README's examples, run as written (minus printing), so the documentation cannot rot. */
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, expect, it } from 'vitest';
import { createObjectives, registerObjective, sumLossTerms } from './registry.js';
import type { Objective, ObjectiveInputs } from './types.js';

afterEach(() => tf.disposeVariables());

it('standalone example, injection and registration', () => {
  const B = 4;
  const Kc = 10;
  const Kd = 30;
  const scores = (n: number, k: number) => Array.from({ length: n }, () => tf.randomUniform([B, k], -1, 1) as tf.Tensor2D);
  const inputs: ObjectiveInputs = {
    student: { category: scores(4, Kc), description: scores(4, Kd) },
    teacher: { category: scores(2, Kc), description: scores(2, Kd) },
    numGlobalViews: 2,
    relation: tf.cast(tf.greater(tf.randomUniform([Kc, Kd]), 0.8), 'float32') as tf.Tensor2D,
    step: 0,
    epoch: 0,
  };
  const specs = [
    { name: 'concept-distillation', weight: 1 },
    { name: 'concept-alignment', weight: 1 },
    { name: 'uniform-prior', weight: 1 },
  ] as const;
  const objectives = createObjectives(specs);
  const { total, terms } = sumLossTerms(objectives, inputs);
  expect(Number.isFinite(total.dataSync()[0])).toBe(true);
  expect(Object.keys(terms)).toContain('concept-distillation/loss');
  expect(Object.keys(terms)).toContain('uniform-prior/category');
  for (const { objective } of objectives) objective.afterStep?.({ ...inputs, teacherMomentum: 0.996 });

  const createEntropyBonus = (): Objective => ({
    id: 'entropy-bonus',
    terms: (inputs) =>
      tf.tidy(() => {
        const logP = tf.logSoftmax(tf.div(tf.concat(inputs.student.category as tf.Tensor2D[], 0), 0.01));
        return { loss: tf.mean(tf.sum(tf.mul(tf.exp(logP), logP), -1)) as tf.Scalar };
      }),
    dispose: () => {},
  });
  const injected = sumLossTerms([...createObjectives(specs), { objective: createEntropyBonus(), weight: 0.1 }], inputs);
  expect(Object.keys(injected.terms)).toContain('entropy-bonus/loss');
  registerObjective('entropy-bonus', () => createEntropyBonus());
  const [bonus] = createObjectives([{ name: 'entropy-bonus', weight: 0.1 }]);
  expect(bonus?.objective.id).toBe('entropy-bonus');
  tf.dispose([total, injected.total, ...Object.values(terms), ...Object.values(injected.terms)]);
});
