/**
 * Forward parity of every torch kernel with tfjs's cpu backend (the reference): random shapes,
 * broadcasting, non-contiguous inputs (after Transpose/Slice), empty and rank-0 tensors, int32 and bool;
 * plus gradient parity of composite ops (attention, layer norm, GELU, cross-entropy).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { type Host, randomHost, rng, runOn, worstDiff } from './helpers.js';

const r = rng(11);
const f = (shape: number[], opts?: { lo?: number; hi?: number }): Host => randomHost(r, shape, 'float32', opts);
const i32 = (shape: number[], lo = -5, hi = 5): Host => randomHost(r, shape, 'int32', { lo, hi });
const bool = (shape: number[]): Host => randomHost(r, shape, 'bool');
const pos = (shape: number[]): Host => f(shape, { lo: 0.1, hi: 3 });
/** Non-contiguous view: transpose the last two axes (as the torch kernels see it). */
const T = (x: tf.Tensor): tf.Tensor => {
  const perm = [...Array(x.rank).keys()];
  [perm[x.rank - 1], perm[x.rank - 2]] = [perm[x.rank - 2] as number, perm[x.rank - 1] as number];
  return tf.transpose(x, perm);
};

type Case = readonly [string, readonly Host[], (...xs: tf.Tensor[]) => tf.Tensor | tf.Tensor[], number?];

const unary: Array<[string, (x: tf.Tensor) => tf.Tensor, (s: number[]) => Host]> = [
  ['Exp', tf.exp, f],
  ['Log', tf.log, pos],
  ['Sqrt', tf.sqrt, pos],
  ['Rsqrt', tf.rsqrt, pos],
  ['Square', tf.square, f],
  ['Neg', tf.neg, f],
  ['Sigmoid', tf.sigmoid, f],
  ['Abs', tf.abs, f],
  ['Erf', tf.erf, f],
  ['Tanh', tf.tanh, f],
  ['Relu', tf.relu, f],
  ['Floor', tf.floor, f],
  ['Ceil', tf.ceil, f],
  ['Sign', tf.sign, f],
  ['Sin', tf.sin, f],
  ['Cos', tf.cos, f],
  ['Log1p', tf.log1p, pos],
  ['Expm1', tf.expm1, f],
  ['Reciprocal', tf.reciprocal, pos],
  ['Softplus', tf.softplus, f],
  ['Elu', tf.elu, f],
  ['IsNan', tf.isNaN, f],
  ['Step', (x) => tf.step(x, 0.3), f],
  ['LeakyRelu', (x) => tf.leakyRelu(x, 0.2), f],
];

const binary: Array<[string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor, (s: number[]) => Host]> = [
  ['Add', tf.add, f],
  ['Sub', tf.sub, f],
  ['Multiply', tf.mul, f],
  ['RealDiv', tf.div, pos],
  ['Maximum', tf.maximum, f],
  ['Minimum', tf.minimum, f],
  ['Pow', tf.pow, pos],
  ['SquaredDifference', tf.squaredDifference, f],
  ['Equal', tf.equal, (s) => i32(s, 0, 2)],
  ['NotEqual', tf.notEqual, (s) => i32(s, 0, 2)],
  ['Greater', tf.greater, f],
  ['GreaterEqual', tf.greaterEqual, (s) => i32(s, 0, 2)],
  ['Less', tf.less, f],
  ['LessEqual', tf.lessEqual, (s) => i32(s, 0, 2)],
];

