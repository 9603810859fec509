/**
 * Per-step schedules, precomputed as `Float64Array`s (DINO `utils.cosine_scheduler`): learning rate
 * with linear warm-up then cosine decay (its peak scaled with the batch size, SVT's rule), cosine weight
 * decay, cosine teacher momentum. The step reads
 * `schedule.learningRate[step]`; nothing is recomputed inside the loop.
 */
import { ConfigError } from '@lss/core';

export interface CosineScheduleOptions {
  /** Value at the end of warm-up (the cosine starts here). */
  readonly base: number;
  /** Value at the last step. */
  readonly final: number;
  readonly totalSteps: number;
  /** Linear warm-up steps from `warmupStart` to `base`. */
  readonly warmupSteps?: number;
  readonly warmupStart?: number;
}

/**
 * DINO's `cosine_scheduler`: `warmupSteps` linear values `linspace(warmupStart, base)`, then
 * `final + 0.5 (base - final) (1 + cos(pi i / n))` for i = 0..n-1, n = total - warmup.
 */
export function cosineSchedule(options: CosineScheduleOptions): Float64Array {
  const { base, final, totalSteps } = options;
  const warmupSteps = options.warmupSteps ?? 0;
  const warmupStart = options.warmupStart ?? 0;
  if (!Number.isInteger(totalSteps) || totalSteps < 1) {
    throw new ConfigError(`cosineSchedule needs totalSteps >= 1 (an integer); received ${totalSteps}.`);
  }
  if (!Number.isInteger(warmupSteps) || warmupSteps < 0 || warmupSteps > totalSteps) {
    throw new ConfigError(
      `cosineSchedule: warm-up of ${warmupSteps} steps does not fit in ${totalSteps} steps; shorten the warm-up (optimizer.warmupEpochs) or train longer.`,
    );
  }
  const out = new Float64Array(totalSteps);
  for (let i = 0; i < warmupSteps; i++) {
    // np.linspace(start, base, warmupSteps): includes both ends.
    out[i] = warmupSteps === 1 ? base : warmupStart + ((base - warmupStart) * i) / (warmupSteps - 1);
  }
  const n = totalSteps - warmupSteps;
  for (let i = 0; i < n; i++) out[warmupSteps + i] = final + 0.5 * (base - final) * (1 + Math.cos((Math.PI * i) / n));
  return out;
}

/** The schedules one run needs, each of length `totalSteps`. */
export interface Schedules {
  readonly totalSteps: number;
  readonly stepsPerEpoch: number;
  /** The learning rate at the end of warm-up: `baseLearningRate × batchSize / referenceBatchSize`. */
  readonly peakLearningRate: number;
  readonly learningRate: Float64Array;
  readonly weightDecay: Float64Array;
  readonly teacherMomentum: Float64Array;
}

export interface ScheduleConfig {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  /** Peak learning rate for a batch of `referenceBatchSize` clips (SVT/DINO `lr`). */
  readonly baseLearningRate: number;
  /** Clips per optimizer step over every micro-batch and process (the global batch). */
  readonly batchSize: number;
  /** The batch `baseLearningRate` is given for (SVT/DINO: 256). */
  readonly referenceBatchSize: number;
  readonly minLearningRate: number;
  readonly warmupEpochs: number;
  readonly weightDecay: number;
  readonly weightDecayEnd: number;
  readonly momentum: number;
  readonly momentumEnd: number;
}

/**
 * SVT/DINO's linear scaling rule: `base × batchSize / referenceBatchSize` (`main_dino.py`:
 * `args.lr * (args.batch_size_per_gpu * utils.get_world_size()) / 256.`), e.g. 5e-4 × 32 / 256 = 6.25e-5.
 */
export function scaledLearningRate(base: number, batchSize: number, referenceBatchSize: number): number {
  if (!(base > 0 && Number.isInteger(batchSize) && batchSize > 0 && Number.isInteger(referenceBatchSize) && referenceBatchSize > 0)) {
    throw new ConfigError(
      `scaledLearningRate needs base > 0 and positive integer batch sizes; received base ${base}, batch ${batchSize}, reference ${referenceBatchSize}.`,
    );
  }
  return (base * batchSize) / referenceBatchSize;
}

/** Builds every schedule of a run; the total length is `round(epochs * stepsPerEpoch)`. */
export function buildSchedules(config: ScheduleConfig): Schedules {
  const totalSteps = Math.max(1, Math.round(config.epochs * config.stepsPerEpoch));
  const warmupSteps = Math.min(totalSteps, Math.round(config.warmupEpochs * config.stepsPerEpoch));
  const peakLearningRate = scaledLearningRate(config.baseLearningRate, config.batchSize, config.referenceBatchSize);
  const schedules: Schedules = {
    totalSteps,
    stepsPerEpoch: config.stepsPerEpoch,
    peakLearningRate,
    learningRate: cosineSchedule({ base: peakLearningRate, final: config.minLearningRate, totalSteps, warmupSteps }),
    weightDecay: cosineSchedule({ base: config.weightDecay, final: config.weightDecayEnd, totalSteps }),
    teacherMomentum: cosineSchedule({ base: config.momentum, final: config.momentumEnd, totalSteps }),
  };
  for (const key of ['learningRate', 'weightDecay', 'teacherMomentum'] as const) {
    if (schedules[key].length !== totalSteps)
      throw new Error(`internal: schedule ${key} has ${schedules[key].length} steps, not ${totalSteps}`);
  }
  return schedules;
}
