/**
 * The paper-scale training step that `bench-step.ts` and `bench-dist.ts --scale depth2` time, built in one place:
 * a ViT-B/16 video tower pair (random init, divided space-time attention) of `depth` blocks, concept distillation
 * + concept alignment + uniform prior in random unit concept spaces (400 categories, 2000 descriptions, 5
 * descriptions per category), per-parameter clipping at max norm 3 (SVT), AdamW (0.9, 0.999, 1e-8) and the SVT
 * schedules at base learning rate 1e-4 for a global batch of 256; and random host views.
 */
import { createStudentTeacher, type VisionConfig, visionPreset } from '@lss/backbone';
import { createObjectives } from '@lss/objectives';
import * as tf from '@tensorflow/tfjs-core';
import type { MemoryPlan } from '../src/memory-plan.js';
import { towerFromVision } from '../src/model.js';
import { AdamW } from '../src/optim/adamw.js';
import { buildSchedules } from '../src/schedules.js';
import type { TrainState } from '../src/train-step.js';

/** Concept space sizes of the benchmark step (Kinetics-400's categories, 5 descriptions each). */
export const NUM_CATEGORIES = 400;
export const NUM_DESCRIPTIONS = 2000;

/** A host view `[batch, frames, size, size, 3]` of pseudo-random values in [-1, 1) from `seed` (an LCG: fast, deterministic). */
export function randomView(batch: number, frames: number, size: number, seed: number): { data: Float32Array; shape: number[] } {
  const n = batch * frames * size * size * 3;
  const data = new Float32Array(n);
  let s = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return { data, shape: [batch, frames, size, size, 3] }; // [B, T, H, W, 3]
}

/** `k` random unit rows of width `d`: [k, d]. */
export function unitRows(k: number, d: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const m = tf.randomNormal([k, d], 0, 1, 'float32', seed);
    return tf.div(m, tf.norm(m, 2, 1, true)) as tf.Tensor2D;
  });
}

export interface BenchStepOptions {
  /** Transformer blocks of the ViT-B/16 tower (12 at paper scale). */
  readonly depth: number;
  readonly numFrames: number;
  /** Length of the schedules (the steps the benchmark will run). */
  readonly stepsPerEpoch: number;
  /** The memory plan, from the student's parameter count. */
  readonly plan: (numParameters: number) => MemoryPlan;
  /** Fields added to the state (`dataParallel`, `trace`). */
  readonly extra?: Pick<TrainState, 'dataParallel' | 'trace'>;
}

/** The benchmark step's state: towers, objectives, AdamW (host slots as the plan says), schedules, concept spaces. */
export function benchStepState(options: BenchStepOptions): {
  state: TrainState;
  vision: VisionConfig;
  pair: ReturnType<typeof createStudentTeacher>;
  numParameters: number;
} {
  const vision = visionPreset('ViT-B/16', { numFrames: options.numFrames, layers: options.depth });
  const pair = createStudentTeacher(vision, { seed: 0 });
  const E = vision.embedDim;
  const relation = new Float32Array(NUM_CATEGORIES * NUM_DESCRIPTIONS);
  for (let j = 0; j < NUM_DESCRIPTIONS; j++) relation[(j % NUM_CATEGORIES) * NUM_DESCRIPTIONS + j] = 1; // 5 descriptions per category
  const numParameters = [...pair.student.variables().values()].reduce((a, v) => a + v.size, 0);
  const plan = options.plan(numParameters);
  const state: TrainState = {
    student: towerFromVision(pair.student),
    teacher: towerFromVision(pair.teacher),
    objectives: createObjectives([{ name: 'concept-distillation' }, { name: 'concept-alignment' }, { name: 'uniform-prior' }]),
    optimizer: new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, hostSlots: plan.hostSlots }),
    schedules: buildSchedules({
      epochs: 1,
      stepsPerEpoch: options.stepsPerEpoch,
      baseLearningRate: 1e-4,
      batchSize: 256,
      referenceBatchSize: 256,
      minLearningRate: 1e-6,
      warmupEpochs: 0,
      weightDecay: 0.04,
      weightDecayEnd: 0.4,
      momentum: 0.996,
      momentumEnd: 1,
    }),
    concepts: {
      spaces: { category: unitRows(NUM_CATEGORIES, E, 1), description: unitRows(NUM_DESCRIPTIONS, E, 2) },
      relation: tf.tensor2d(relation, [NUM_CATEGORIES, NUM_DESCRIPTIONS]),
    },
    clipping: { mode: 'per-parameter', maxNorm: 3 },
    memory: plan,
    ...options.extra,
  };
  return { state, vision, pair, numParameters };
}
