import * as tf from '@tensorflow/tfjs-core';

/** A tensor as host data, so that the same input can be made on each backend. */
export interface Host {
  readonly values: Float32Array | Int32Array | Uint8Array;
  readonly shape: readonly number[];
  readonly dtype: 'float32' | 'int32' | 'bool';
}

/** Deterministic RNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);

export function randomHost(
  random: () => number,
  shape: readonly number[],
  dtype: Host['dtype'] = 'float32',
  { lo = -2, hi = 2 } = {},
): Host {
  const n = size(shape);
  if (dtype === 'float32') return { values: Float32Array.from({ length: n }, () => lo + (hi - lo) * random()), shape, dtype };
  if (dtype === 'int32') return { values: Int32Array.from({ length: n }, () => Math.floor(lo + (hi - lo + 1) * random())), shape, dtype };
  return { values: Uint8Array.from({ length: n }, () => (random() < 0.5 ? 1 : 0)), shape, dtype };
}

export interface Result {
  readonly shape: number[];
  readonly dtype: string;
  readonly values: number[];
}

/** Runs `fn` on `backend` with fresh tensors made from `inputs`; returns every output as host data. */
export function runOn(backend: string, inputs: readonly Host[], fn: (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[]): Result[] {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  try {
    const xs = inputs.map((h) => tf.tensor(h.values, [...h.shape], h.dtype));
    const out = fn(...xs);
    const outs = Array.isArray(out) ? out : [out];
    const results = outs.map((t) => ({ shape: t.shape.slice(), dtype: t.dtype, values: Array.from(t.dataSync() as ArrayLike<number>) }));
    tf.dispose([...xs, ...outs]);
    return results;
  } finally {
    tf.setBackend(previous);
  }
}

/** Max |a-b| / (1 + |b|) elementwise; NaN equals NaN, Infinity equals Infinity. */
export function worstDiff(a: readonly number[], b: readonly number[]): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (x === y) continue;
    const d = Math.abs(x - y) / (1 + Math.abs(y));
    worst = Math.max(worst, Number.isNaN(d) ? Number.POSITIVE_INFINITY : d);
  }
  return worst;
}

/** Plain-JS batched matmul with numpy two-sided broadcasting of the batch dimensions (the oracle). */
export function matMulOracle(a: Host, b: Host): { shape: number[]; values: number[] } {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new Error('inner dimensions differ');
  const ba = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pa = [...Array(rank - ba.length).fill(1), ...ba] as number[];
  const pb = [...Array(rank - bb.length).fill(1), ...bb] as number[];
  const batch = pa.map((d, i) => Math.max(d, pb[i] as number));
  const total = size(batch);
  const values: number[] = [];
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    const idx = new Array<number>(rank);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d] = rest % (batch[d] as number);
      rest = Math.floor(rest / (batch[d] as number));
    }
    let offA = 0;
    let offB = 0;
    for (let d = 0; d < rank; d++) {
      offA = offA * (pa[d] as number) + ((pa[d] as number) === 1 ? 0 : (idx[d] as number));
      offB = offB * (pb[d] as number) + ((pb[d] as number) === 1 ? 0 : (idx[d] as number));
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += (a.values[offA * m * k + i * k + t] as number) * (b.values[offB * k * n + t * n + j] as number);
        values.push(s);
      }
    }
  }
  return { shape: [...batch, m, n], values };
}