const cases: Case[] = [];
for (const [name, op, make] of unary) {
  cases.push([`${name} float32 [3,4,5]`, [make([3, 4, 5])], op]);
  cases.push([`${name} non-contiguous`, [make([4, 6])], (x) => op(T(x as tf.Tensor))]);
  cases.push([`${name} rank-0`, [make([])], op]);
  cases.push([`${name} empty`, [make([0, 3])], op]);
}
for (const name of ['Abs', 'Neg', 'Square', 'Sign', 'Relu']) {
  const op = unary.find(([n]) => n === name)?.[1] as (x: tf.Tensor) => tf.Tensor;
  cases.push([`${name} int32`, [i32([7])], op]);
}
for (const [name, op, make] of binary) {
  cases.push([`${name} same shape`, [make([3, 4]), make([3, 4])], op]);
  cases.push([`${name} broadcast [2,1,4]x[3,1]`, [make([2, 1, 4]), make([3, 1])], op]);
  cases.push([`${name} scalar`, [make([5]), make([])], op]);
  cases.push([`${name} non-contiguous`, [make([3, 4]), make([4, 3])], (a, b) => op(T(a as tf.Tensor), b as tf.Tensor)]);
  cases.push([`${name} empty`, [make([0, 4]), make([4])], op]);
}
for (const name of ['Add', 'Sub', 'Multiply', 'Maximum', 'Minimum']) {
  const op = binary.find(([n]) => n === name)?.[1] as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  cases.push([`${name} int32 broadcast`, [i32([2, 3]), i32([3])], op]);
}
cases.push(['FloorDiv int32', [i32([6]), i32([6], 1, 4)], tf.floorDiv]);
cases.push(['Mod float32', [f([6]), pos([6])], tf.mod]);
cases.push(['LogicalAnd', [bool([4, 3]), bool([3])], tf.logicalAnd]);
cases.push(['LogicalOr', [bool([4, 3]), bool([3])], tf.logicalOr]);
cases.push(['LogicalNot', [bool([5])], tf.logicalNot]);
cases.push(['Equal bool', [bool([6]), bool([6])], tf.equal]);

// Reductions.
for (const [name, op] of [
  ['Sum', tf.sum],
  ['Mean', tf.mean],
  ['Max', tf.max],
  ['Min', tf.min],
  ['Prod', tf.prod],
] as const) {
  cases.push([`${name} all`, [f([3, 4, 5])], (x) => op(x as tf.Tensor)]);
  cases.push([`${name} axis 1 keepDims`, [f([3, 4, 5])], (x) => op(x as tf.Tensor, 1, true)]);
  cases.push([`${name} axes [0,2]`, [f([3, 4, 5])], (x) => op(x as tf.Tensor, [0, 2])]);
  cases.push([`${name} axis -1 non-contiguous`, [f([4, 6])], (x) => op(T(x as tf.Tensor), -1)]);
  cases.push([`${name} rank-0`, [f([])], (x) => op(x as tf.Tensor)]);
  cases.push([`${name} int32`, [i32([3, 4])], (x) => op(x as tf.Tensor, 0)]);
}
cases.push(['Sum bool', [bool([4, 5])], (x) => tf.sum(x as tf.Tensor, 1)]);
cases.push(['Sum empty axis', [f([0, 3])], (x) => tf.sum(x as tf.Tensor, 0)]);
cases.push(['Mean empty-axis list', [f([2, 3])], (x) => tf.mean(x as tf.Tensor, [])]);
cases.push(['All', [bool([3, 4])], (x) => tf.all(x as tf.Tensor, 1)]);
cases.push(['Any', [bool([3, 4])], (x) => tf.any(x as tf.Tensor, 0)]);
cases.push(['ArgMax', [f([3, 7])], (x) => tf.argMax(x as tf.Tensor, 1)]);
cases.push(['ArgMax axis 0 int32', [i32([6, 2], -50, 50)], (x) => tf.argMax(x as tf.Tensor, 0)]);
cases.push(['ArgMin', [f([3, 7])], (x) => tf.argMin(x as tf.Tensor, -1)]);
cases.push(['Softmax', [f([2, 3, 9])], (x) => tf.softmax(x as tf.Tensor)]);
cases.push(['Softmax non-contiguous', [f([5, 4])], (x) => tf.softmax(T(x as tf.Tensor))]);
cases.push([
  'TopK',
  [f([3, 10])],
  (x) => {
    const { values, indices } = tf.topk(x as tf.Tensor, 4);
    return [values, indices];
  },
]);
cases.push([
  'TopK int32 1-D',
  [i32([9], -100, 100)],
  (x) => {
    const { values, indices } = tf.topk(x as tf.Tensor, 3);
    return [values, indices];
  },
]);

