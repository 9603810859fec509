/**
 * One memory plan per run, chosen from the backend (house style 4.8: memory strategies belong to the
 * backend, not to the config a researcher writes). The step's maths is the same under every plan
 * (tested: same gradients within 1e-5); a plan only decides where activations, gradients and the
 * optimizer's moments live.
 *
 * - `joint` (torch, cpu, tensorflow, webgpu): one gradient tape over every view of a micro-batch, no
 *   recomputation, gradients and AdamW moments on the device. The plain step of SPEC section 4.
 * - `low-memory` (wasm, towers of 50 M parameters or more): the workarounds that let a ViT-B/16 8-frame step fit the 4 GiB wasm heap
 *   (measured: 2.73 GiB peak heap, apps/trainer README): per-view backward (GradCache, Gao et al.
 *   2021), per-block recomputation in the backward pass, one clip per tower call, gradients summed in
 *   host memory, AdamW's m and v in host memory.
 */
import { ConfigError } from '@lss/core';

export interface MemoryPlan {
  readonly name: 'joint' | 'low-memory';
  /**
   * `joint`: each micro-batch's views go through one tape. `per-view`: each view (and each chunk of
   * `maxClipsPerCall` clips) is backpropagated on its own with dL/d(embedding) held constant.
   */
  readonly backward: 'joint' | 'per-view';
  /** Recompute each block in the backward pass (gradient checkpointing). */
  readonly recompute: boolean;
  /** At most this many clips per tower call (`Infinity`: all same-size views of a micro-batch in one call). */
  readonly maxClipsPerCall: number;
  /** Sum gradients in host memory between backward passes (frees one set of gradients on the device). */
  readonly hostGradients: boolean;
  /** Keep AdamW's m and v in host memory (frees 8 bytes per parameter on the device). */
  readonly hostSlots: boolean;
}

export const JOINT_PLAN: MemoryPlan = {
  name: 'joint',
  backward: 'joint',
  recompute: false,
  maxClipsPerCall: Number.POSITIVE_INFINITY,
  hostGradients: false,
  hostSlots: false,
};

export const LOW_MEMORY_PLAN: MemoryPlan = {
  name: 'low-memory',
  backward: 'per-view',
  recompute: true,
  maxClipsPerCall: 1,
  hostGradients: true,
  hostSlots: true,
};

export const MEMORY_PLAN_CHOICES = ['auto', 'joint', 'low-memory'] as const;
export type MemoryPlanChoice = (typeof MEMORY_PLAN_CHOICES)[number];

/**
 * Towers of at least this many parameters get the low-memory plan on wasm (ViT-B/16 has 86 M; the
 * workarounds cost an extra forward and the recomputation, so small towers do without them).
 */
export const LOW_MEMORY_MIN_PARAMETERS = 50e6;

/**
 * The plan for a backend (`tf.getBackend()`): `low-memory` on wasm (4 GiB heap) for towers of
 * {@link LOW_MEMORY_MIN_PARAMETERS} or more, `joint` otherwise. `choice` other than `auto` forces a plan.
 */
export function memoryPlanFor(backend: string, choice: MemoryPlanChoice = 'auto', numParameters = Number.POSITIVE_INFINITY): MemoryPlan {
  if (choice === 'joint') return JOINT_PLAN;
  if (choice === 'low-memory') return LOW_MEMORY_PLAN;
  if (choice !== 'auto') {
    throw new ConfigError(`Unknown memory plan ${JSON.stringify(choice)}; expected one of ${MEMORY_PLAN_CHOICES.join(', ')}.`);
  }
  return backend === 'wasm' && numParameters >= LOW_MEMORY_MIN_PARAMETERS ? LOW_MEMORY_PLAN : JOINT_PLAN;
}

/** One line for the run log, e.g. `memory plan low-memory (wasm): per-view backward, recompute, ...`. */
export function describeMemoryPlan(plan: MemoryPlan, backend: string): string {
  if (plan.name === 'joint') return `memory plan joint (${backend}): one tape per micro-batch, no recomputation`;
  return (
    `memory plan low-memory (${backend}): per-view backward, recompute ${plan.recompute}, ` +
    `${plan.maxClipsPerCall} clip(s) per tower call, gradients and AdamW moments in host memory`
  );
}
