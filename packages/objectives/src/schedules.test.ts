import { describe, expect, it } from 'vitest';
import { LSS_TEACHER_TEMPERATURE } from './concept-distillation.js';
import { scheduleValue, validateTemperature, warmupThenConstant } from './schedules.js';

describe('temperature schedules', () => {
  it('SPEC default: 0.004 → 0.007 linearly over 5 epochs, then constant; fractional epochs use the integer epoch', () => {
    const at = (epoch: number) => scheduleValue(LSS_TEACHER_TEMPERATURE, { step: 123, epoch });
    expect([0, 1, 2, 3, 4, 5, 50].map(at)).toEqual(
      [0.004, 0.00475, 0.0055, 0.00625, 0.007, 0.007, 0.007].map((x) => expect.closeTo(x, 12)),
    );
    expect(at(1.9)).toBe(at(1));
  });

  it('step-based schedules read the step, constants ignore both', () => {
    const schedule = { start: 1, end: 3, warmupLength: 3, unit: 'step' as const };
    expect([0, 1, 2, 3].map((step) => scheduleValue(schedule, { step, epoch: 99 }))).toEqual([1, 2, 3, 3]);
    expect(scheduleValue(0.5, { step: 7, epoch: 7 })).toBe(0.5);
    expect(warmupThenConstant(4, 0.1, 0.2, 0)).toBe(0.2);
    expect(() => warmupThenConstant(-1, 0.1, 0.2, 2)).toThrow(/>= 0/);
  });

  it('rejects invalid settings with the received value', () => {
    expect(() => validateTemperature(0, 'tau')).toThrow(/received 0/);
    expect(() => validateTemperature({ start: 0.1, end: 0.2, warmupLength: 3, unit: 'iteration' as never }, 'tau')).toThrow(
      /'epoch' or 'step'/,
    );
  });
});
