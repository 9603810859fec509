/**
 * Temperature schedules as pure functions of the step or epoch. The warm-up reproduces DINO's
 * `np.concatenate((np.linspace(warmup, final, warmupEpochs), np.ones(nepochs - warmupEpochs) * final))`
 * (DINO `main_dino.py` DINOLoss), indexed by the integer epoch (or step).
 */
import { ConfigError } from '@lss/core';
import type { TemperatureSetting, WarmupSchedule } from './types.js';

/**
 * Value of a linear warm-up at integer position `index` (floored), then constant:
 * `index < warmupLength` → `start + (end − start) · index / (warmupLength − 1)` (np.linspace with its
 * endpoint, so the last warm-up position is exactly `end`; a one-long warm-up is just `[start]`),
 * otherwise `end`.
 *
 * @example
 * warmupThenConstant(1, 0.04, 0.07, 3); // 0.055, as DINO's schedule at epoch 1
 */
export function warmupThenConstant(index: number, start: number, end: number, warmupLength: number): number {
  const i = Math.floor(index);
  if (i < 0) throw new ConfigError(`Schedule position must be >= 0; received ${index}.`);
  if (i >= warmupLength) return end;
  if (warmupLength === 1) return start; // np.linspace(start, end, 1) = [start]
  if (i === warmupLength - 1) return end; // numpy sets the last linspace sample to `stop` exactly
  return start + ((end - start) * i) / (warmupLength - 1);
}

/** The value of a constant or a {@link WarmupSchedule} at a given step and epoch. */
export function scheduleValue(setting: TemperatureSetting, at: { readonly step: number; readonly epoch: number }): number {
  if (typeof setting === 'number') return setting;
  const position = setting.unit === 'epoch' ? at.epoch : at.step;
  return warmupThenConstant(position, setting.start, setting.end, setting.warmupLength);
}

/** Checks a temperature setting; `what` names it in the message. */
export function validateTemperature(setting: TemperatureSetting, what: string): void {
  if (typeof setting === 'number') {
    if (!(Number.isFinite(setting) && setting > 0)) {
      throw new ConfigError(`${what} must be a finite number > 0; received ${setting}. Typical values: 0.004-0.1.`);
    }
    return;
  }
  if (setting === null || typeof setting !== 'object') {
    throw new ConfigError(`${what} must be a number or { start, end, warmupLength, unit }; received ${JSON.stringify(setting)}.`);
  }
  const schedule = setting as WarmupSchedule;
  for (const key of ['start', 'end'] as const) {
    if (!(Number.isFinite(schedule[key]) && schedule[key] > 0)) {
      throw new ConfigError(`${what}.${key} must be a finite number > 0; received ${schedule[key]}.`);
    }
  }
  if (!(Number.isInteger(schedule.warmupLength) && schedule.warmupLength >= 0)) {
    throw new ConfigError(`${what}.warmupLength must be an integer >= 0 (epochs or steps); received ${schedule.warmupLength}.`);
  }
  if (schedule.unit !== 'epoch' && schedule.unit !== 'step') {
    throw new ConfigError(`${what}.unit must be 'epoch' or 'step'; received ${JSON.stringify(schedule.unit)}.`);
  }
}
