import { createObjectives, type ObjectiveSpec } from '@lss/objectives';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config/load.js';
import type { TrainConfig } from './config/schema.js';
import { ABLATION_ROWS } from './demo-ablations.js';
import { SCHEDULE_GRID, SELECTION_GRID, selectionGridName } from './demo-select.js';

// Every config the demo's --select and --ablations modes train is one the objectives accept (a grid that set a
// teacher temperature on concept alignment failed only when the run started).
describe('the demo modes build valid objectives', () => {
  const base = loadConfig('lss-world');
  // As run.ts's toSpec: dino's input width comes from the tower (clip-world-tiny: width 64).
  const specs = (objectives: TrainConfig['objectives']) =>
    objectives.map((o) => (o.name === 'dino' ? { ...o, inputDim: 64 } : o)) as ObjectiveSpec[];

  it('--select: each teacher temperature is set on concept distillation only', () => {
    for (const candidate of SELECTION_GRID) {
      const config = candidate.apply(base);
      const t = Number(/teacherTemperature ([0-9.]+)/.exec(candidate.name)?.[1]);
      const cd = config.objectives.find((o) => o.name === 'concept-distillation') as { teacherTemperature: unknown };
      expect(cd.teacherTemperature).toEqual({ start: Math.min(0.004, t), end: t, warmupLength: 1, unit: 'epoch' });
      const built = createObjectives(specs(config.objectives));
      expect(built.map((b) => b.objective.id)).toEqual(config.objectives.map((o) => o.name));
      for (const b of built) b.objective.dispose?.();
    }
  });

  it('--select: the learning-rate candidates set the peak rate at the global batch (SPEC: base x batch / 256)', () => {
    const rates = SELECTION_GRID.map((c) => {
      const o = c.apply(base);
      return (o.optimizer.baseLearningRate * o.training.batchSize * o.optimizer.accumulationSteps) / o.optimizer.referenceBatchSize;
    });
    // The temperature candidates keep the config's 1e-3 at batch 8; the others lower it to 1e-4 and SPEC's 1.5625e-5.
    expect(rates.map((r) => Number(r.toPrecision(6)))).toEqual([1e-3, 1e-3, 1e-3, 1e-4, 1.5625e-5]);
    expect(SELECTION_GRID.map((c) => c.name).at(-1)).toBe('learning rate 0.000015625 (teacherTemperature 0.007)');
  });

  it("--select --grid schedule: 12 epochs at 1e-4 and at SPEC's rate, 4 epochs at 4e-5, all at temperature 0.007", () => {
    const got = SCHEDULE_GRID.map((c) => {
      const o = c.apply(base);
      const rate = (o.optimizer.baseLearningRate * o.training.batchSize * o.optimizer.accumulationSteps) / o.optimizer.referenceBatchSize;
      const cd = o.objectives.find((x) => x.name === 'concept-distillation') as { teacherTemperature: { end: number } };
      createObjectives(specs(o.objectives)).forEach((b) => b.objective.dispose?.());
      return [Number(rate.toPrecision(6)), o.training.epochs, cd.teacherTemperature.end];
    });
    expect(got).toEqual([
      [1e-4, 12, 0.007],
      [1.5625e-5, 12, 0.007],
      [4e-5, 4, 0.007],
    ]);
    // The base config is not changed by applying a candidate.
    expect(base.training.epochs).toBe(4);
  });

  it('--grid names a grid of SELECTION_GRIDS; another name is refused with the list', () => {
    expect(selectionGridName(undefined)).toBe('default');
    expect(selectionGridName('schedule')).toBe('schedule');
    expect(() => selectionGridName('toString')).toThrow('--grid must be one of default, schedule; received "toString".');
  });

  it('--ablations: each row builds its objectives', () => {
    const names = ABLATION_ROWS.map((row) =>
      row
        .apply(base)
        .objectives.map((o) => o.name)
        .join('+'),
    );
    expect(names).toEqual([
      'concept-distillation',
      'concept-distillation+uniform-prior',
      'concept-distillation+concept-alignment+uniform-prior',
      'concept-distillation+concept-alignment+uniform-prior',
      'dino',
    ]);
    expect(ABLATION_ROWS[3]?.apply(base).concepts.categories).toBe('world-vocabulary');
    for (const row of ABLATION_ROWS) {
      const built = createObjectives(specs(row.apply(base).objectives));
      for (const b of built) b.objective.dispose?.();
    }
  });
});
