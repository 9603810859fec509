/**
 * Validation of objective options and inputs, with messages that say what was received, what was
 * expected and how to fix it (house style 4.10). Runs once per call on shapes only (no data reads).
 */
import { ConfigError, formatShape, ShapeError } from '@lss/core';
import type * as tf from '@tensorflow/tfjs-core';
import { CONCEPT_SPACES, type ConceptScores, type ConceptSpace } from './types.js';

/** Keys every spec may carry besides an objective's own options. */
const SPEC_KEYS = ['name', 'weight'];

/** Throws when `options` has a key that is neither an option of `objective` nor `name`/`weight`. */
export function checkOptionKeys(objective: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key) && !SPEC_KEYS.includes(key)) {
      throw new ConfigError(
        `${objective}: unknown option ${JSON.stringify(key)}. Valid options: ${allowed.join(', ')} (plus name, weight). Check the spelling.`,
      );
    }
  }
}

/** `options` without the spec-only keys `name` and `weight`. */
export function withoutSpecKeys<T extends object>(options: T): T {
  const { name: _name, weight: _weight, ...rest } = options as T & { name?: unknown; weight?: unknown };
  return rest as T;
}

export function checkPositive(objective: string, key: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new ConfigError(`${objective}: ${key} must be a finite number > 0; received ${value}.`);
  }
}

export function checkPositiveInteger(objective: string, key: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) {
    throw new ConfigError(`${objective}: ${key} must be an integer > 0; received ${value}.`);
  }
}

export function checkMomentum(objective: string, key: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0 && value <= 1)) {
    throw new ConfigError(`${objective}: ${key} must be in [0, 1]; received ${value}.`);
  }
}

export function checkSpaces(objective: string, spaces: readonly ConceptSpace[]): void {
  if (!Array.isArray(spaces) || spaces.length === 0) {
    throw new ConfigError(
      `${objective}: spaces must be a non-empty array of ${CONCEPT_SPACES.join(' | ')}; received ${JSON.stringify(spaces)}.`,
    );
  }
  for (const space of spaces) {
    if (!CONCEPT_SPACES.includes(space)) {
      throw new ConfigError(`${objective}: unknown concept space ${JSON.stringify(space)}; expected one of ${CONCEPT_SPACES.join(', ')}.`);
    }
  }
  if (new Set(spaces).size !== spaces.length) {
    throw new ConfigError(`${objective}: spaces lists a space twice: ${JSON.stringify(spaces)}.`);
  }
}

/** Checks G (numGlobalViews) and returns it. */
export function checkNumGlobalViews(objective: string, numGlobalViews: number): number {
  if (!(Number.isInteger(numGlobalViews) && numGlobalViews >= 1)) {
    throw new ConfigError(`${objective}: numGlobalViews must be an integer >= 1; received ${numGlobalViews}.`);
  }
  return numGlobalViews;
}

/** Checks that every tensor of a view list is [B, K] with the same B and K; returns [B, K]. */
export function checkViewList(
  objective: string,
  what: string,
  views: readonly tf.Tensor[] | undefined,
  expectedCount?: number,
): [number, number] {
  if (!Array.isArray(views) || views.length === 0) {
    throw new ConfigError(
      `${objective}: ${what} is missing or empty; expected an array of [B, K] tensors, one per view. Pass it in ObjectiveInputs.`,
    );
  }
  if (expectedCount !== undefined && views.length !== expectedCount) {
    throw new ShapeError(
      `${objective}: ${what} has ${views.length} views; expected ${expectedCount} (numGlobalViews for the teacher). The teacher sees the global views only.`,
    );
  }
  const first = views[0] as tf.Tensor;
  if (first.rank !== 2) {
    throw new ShapeError(`${objective}: ${what}[0] has shape ${formatShape(first.shape)}; expected [B, K].`);
  }
  const [B, K] = first.shape as [number, number];
  views.forEach((view, i) => {
    if (view.rank !== 2 || view.shape[0] !== B || view.shape[1] !== K) {
      throw new ShapeError(
        `${objective}: ${what}[${i}] has shape ${formatShape(view.shape)}; expected ${formatShape([B, K])} like ${what}[0]. All views must share batch size and concept count.`,
      );
    }
  });
  return [B, K];
}

/** Student and teacher views of one space, checked against each other and against G. */
export function spaceViews(
  objective: string,
  student: ConceptScores,
  teacher: ConceptScores | undefined,
  space: ConceptSpace,
  numGlobalViews: number,
): { student: readonly tf.Tensor2D[]; teacher: readonly tf.Tensor2D[]; batchSize: number; numConcepts: number } {
  const studentViews = student[space];
  const [B, K] = checkViewList(objective, `student.${space}`, studentViews);
  const numViews = (studentViews as readonly tf.Tensor2D[]).length;
  if (numViews < numGlobalViews || numViews < 2) {
    throw new ShapeError(
      `${objective}: student.${space} has ${numViews} views; expected at least max(2, numGlobalViews = ${numGlobalViews}) (global views first, then local views), so that pairs of different views exist.`,
    );
  }
  if (teacher === undefined) return { student: studentViews as readonly tf.Tensor2D[], teacher: [], batchSize: B, numConcepts: K };
  const teacherViews = teacher[space];
  const [Bt, Kt] = checkViewList(objective, `teacher.${space}`, teacherViews, numGlobalViews);
  if (Bt !== B || Kt !== K) {
    throw new ShapeError(
      `${objective}: teacher.${space} views are ${formatShape([Bt, Kt])}; expected ${formatShape([B, K])} like student.${space}.`,
    );
  }
  return {
    student: studentViews as readonly tf.Tensor2D[],
    teacher: teacherViews as readonly tf.Tensor2D[],
    batchSize: B,
    numConcepts: K,
  };
}
