import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { gradients, grads, variableGrads } from './autograd.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const randn = (shape: number[], seed: number) => tf.randomNormal(shape, 0, 1, 'float32', seed);
const arrays = (m: tf.NamedTensorMap) =>
  Object.fromEntries(Object.entries(m).flatMap(([k, t]) => (t ? [[k, Array.from(t.dataSync())]] : [])));

/**
 * A loss that exercises what a backward walk must get right: broadcasting adds, a tensor used twice
 * (x * x), a gradient function that hands one tensor to several inputs (Add of equal shapes), a split
 * with an unused output, reshapes/transposes, a softmax, a matMul, and a variable f does not use.
 */
function loss(w: tf.Variable, b: tf.Variable, x: tf.Tensor): tf.Scalar {
  const h = tf.add(tf.matMul(x, w), b); // [4, 6] + [6]
  const [left] = tf.split(tf.mul(h, h), [2, 4], 1); // right half unused
  const s = tf.softmax(tf.reshape(tf.transpose(left as tf.Tensor, [1, 0]), [2, 4]));
  const twice = tf.add(s, s);
  return tf.sum(tf.mul(twice, tf.sigmoid(twice))) as tf.Scalar;
}

describe('autograd (backward that frees as it goes)', () => {
  it('variableGrads gives the same value and gradients as tf.variableGrads', () => {
    const w = tf.variable(randn([3, 6], 1), true, 'ag-w');
    const b = tf.variable(randn([6], 2), true, 'ag-b');
    const unused = tf.variable(randn([2], 3), true, 'ag-unused');
    const frozen = tf.variable(randn([2], 4), false, 'ag-frozen');
    const x = randn([4, 3], 5);
    const ours = variableGrads(() => loss(w, b, x), [w, b, unused, frozen]);
    const theirs = tf.variableGrads(() => loss(w, b, x), [w, b, unused, frozen]);
    expect(ours.value.dataSync()[0]).toBeCloseTo(theirs.value.dataSync()[0] as number, 6);
    expect(Object.keys(ours.grads).sort()).toEqual(['ag-b', 'ag-w']); // no gradient for the unused or frozen one
    const a = arrays(ours.grads);
    const t = arrays(theirs.grads as tf.NamedTensorMap);
    for (const k of Object.keys(a)) a[k]!.forEach((v, i) => expect(v).toBeCloseTo(t[k]![i] as number, 6));
    tf.dispose([ours.value, theirs.value, ...Object.values(ours.grads), ...(Object.values(theirs.grads).filter((g) => g) as tf.Tensor[])]);
    tf.dispose([w, b, unused, frozen, x]);
  });

  it('grads with a caller dy: same as tf.grads, and the caller keeps its dy', () => {
    const f = (a: tf.Tensor, c: tf.Tensor) => tf.mul(tf.tanh(a), tf.add(c, a));
    const a = randn([3, 4], 1);
    const c = randn([4], 2);
    const dy = randn([3, 4], 3);
    const ours = grads(f)([a, c], dy);
    const theirs = tf.grads(f)([a, c], dy);
    ours.forEach((g, i) => expect(Array.from(g.dataSync())).toEqual(Array.from((theirs[i] as tf.Tensor).dataSync())));
    expect(dy.isDisposed).toBe(false);
    tf.dispose([...ours, ...theirs, a, c, dy]);
  });

  it('leaves nothing behind but the value and the gradients', () => {
    const w = tf.variable(randn([3, 6], 1));
    const b = tf.variable(randn([6], 2));
    const x = randn([4, 3], 5);
    const before = tf.memory().numTensors;
    const { value, grads: g } = variableGrads(() => loss(w, b, x), [w, b]);
    expect(tf.memory().numTensors).toBe(before + 1 + Object.keys(g).length);
    tf.dispose([value, ...Object.values(g), w, b, x]);
  });

  it('frees activation gradients and saved tensors during the backward (peak far below tf.variableGrads)', () => {
    // A deep chain: tfjs keeps every activation gradient until the backward ends; PyTorch (and this)
    // frees each once used, so the backward's extra memory stays at a few activations.
    const n = 40;
    const size = 10_000;
    const w = tf.variable(tf.fill([size], 0.999));
    const x = randn([size], 1);
    let forwardDone = false;
    const chain = () => {
      let h: tf.Tensor = x;
      for (let i = 0; i < n; i++) h = tf.sin(tf.mul(h, w));
      forwardDone = true;
      return tf.sum(h) as tf.Scalar;
    };
    const peakOf = (run: () => { value: tf.Scalar; grads: tf.NamedTensorMap }) => {
      const state = tf.engine().state as unknown as { numBytes: number };
      let value = state.numBytes;
      let peak = 0; // highest count once the forward has finished: the backward's
      forwardDone = false;
      Object.defineProperty(state, 'numBytes', {
        configurable: true,
        get: () => value,
        set: (v: number) => {
          value = v;
          if (forwardDone && (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth === 0) peak = Math.max(peak, v);
        },
      });
      const start = value;
      try {
        const r = run();
        tf.dispose([r.value, ...Object.values(r.grads)]);
      } finally {
        Object.defineProperty(state, 'numBytes', { configurable: true, writable: true, enumerable: true, value });
      }
      return (peak - start) / (size * 4); // in activations
    };
    const ours = peakOf(() => variableGrads(chain, [w]));
    const theirs = peakOf(() => tf.variableGrads(chain, [w]) as { value: tf.Scalar; grads: tf.NamedTensorMap });
    // forward: each Mul saves h (and w), each Sin saves its input: about 2n activations either way
    // numBytes counts every tensor, clones included: the saved forward tensors are about 3n. tfjs adds
    // about 2n activation gradients on top of them; this frees both as it goes.
    expect(theirs - ours).toBeGreaterThan(n);
    tf.dispose([w, x]);
  });

  it('refuses f without a path from x to y, as tf.grads does', () => {
    const a = randn([2], 1);
    expect(() => gradients(() => tf.ones([2]), [a])).toThrow(/no operation leads from x to y/);
    a.dispose();
  });
});
