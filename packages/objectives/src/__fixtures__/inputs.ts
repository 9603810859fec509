/** Deterministic random inputs for the objective tests. */
import { SeededRandom } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ConceptSpace, ObjectiveInputs } from '../types.js';

export interface RandomInputsOptions {
  readonly batchSize?: number;
  readonly numGlobalViews?: number;
  readonly numViews?: number;
  readonly numConcepts?: Readonly<Record<ConceptSpace, number>>;
  readonly featureDim?: number;
  /** Scores are uniform in [-scale, scale]. */
  readonly scale?: number;
  readonly seed?: number;
  readonly epoch?: number;
}

/** Random scores (and features) in both spaces plus a random relation where every row and column has a 1. */
export function randomInputs(options: RandomInputsOptions = {}): ObjectiveInputs & { dispose(): void } {
  const B = options.batchSize ?? 3;
  const G = options.numGlobalViews ?? 2;
  const V = options.numViews ?? 4;
  const K = options.numConcepts ?? { category: 5, description: 7 };
  const D = options.featureDim ?? 6;
  const scale = options.scale ?? 0.05;
  const rng = new SeededRandom(options.seed ?? 1);
  const matrix = (rows: number, cols: number) => tf.tensor2d(rng.uniformArray(rows * cols, -scale, scale), [rows, cols]);
  const studentCategory = Array.from({ length: V }, () => matrix(B, K.category));
  const studentDescription = Array.from({ length: V }, () => matrix(B, K.description));
  const teacherCategory = Array.from({ length: G }, () => matrix(B, K.category));
  const teacherDescription = Array.from({ length: G }, () => matrix(B, K.description));
  const studentFeatures = Array.from({ length: V }, () => matrix(B, D));
  const teacherFeatures = Array.from({ length: G }, () => matrix(B, D));
  const relationValues = new Float32Array(K.category * K.description);
  for (let j = 0; j < K.description; j++) relationValues[(j % K.category) * K.description + j] = 1; // each column one 1
  for (let i = 0; i < K.category; i++) for (let j = 0; j < K.description; j++) if (rng.bernoulli(0.3)) relationValues[i * K.description + j] = 1;
  const relation = tf.tensor2d(relationValues, [K.category, K.description]);
  const all = [
    ...studentCategory,
    ...studentDescription,
    ...teacherCategory,
    ...teacherDescription,
    ...studentFeatures,
    ...teacherFeatures,
    relation,
  ];
  return {
    student: { category: studentCategory, description: studentDescription },
    teacher: { category: teacherCategory, description: teacherDescription },
    numGlobalViews: G,
    relation,
    studentFeatures,
    teacherFeatures,
    step: 0,
    epoch: options.epoch ?? 10,
    dispose: () => {
      for (const t of all) t.dispose();
    },
  };
}

/** Reads every term to numbers and disposes the tensors. */
export function readTerms(terms: Readonly<Record<string, tf.Scalar>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(terms)) {
    out[key] = value.dataSync()[0] as number;
    value.dispose();
  }
  return out;
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, seed: number): number[] {
  return new SeededRandom(seed).shuffle(Array.from({ length: n }, (_, i) => i));
}