// Matrix products.
cases.push(['BatchMatMul 2-D', [f([5, 7]), f([7, 3])], (a, b) => tf.matMul(a as tf.Tensor, b as tf.Tensor)]);
cases.push(['BatchMatMul batched', [f([4, 5, 7]), f([4, 7, 3])], (a, b) => tf.matMul(a as tf.Tensor, b as tf.Tensor)]);
cases.push(['BatchMatMul transposeB', [f([2, 5, 7]), f([2, 3, 7])], (a, b) => tf.matMul(a as tf.Tensor, b as tf.Tensor, false, true)]);
cases.push(['BatchMatMul transposeA', [f([2, 7, 5]), f([2, 7, 3])], (a, b) => tf.matMul(a as tf.Tensor, b as tf.Tensor, true, false)]);
cases.push([
  'BatchMatMul one-sided broadcast [2,5,7]x[7,3]',
  [f([2, 5, 7]), f([7, 3])],
  (a, b) => tf.matMul(a as tf.Tensor, b as tf.Tensor),
]);
cases.push(['BatchMatMul non-contiguous', [f([7, 5]), f([3, 7])], (a, b) => tf.matMul(T(a as tf.Tensor), T(b as tf.Tensor))]);
cases.push(['BatchMatMul empty', [f([0, 4]), f([4, 3])], (a, b) => tf.matMul(a as tf.Tensor, b as tf.Tensor)]);

