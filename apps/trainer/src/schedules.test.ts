import { describe, expect, it } from 'vitest';
import { buildSchedules, cosineSchedule, scaledLearningRate } from './schedules.js';

describe('cosineSchedule (DINO cosine_scheduler)', () => {
  it('warms up linearly (both ends included) then decays by a cosine to the final value', () => {
    const s = cosineSchedule({ base: 1, final: 0, totalSteps: 7, warmupSteps: 3, warmupStart: 0 });
    expect(s.length).toBe(7);
    expect([...s.slice(0, 3)]).toEqual([0, 0.5, 1]);
    // cosine part: n = 4, i = 0..3 -> 0.5 (1 + cos(pi i / 4))
    const expected = [0, 1, 2, 3].map((i) => 0.5 * (1 + Math.cos((Math.PI * i) / 4)));
    expected.forEach((v, i) => expect(s[3 + i]).toBeCloseTo(v, 12));
  });

  it('momentum goes from 0.996 towards 1 monotonically; weight decay from 0.04 towards 0.4', () => {
    const s = buildSchedules({
      epochs: 2,
      stepsPerEpoch: 5,
      baseLearningRate: 5e-4,
      batchSize: 64,
      referenceBatchSize: 256,
      minLearningRate: 1e-6,
      warmupEpochs: 1,
      weightDecay: 0.04,
      weightDecayEnd: 0.4,
      momentum: 0.996,
      momentumEnd: 1,
    });
    expect(s.totalSteps).toBe(10);
    expect(s.teacherMomentum[0]).toBeCloseTo(0.996, 12);
    expect(s.weightDecay[0]).toBeCloseTo(0.04, 12);
    for (let i = 1; i < 10; i++) {
      expect(s.teacherMomentum[i] as number).toBeGreaterThan(s.teacherMomentum[i - 1] as number);
      expect(s.weightDecay[i] as number).toBeGreaterThan(s.weightDecay[i - 1] as number);
    }
    expect(s.teacherMomentum[9] as number).toBeLessThan(1);
    // SVT's rule: peak = 5e-4 x 64 / 256 = 1.25e-4, reached at the end of warm-up.
    expect(s.peakLearningRate).toBeCloseTo(1.25e-4, 15);
    expect(s.learningRate[4]).toBeCloseTo(1.25e-4, 15);
    expect(Math.max(...s.learningRate)).toBeCloseTo(1.25e-4, 15);
  });

  it('scales the base learning rate linearly with the global batch (SVT/DINO: lr x batch / 256)', () => {
    expect(scaledLearningRate(5e-4, 32, 256)).toBeCloseTo(6.25e-5, 15);
    expect(scaledLearningRate(5e-4, 256, 256)).toBe(5e-4);
    expect(() => scaledLearningRate(5e-4, 0, 256)).toThrow(/positive integer batch/);
  });

  it('rejects a warm-up longer than training', () => {
    expect(() => cosineSchedule({ base: 1, final: 0, totalSteps: 3, warmupSteps: 4 })).toThrow(/warm-up of 4 steps/);
  });
});
