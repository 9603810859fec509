/**
 * Test helpers of `@lss/core`, published as `@lss/core/testing` so each package's tests can use them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { LssError } from '../errors.js';

/** Thrown by {@link expectNoLeaks} when a function leaves more tensors behind than it may. */
export class TensorLeakError extends LssError {}

/**
 * Runs `fn` and asserts that the number of live tensors grew by exactly `allowed` (the tensors `fn`
 * returns on purpose). Works for sync and async functions.
 *
 * @example
 * const out = expectNoLeaks(() => model.call(x), 1); // the one returned tensor
 */
export function expectNoLeaks<T>(fn: () => T, allowed = 0): T {
  const before = snapshot();
  const result = fn();
  if (result instanceof Promise) {
    throw new TypeError('expectNoLeaks got an async function; use expectNoLeaksAsync.');
  }
  check(before, allowed);
  return result;
}

/** Async version of {@link expectNoLeaks}. */
export async function expectNoLeaksAsync<T>(fn: () => Promise<T>, allowed = 0): Promise<T> {
  const before = snapshot();
  const result = await fn();
  check(before, allowed);
  return result;
}

interface MemorySnapshot {
  readonly tensors: number;
  readonly dataBuffers: number;
  /** Native handles, on backends that report them (torch: the addon's live libtorch tensors). */
  readonly handles?: number;
}

function snapshot(): MemorySnapshot {
  const m = tf.memory() as tf.MemoryInfo & { numHandles?: number };
  return {
    tensors: m.numTensors,
    dataBuffers: m.numDataBuffers,
    ...(m.numHandles === undefined ? {} : { handles: m.numHandles }),
  };
}

function check(before: MemorySnapshot, allowed: number): void {
  const after = snapshot();
  const grown = after.tensors - before.tensors;
  if (grown !== allowed) {
    throw new TensorLeakError(
      `Tensor count grew by ${grown}; expected ${allowed}. Wrap the computation in tf.tidy or dispose intermediates.`,
    );
  }
  // On a native backend every tfjs data buffer owns exactly one native handle: more handles than
  // buffers means the backend itself leaked (e.g. a kernel's intermediate was never freed).
  if (before.handles !== undefined && after.handles !== undefined) {
    const handlesGrown = after.handles - before.handles;
    const buffersGrown = after.dataBuffers - before.dataBuffers;
    if (handlesGrown !== buffersGrown) {
      throw new TensorLeakError(
        `Native tensor handles grew by ${handlesGrown} while tfjs data buffers grew by ${buffersGrown}; the backend (${tf.getBackend()}) leaked ${handlesGrown - buffersGrown} handle(s).`,
      );
    }
  }
}

/** Max |a - b| over two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`Length mismatch: ${a.length} vs ${b.length}.`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/**
 * True when |a - b| <= atol + rtol * |b| elementwise (numpy.allclose). Returns the worst index too.
 */
export function allClose(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  atol = 1e-5,
  rtol = 1e-4,
): { ok: boolean; worstIndex: number; worstExcess: number } {
  if (a.length !== b.length) throw new RangeError(`Length mismatch: ${a.length} vs ${b.length}.`);
  let worstIndex = -1;
  let worstExcess = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    const excess = Math.abs(x - y) - (atol + rtol * Math.abs(y));
    if (excess > worstExcess || Number.isNaN(excess)) {
      worstExcess = Number.isNaN(excess) ? Number.POSITIVE_INFINITY : excess;
      worstIndex = i;
    }
  }
  return { ok: worstExcess <= 0, worstIndex, worstExcess };
}
