/**
 * Fresh-variable initialisers shared by the vision and text towers: CLIP's `initialize_parameters`
 * scales, each variable seeded by its path (so initialisation does not depend on construction order).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BlockWeights, LinearWeights, NormWeights } from './layers.js';
import type { Scope } from './scope.js';

export function normal(scope: Scope, name: string, shape: number[], std: number): tf.Variable {
  return scope.variable(name, shape, () => tf.randomNormal(shape, 0, std, 'float32', scope.seedFor(name)));
}

export function constant(scope: Scope, name: string, shape: number[], value: number): tf.Variable {
  return scope.variable(name, shape, () => tf.fill(shape, value));
}

/** LayerNorm weights `gamma = 1`, `beta = 0`, each `[dim]`. */
export function norm(scope: Scope, dim: number): NormWeights {
  return { gamma: constant(scope, 'gamma', [dim], 1), beta: constant(scope, 'beta', [dim], 0) };
}

/** Linear layer `kernel [inDim, outDim]` ~ N(0, std), `bias [outDim]` = 0 (optional). */
export function dense(scope: Scope, inDim: number, outDim: number, std: number, bias = true): LinearWeights {
  const kernel = normal(scope, 'kernel', [inDim, outDim], std);
  return bias ? { kernel, bias: constant(scope, 'bias', [outDim], 0) } : { kernel };
}

/** Standard deviations of a CLIP block's initialisation (`attn` for qkv, `proj` for out-projections and fc2, `fc` for fc1). */
export interface BlockInitStd {
  readonly attn: number;
  readonly proj: number;
  readonly fc: number;
}

/** The weights of one CLIP residual block under `scope` (`attn`, `norm1`, `norm2`, `mlp`), width `D`. */
export function clipBlockWeights(scope: Scope, D: number, mlpDim: number, std: BlockInitStd): BlockWeights {
  const attn = {
    qkv: dense(scope.child('attn').child('qkv'), D, 3 * D, std.attn),
    proj: dense(scope.child('attn').child('proj'), D, D, std.proj),
  };
  return {
    norm1: norm(scope.child('norm1'), D),
    attn,
    norm2: norm(scope.child('norm2'), D),
    mlp: {
      fc1: dense(scope.child('mlp').child('fc1'), D, mlpDim, std.fc),
      fc2: dense(scope.child('mlp').child('fc2'), mlpDim, D, std.proj),
    },
  };
}