// Shape and data movement.
cases.push(['Transpose', [f([2, 3, 4])], (x) => tf.transpose(x as tf.Tensor, [2, 0, 1])]);
cases.push(['Transpose bool', [bool([2, 3])], (x) => tf.transpose(x as tf.Tensor)]);
cases.push(['Reshape', [f([2, 3, 4])], (x) => tf.reshape(x as tf.Tensor, [4, -1])]);
cases.push(['Reshape non-contiguous', [f([3, 4])], (x) => tf.reshape(T(x as tf.Tensor), [12])]);
cases.push(['Reshape rank-0', [f([1])], (x) => tf.reshape(x as tf.Tensor, [])]);
cases.push(['Slice', [f([4, 5, 6])], (x) => tf.slice(x as tf.Tensor, [1, 0, 2], [2, -1, 3])]);
cases.push(['Slice non-contiguous', [f([4, 5])], (x) => tf.slice(T(x as tf.Tensor), [1, 1], [3, 2])]);
cases.push(['Slice empty', [f([4, 5])], (x) => tf.slice(x as tf.Tensor, [1, 1], [0, 2])]);
cases.push(['StridedSlice', [f([6, 7])], (x) => tf.stridedSlice(x as tf.Tensor, [1, 0], [5, 7], [2, 3])]);
cases.push(['StridedSlice negative stride', [f([6, 7])], (x) => tf.stridedSlice(x as tf.Tensor, [5, 6], [0, 0], [-2, -1])]);
cases.push(['StridedSlice shrink', [f([6, 7])], (x) => tf.stridedSlice(x as tf.Tensor, [2, 0], [3, 7], [1, 1], 0, 0, 0, 0, 1)]);
cases.push(['Concat axis 1', [f([2, 3]), f([2, 4]), f([2, 1])], (a, b, c) => tf.concat([a, b, c] as tf.Tensor[], 1)]);
cases.push(['Concat int32 axis 0', [i32([2, 3]), i32([1, 3])], (a, b) => tf.concat([a, b] as tf.Tensor[], 0)]);
cases.push(['Concat with empty', [f([0, 3]), f([2, 3])], (a, b) => tf.concat([a, b] as tf.Tensor[], 0)]);
cases.push(['Concat non-contiguous', [f([3, 2]), f([2, 4])], (a, b) => tf.concat([T(a as tf.Tensor), b as tf.Tensor], 1)]);
cases.push(['Tile', [f([2, 3])], (x) => tf.tile(x as tf.Tensor, [2, 3])]);
cases.push(['Tile bool', [bool([2])], (x) => tf.tile(x as tf.Tensor, [3])]);
cases.push(['Identity (clone)', [f([3])], (x) => tf.clone(x as tf.Tensor)]);
cases.push([
  'PadV2',
  [f([2, 3])],
  (x) =>
    tf.pad(
      x as tf.Tensor,
      [
        [1, 0],
        [2, 1],
      ],
      0.5,
    ),
]);
cases.push([
  'PadV2 int32',
  [i32([2, 2])],
  (x) =>
    tf.pad(
      x as tf.Tensor,
      [
        [0, 1],
        [1, 1],
      ],
      7,
    ),
]);
cases.push([
  'MirrorPad reflect',
  [f([3, 4])],
  (x) =>
    tf.mirrorPad(
      x as tf.Tensor,
      [
        [1, 1],
        [2, 1],
      ],
      'reflect',
    ),
]);
cases.push([
  'MirrorPad symmetric',
  [f([3, 4])],
  (x) =>
    tf.mirrorPad(
      x as tf.Tensor,
      [
        [1, 2],
        [0, 1],
      ],
      'symmetric',
    ),
]);
cases.push(['ZerosLike', [f([2, 3])], (x) => tf.zerosLike(x as tf.Tensor)]);
cases.push(['OnesLike int32', [i32([2, 3])], (x) => tf.onesLike(x as tf.Tensor)]);
cases.push(['AddN', [f([2, 3]), f([2, 3]), f([2, 3])], (a, b, c) => tf.addN([a, b, c] as tf.Tensor[])]);
cases.push(['SplitV', [f([2, 9])], (x) => tf.split(x as tf.Tensor, [2, 3, 4], 1)]);
cases.push(['SplitV equal', [f([6, 2])], (x) => tf.split(x as tf.Tensor, 3, 0)]);
cases.push(['SplitV -1', [f([7])], (x) => tf.split(x as tf.Tensor, [2, -1], 0)]);
cases.push(['Pack', [f([2, 3]), f([2, 3])], (a, b) => tf.stack([a, b] as tf.Tensor[], 1)]);
cases.push(['Pack rank-0', [f([]), f([])], (a, b) => tf.stack([a, b] as tf.Tensor[])]);
cases.push(['Unpack', [f([3, 2])], (x) => tf.unstack(x as tf.Tensor, 1)]);
cases.push(['Reverse', [f([3, 4])], (x) => tf.reverse(x as tf.Tensor, [0, 1])]);
cases.push(['Fill', [], () => tf.fill([2, 3], 1.5)]);
cases.push(['Fill int32', [], () => tf.fill([4], 3, 'int32')]);
cases.push(['Range', [], () => tf.range(0, 10, 3)]);
cases.push(['Range int32 negative step', [], () => tf.range(10, 1, -2, 'int32')]);
cases.push(['Range empty', [], () => tf.range(5, 5)]);
cases.push(['GatherV2 axis 0', [f([5, 3]), i32([4], 0, 4)], (x, i) => tf.gather(x as tf.Tensor, i as tf.Tensor)]);
cases.push(['GatherV2 axis 1, 2-D indices', [f([2, 5, 3]), i32([2, 2], 0, 4)], (x, i) => tf.gather(x as tf.Tensor, i as tf.Tensor, 1)]);
cases.push(['GatherV2 batchDims 1', [f([2, 5, 3]), i32([2, 4], 0, 4)], (x, i) => tf.gather(x as tf.Tensor, i as tf.Tensor, 1, 1)]);
cases.push(['GatherV2 int32 params', [i32([6]), i32([3], 0, 5)], (x, i) => tf.gather(x as tf.Tensor, i as tf.Tensor)]);
cases.push(['Cast float->int32 truncates', [f([8], { lo: -3, hi: 3 })], (x) => tf.cast(x as tf.Tensor, 'int32')]);
cases.push(['Cast float->bool', [i32([8], -1, 1)], (x) => tf.cast(tf.cast(x as tf.Tensor, 'float32'), 'bool')]);
cases.push(['Cast bool->float', [bool([5])], (x) => tf.cast(x as tf.Tensor, 'float32')]);
cases.push(['Select (where)', [bool([3, 4]), f([3, 4]), f([3, 4])], (c, a, b) => tf.where(c as tf.Tensor, a as tf.Tensor, b as tf.Tensor)]);
cases.push(['OneHot', [i32([5], 0, 3)], (i) => tf.oneHot(i as tf.Tensor1D, 4)]);
cases.push(['UnsortedSegmentSum', [f([6, 2]), i32([6], 0, 2)], (x, i) => tf.unsortedSegmentSum(x as tf.Tensor, i as tf.Tensor1D, 3)]);
cases.push(['ClipByValue', [f([10])], (x) => tf.clipByValue(x as tf.Tensor, -0.5, 0.7)]);
cases.push(['Cumsum exclusive reverse', [f([3, 5])], (x) => tf.cumsum(x as tf.Tensor, 1, true, true)]);

