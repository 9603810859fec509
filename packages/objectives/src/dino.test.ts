/** The `dino` baseline objective: its loss path, centre, teacher EMA and trainable head. */
import { ConfigError } from '@lss/core';
import { allClose, expectNoLeaks } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { randomInputs } from './__fixtures__/inputs.js';
import { createDino, DEFAULT_DINO } from './dino.js';
import { dinoLoss, updateCenter } from './dino-loss.js';

afterEach(() => tf.disposeVariables());

const TINY = { inputDim: 6, hiddenDim: 8, bottleneckDim: 4, outDim: 10, headInput: 'embedding' } as const;

function expectAllClose(a: tf.Tensor, b: tf.Tensor, atol = 1e-6): void {
  const check = allClose(a.dataSync(), b.dataSync(), atol, 1e-5);
  expect(check.ok, `worst ${check.worstIndex} by ${check.worstExcess}`).toBe(true);
}

describe('dino objective', () => {
  it('terms() is dinoLoss on the head outputs with the running centre; afterStep updates the centre after the loss', () => {
    const inputs = randomInputs({ scale: 1 });
    const dino = createDino({ ...TINY, teacherTemperature: { start: 0.04, end: 0.07, warmupLength: 30, unit: 'epoch' } });
    const studentOut = dino.project(inputs.studentFeatures ?? [], 'student');
    const teacherOut = dino.project(inputs.teacherFeatures ?? [], 'teacher');
    expect(studentOut.map((t) => t.shape)).toEqual(Array(4).fill([3, 10]));
    const expected = dinoLoss({
      student: studentOut,
      teacher: teacherOut,
      center: dino.center,
      studentTemperature: 0.1,
      teacherTemperature: 0.04,
    });
    const terms = dino.terms(inputs); // epoch 10 of a 0.04 → 0.07 / 30-epoch warm-up: τ_t = 0.04 + 0.03·10/29
    const tau = 0.04 + (0.03 * 10) / 29;
    const expectedAtTau = dinoLoss({
      student: studentOut,
      teacher: teacherOut,
      center: dino.center,
      studentTemperature: 0.1,
      teacherTemperature: tau,
    });
    expectAllClose(terms.loss, expectedAtTau);
    expect(Math.abs((terms.loss.dataSync()[0] as number) - (expected.dataSync()[0] as number))).toBeGreaterThan(1e-4);
    const nextCenter = updateCenter(dino.center, teacherOut, 0.9);
    dino.afterStep({ ...inputs, teacherMomentum: 1 });
    expectAllClose(dino.center, nextCenter);
    // Momentum 1: the teacher head is unchanged.
    const teacherAgain = dino.project(inputs.teacherFeatures ?? [], 'teacher');
    teacherAgain.forEach((t, i) => expectAllClose(t, teacherOut[i] as tf.Tensor));
    tf.dispose([...studentOut, ...teacherOut, ...teacherAgain, expected, expectedAtTau, nextCenter, ...Object.values(terms)]);
    dino.dispose();
    inputs.dispose();
  });

  it("has SVT's defaults: constant teacher temperature 0.04; the last layer frozen during the first epoch (DINO cancel_gradients_last_layer)", () => {
    const dino = createDino(TINY);
    expect(dino.config.teacherTemperature).toBe(0.04);
    const last = dino.trainableVariables().at(-1) as tf.Variable;
    expect(dino.frozenVariables({ epoch: 0 }).map((v) => v.name)).toEqual([last.name]);
    expect(dino.frozenVariables({ epoch: 0.99 })).toHaveLength(1);
    expect(dino.frozenVariables({ epoch: 1 })).toEqual([]);
    dino.dispose();
    const never = createDino({ ...TINY, freezeLastLayerEpochs: 0 });
    expect(never.frozenVariables({ epoch: 0 })).toEqual([]);
    never.dispose();
    expect(() => createDino({ ...TINY, freezeLastLayerEpochs: -1 })).toThrow(/freezeLastLayerEpochs must be a number >= 0/);
  });

  it('every trainable head variable gets a finite, non-zero gradient; the EMA moves the teacher towards the student', () => {
    const inputs = randomInputs({ scale: 1 });
    const dino = createDino(TINY);
    const variables = dino.trainableVariables();
    expect(variables.map((v) => v.name)).toEqual([
      'objectives/dino/student/head/mlp/0/kernel',
      'objectives/dino/student/head/mlp/0/bias',
      'objectives/dino/student/head/mlp/1/kernel',
      'objectives/dino/student/head/mlp/1/bias',
      'objectives/dino/student/head/mlp/2/kernel',
      'objectives/dino/student/head/mlp/2/bias',
      'objectives/dino/student/head/lastLayer/kernel',
    ]);
    const { value, grads } = tf.variableGrads(() => dino.terms(inputs).loss, variables as tf.Variable[]);
    for (const variable of variables) {
      const g = grads[variable.name];
      expect(g, variable.name).toBeDefined();
      expect(g?.dataSync().every(Number.isFinite)).toBe(true);
      expect(Math.max(...(g as tf.Tensor).abs().dataSync()), variable.name).toBeGreaterThan(0);
    }
    // One SGD step on the student head, then EMA with momentum 0: the teacher becomes the student.
    tf.train.sgd(0.5).applyGradients(grads);
    tf.dispose([value, ...Object.values(grads)]);
    const studentOut = dino.project(inputs.teacherFeatures ?? [], 'student');
    const teacherBefore = dino.project(inputs.teacherFeatures ?? [], 'teacher');
    expect(allClose(studentOut[0]?.dataSync() ?? [], teacherBefore[0]?.dataSync() ?? [], 1e-6, 0).ok).toBe(false);
    expectNoLeaks(() => dino.afterStep({ ...inputs, teacherMomentum: 0 }));
    const teacherAfter = dino.project(inputs.teacherFeatures ?? [], 'teacher');
    teacherAfter.forEach((t, i) => expectAllClose(t, studentOut[i] as tf.Tensor));
    tf.dispose([...studentOut, ...teacherBefore, ...teacherAfter]);
    dino.dispose();
    inputs.dispose();
  });

  it("headInput 'class-token' (the default, SVT) reads the class tokens, 'embedding' the features", () => {
    const inputs = randomInputs();
    const onTokens = createDino({ inputDim: 6, hiddenDim: 8, bottleneckDim: 4, outDim: 10, scope: 'objectives/dino-tokens' });
    const onFeatures = createDino(TINY);
    expect(DEFAULT_DINO.headInput).toBe('class-token');
    expect([onTokens.config.headInput, onTokens.needsClassTokens, onFeatures.needsClassTokens]).toEqual(['class-token', true, false]);
    // the same head values (same seed): the class-token head on X equals the embedding head on X
    const wrongWidth = (inputs.studentFeatures ?? []).map((f) => tf.zeros([f.shape[0], 3]) as tf.Tensor2D);
    const a = onTokens.terms({
      ...inputs,
      studentClassTokens: inputs.studentFeatures,
      teacherClassTokens: inputs.teacherFeatures,
      studentFeatures: wrongWidth,
      teacherFeatures: wrongWidth.slice(0, inputs.numGlobalViews),
    });
    const b = onFeatures.terms(inputs);
    expect(a.loss.dataSync()[0]).toBeCloseTo(b.loss.dataSync()[0] as number, 6);
    expect(() => onTokens.terms(inputs)).toThrow(/studentClassTokens is missing; headInput 'class-token'/);
    expect(() => onTokens.afterStep({ ...inputs, teacherMomentum: 0.9 })).toThrow(ConfigError);
    expect(() => createDino({ ...TINY, headInput: 'cls' as never, scope: 'objectives/dino-bad' })).toThrow(/headInput must be/);
    tf.dispose([...wrongWidth, ...Object.values(a), ...Object.values(b)]);
    onTokens.dispose();
    onFeatures.dispose();
    inputs.dispose();
  });

  it('checks inputs and variable names with actionable messages', () => {
    const inputs = randomInputs();
    const dino = createDino(TINY);
    expect(() => dino.terms({ ...inputs, studentFeatures: undefined })).toThrow(/studentFeatures is missing/);
    expect(() => dino.afterStep({ ...inputs, teacherMomentum: 1.5 })).toThrow(/teacherMomentum must be in \[0, 1\]/);
    const wide = createDino({ ...TINY, inputDim: 5, scope: 'objectives/dino-wide' });
    expect(() => wide.terms(inputs)).toThrow(/expected \[B, 5\] \(inputDim\)/);
    const before = tf.memory().numTensors;
    expect(() => createDino(TINY)).toThrow(ConfigError);
    expect(() => createDino(TINY)).toThrow(/another scope/);
    expect(tf.memory().numTensors).toBe(before); // the refused objective created nothing
    wide.dispose();
    dino.dispose();
    inputs.dispose();
  });
});
