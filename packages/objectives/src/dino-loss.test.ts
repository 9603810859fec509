/**
 * Reproduces `fixtures/dino-loss` (DINO main_dino.py DINOLoss, 3 successive calls on one instance):
 * loss values and centre updates, with the `dinoLoss` core, the `dino` objective's loss path and
 * concept-distillation with centring on, all on free logits.
 */
import { readFileSync } from 'node:fs';
import { readSafetensorsFile } from '@lss/core/node';
import { allClose, expectNoLeaks, fixturePath } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { createConceptDistillation } from './concept-distillation.js';
import { dinoLoss, updateCenter } from './dino-loss.js';
import { scheduleValue, warmupThenConstant } from './schedules.js';
import type { WarmupSchedule } from './types.js';

interface FixtureJson {
  config: {
    out_dim: number;
    ncrops: number;
    warmup_teacher_temp: number;
    teacher_temp: number;
    warmup_teacher_temp_epochs: number;
    nepochs: number;
    student_temp: number;
    center_momentum: number;
  };
  batch_size_per_view: number;
  teacher_temp_schedule: number[];
  calls: { call: number; epoch: number; teacher_temp: number; loss: number }[];
}

const json = JSON.parse(readFileSync(fixturePath('dino-loss', 'dino_loss.json'), 'utf8')) as FixtureJson;
const tensors = readSafetensorsFile(fixturePath('dino-loss', 'dino_loss.safetensors')).tensors;
const { config } = json;
const B = json.batch_size_per_view;
const ATOL = 1e-5; // fixtures/README.md: atol 1e-5 / rtol 1e-4
const RTOL = 1e-4;

const schedule: WarmupSchedule = {
  start: config.warmup_teacher_temp,
  end: config.teacher_temp,
  warmupLength: config.warmup_teacher_temp_epochs,
  unit: 'epoch',
};

function entry(name: string): Float32Array {
  const t = tensors.get(name);
  if (t === undefined) throw new Error(`fixture entry ${name} missing`);
  return t.data as Float32Array;
}

/** Crop-major [V·B, K] rows → V views of [B, K]. */
function views(name: string, numViews: number): tf.Tensor2D[] {
  const data = entry(name);
  const K = config.out_dim;
  return Array.from({ length: numViews }, (_, v) => tf.tensor2d(data.subarray(v * B * K, (v + 1) * B * K), [B, K]));
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const check = allClose(actual, expected, ATOL, RTOL);
  expect(check.ok, `${what}: worst index ${check.worstIndex}, excess ${check.worstExcess}`).toBe(true);
}

afterEach(() => tf.disposeVariables());

describe('fixtures/dino-loss', () => {
  it('the teacher temperature schedule equals DINO np.linspace + constant', () => {
    json.teacher_temp_schedule.forEach((value, epoch) => {
      expect(scheduleValue(schedule, { step: 0, epoch })).toBeCloseTo(value, 12);
    });
    json.calls.forEach((call) => expect(scheduleValue(schedule, { step: 0, epoch: call.epoch })).toBeCloseTo(call.teacher_temp, 12));
    expect(warmupThenConstant(0, 1, 2, 1)).toBe(1); // np.linspace(1, 2, 1) = [1]
    expect(warmupThenConstant(0, 1, 2, 0)).toBe(2);
  });

  it('dinoLoss + updateCenter reproduce every call (centre carried over)', () => {
    let center = tf.tensor2d(entry('center_initial'), [1, config.out_dim]);
    for (const call of json.calls) {
      const student = views(`call${call.call}.student_output`, config.ncrops);
      const teacher = views(`call${call.call}.teacher_output`, 2);
      const temperature = scheduleValue(schedule, { step: 0, epoch: call.epoch });
      const loss = expectNoLeaks(
        () => dinoLoss({ student, teacher, center, studentTemperature: config.student_temp, teacherTemperature: temperature }),
        1,
      );
      expectClose(loss.dataSync(), entry(`call${call.call}.loss`), `call${call.call} loss`);
      expectClose(loss.dataSync(), [call.loss], `call${call.call} loss (json)`);
      const next = expectNoLeaks(() => updateCenter(center, teacher, config.center_momentum), 1);
      expectClose(next.dataSync(), entry(`call${call.call}.center_after`), `call${call.call} center`);
      for (const t of [loss, center, ...student, ...teacher]) t.dispose();
      center = next;
    }
    center.dispose();
  });

  it('concept-distillation with centring on, free logits, reproduces loss and centre at every call', () => {
    const objective = createConceptDistillation({
      studentTemperature: config.student_temp,
      teacherTemperature: schedule,
      centering: true,
      centerMomentum: config.center_momentum,
      spaces: ['category'],
    });
    json.calls.forEach((call, step) => {
      const student = views(`call${call.call}.student_output`, config.ncrops);
      const teacher = views(`call${call.call}.teacher_output`, 2);
      const inputs = { student: { category: student }, teacher: { category: teacher }, numGlobalViews: 2, step, epoch: call.epoch };
      const terms = objective.terms(inputs);
      expectClose(terms.loss.dataSync(), entry(`call${call.call}.loss`), `call${call.call} loss`);
      expectNoLeaks(() => objective.afterStep({ ...inputs, teacherMomentum: 0.996 }));
      const center = objective.variables().get('objectives/concept-distillation/center/category');
      expect(center?.shape).toEqual([1, config.out_dim]);
      expectClose(center?.dataSync() ?? [], entry(`call${call.call}.center_after`), `call${call.call} center`);
      for (const t of [...Object.values(terms), ...student, ...teacher]) t.dispose();
    });
    objective.dispose();
  });

  it('an off-by-one pairing (v == iq included) would not match: the fixture discriminates', () => {
    const student = views('call0.student_output', config.ncrops);
    const teacher = views('call0.teacher_output', 2);
    const center = tf.zeros([1, config.out_dim]);
    // Same loss but over G·V pairs instead of G·V − G: include the diagonal terms by duplicating views.
    const wrong = tf.tidy(() => {
      const t = teacher.map((x) => tf.softmax(tf.div(tf.sub(x, center), 0.04)));
      const s = student.map((x) => tf.logSoftmax(tf.div(x, config.student_temp)));
      const all = t.flatMap((q) => s.map((l) => tf.mean(tf.neg(tf.sum(tf.mul(q, l), -1)))));
      return tf.div(tf.addN(all), all.length);
    });
    expect(Math.abs((wrong.dataSync()[0] as number) - (entry('call0.loss')[0] as number))).toBeGreaterThan(1e-3);
    for (const t of [wrong, center, ...student, ...teacher]) t.dispose();
  });
});