describe('forward parity with the cpu backend', () => {
  it.each(cases.map((c) => ({ name: c[0], inputs: c[1], fn: c[2], tol: c[3] ?? 2e-6 })))('$name', ({ inputs, fn, tol }) => {
    const expected = runOn('cpu', inputs, fn);
    const actual = runOn('torch', inputs, fn);
    expect(actual.length).toBe(expected.length);
    for (let k = 0; k < expected.length; k++) {
      const a = actual[k]!;
      const e = expected[k]!;
      expect(a.shape).toEqual(e.shape);
      expect(a.dtype).toBe(e.dtype);
      expect(worstDiff(a.values, e.values)).toBeLessThanOrEqual(tol);
    }
  });
});

// Gradient parity of composite ops through tfjs's tape.
// tfjs's own BatchMatMul gradient does not reduce one-sided broadcasting ([B,M,K]x[K,N]; @lss/core fixes
// that), so the projections run on [B*M, K] rows as the backbone does.
function attention(x: tf.Tensor, wq: tf.Tensor, wk: tf.Tensor, wv: tf.Tensor): tf.Tensor {
  const rows = tf.reshape(x, [-1, x.shape[2] as number]);
  const project = (w: tf.Tensor) => tf.reshape(tf.matMul(rows, w), x.shape);
  const q = project(wq);
  const k = project(wk);
  const v = project(wv);
  const p = tf.softmax(tf.mul(tf.matMul(q, T(k)), 1 / Math.sqrt(q.shape[2] as number)));
  return tf.matMul(p, v);
}
function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const c = tf.sub(x, mean);
  const variance = tf.mean(tf.square(c), -1, true);
  return tf.add(tf.mul(tf.mul(c, tf.rsqrt(tf.add(variance, 1e-5))), g), b);
}
const gelu = (x: tf.Tensor): tf.Tensor => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));

const gradCases: Array<readonly [string, readonly Host[], (...xs: tf.Tensor[]) => tf.Tensor]> = [
  ['attention block', [f([2, 5, 8]), f([8, 8]), f([8, 8]), f([8, 8])], (x, a, b, c) => tf.sum(tf.square(attention(x!, a!, b!, c!)))],
  ['layer norm + GELU', [f([3, 6]), f([6]), f([6])], (x, g, b) => tf.sum(gelu(layerNorm(x!, g!, b!)))],
  [
    'cross-entropy (logSoftmax, gather, mean)',
    [f([4, 7]), f([7, 7])],
    (x, w) => {
      const logits = tf.matMul(x!, w!);
      const logp = tf.logSoftmax(logits);
      return tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d([0, 3, 6, 2], 'int32'), 7)), -1)));
    },
  ],
  [
    'slice/concat/tile/pad/max/pow/sqrt/maximum',
    [f([3, 4]), pos([3, 4])],
    (x, y) => {
      const s = tf.concat([tf.slice(x!, [0, 1], [3, 2]), tf.tile(tf.slice(y!, [0, 0], [3, 1]), [1, 2])], 1);
      const p = tf.pad(s, [
        [1, 0],
        [0, 1],
      ]);
      return tf.add(tf.sum(tf.max(tf.mul(p, p), 1)), tf.sum(tf.maximum(tf.pow(y!, 1.5), tf.sqrt(y!))));
    },
  ],
  [
    'gather + split + stack + broadcasting matMul',
    [f([6, 4]), f([2, 4, 3])],
    (x, w) => {
      const g = tf.gather(x!, tf.tensor1d([0, 2, 2, 5], 'int32'));
      const [a, b] = tf.split(g, 2, 0) as [tf.Tensor, tf.Tensor];
      return tf.sum(tf.sigmoid(tf.matMul(tf.stack([a, b]), w!)));
    },
  ],
];

describe('gradient parity with the cpu backend', () => {
  it.each(gradCases)('%s', (_name, inputs, loss) => {
    const fn = (...xs: tf.Tensor[]) => tf.grads((...ys: tf.Tensor[]) => loss(...ys))(xs);
    const expected = runOn('cpu', inputs, fn);
    const actual = runOn('torch', inputs, fn);
    for (let k = 0; k < expected.length; k++) {
      expect(actual[k]!.shape).toEqual(expected[k]!.shape);
      // float32 sums in a different order: relative 1e-4 (the backbone fixtures' tolerance)
      expect(worstDiff(actual[k]!.values, expected[k]!.values)).toBeLessThan(1e-4);
    }
  });
});
