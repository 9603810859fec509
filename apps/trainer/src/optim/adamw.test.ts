import { expectNoLeaks, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { AdamW } from './adamw.js';
import { clipByGlobalNorm, clipScales, globalNorm, gradientNorms } from './clip.js';

afterEach(() => tf.disposeVariables());

/** Float64 reference of torch.optim.AdamW for one parameter tensor, written from the paper's algorithm 2. */
function referenceAdamW(
  p0: number[],
  gradsPerStep: number[][],
  lrs: number[],
  wds: number[],
  decay: boolean,
  b1 = 0.9,
  b2 = 0.999,
  eps = 1e-8,
): number[] {
  const p = [...p0];
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  gradsPerStep.forEach((g, s) => {
    const t = s + 1;
    const lr = lrs[s] as number;
    const wd = decay ? (wds[s] as number) : 0;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i] as number;
      m[i] = b1 * (m[i] as number) + (1 - b1) * gi;
      v[i] = b2 * (v[i] as number) + (1 - b2) * gi * gi;
      const mHat = (m[i] as number) / (1 - b1 ** t);
      const vHat = (v[i] as number) / (1 - b2 ** t);
      p[i] = (p[i] as number) * (1 - lr * wd) - (lr * mHat) / (Math.sqrt(vHat) + eps);
    }
  });
  return p;
}

describe('AdamW', () => {
  it('matches a hand-computed first step, with decay on kernels and none on biases', () => {
    const kernel = tf.variable(tf.ones([2, 2]), true, 'student/k');
    const bias = tf.variable(tf.ones([2]), true, 'student/b');
    const vars = new Map<string, tf.Variable>([
      ['student/k', kernel],
      ['student/b', bias],
    ]);
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const grads = { 'student/k': tf.fill([2, 2], 0.5), 'student/b': tf.fill([2], 0.5) };
    // m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25, update = 0.5 / 0.5 = 1:
    // kernel: 1 - 0.1 * 0.1 * 1 - 0.1 * 1 = 0.89; bias (no decay): 1 - 0.1 = 0.9.
    expectNoLeaks(() => opt.step(vars, grads, { learningRate: 0.1, weightDecay: 0.1 }), 4); // 2 slots x (m, v)
    expect(maxAbsDiff(kernel.dataSync(), [0.89, 0.89, 0.89, 0.89])).toBeLessThan(1e-6);
    expect(maxAbsDiff(bias.dataSync(), [0.9, 0.9])).toBeLessThan(1e-6);
    tf.dispose(Object.values(grads));
    opt.dispose();
  });

  it('follows the float64 reference over several steps with changing lr and wd', () => {
    const rng = (seed: number) => () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648 - 0.5;
    };
    const r = rng(7);
    const p0 = Array.from({ length: 6 }, r);
    const b0 = Array.from({ length: 3 }, r);
    const steps = 5;
    const gk = Array.from({ length: steps }, () => Array.from({ length: 6 }, r));
    const gb = Array.from({ length: steps }, () => Array.from({ length: 3 }, r));
    const lrs = [0.01, 0.02, 0.03, 0.02, 0.01];
    const wds = [0.04, 0.1, 0.2, 0.3, 0.4];
    const kernel = tf.variable(tf.tensor2d(p0, [2, 3]), true, 'student/kernel');
    const bias = tf.variable(tf.tensor1d(b0), true, 'student/bias');
    const vars = new Map<string, tf.Variable>([
      ['student/kernel', kernel],
      ['student/bias', bias],
    ]);
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    for (let s = 0; s < steps; s++) {
      const grads = { 'student/kernel': tf.tensor2d(gk[s] as number[], [2, 3]), 'student/bias': tf.tensor1d(gb[s] as number[]) };
      opt.step(vars, grads, { learningRate: lrs[s] as number, weightDecay: wds[s] as number });
      tf.dispose(Object.values(grads));
    }
    expect(maxAbsDiff(kernel.dataSync(), referenceAdamW(p0, gk, lrs, wds, true))).toBeLessThan(1e-6);
    expect(maxAbsDiff(bias.dataSync(), referenceAdamW(b0, gb, lrs, wds, false))).toBeLessThan(1e-6);
    expect(opt.iterations).toBe(steps);
    opt.dispose();
  });

  it('saves and restores its state by variable name, continuing exactly', async () => {
    const make = (name: string) => tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]), true, name);
    const a = make('student/a');
    const b = make('student/b2');
    const opt1 = new AdamW({ beta1: 0.9, beta2: 0.99, epsilon: 1e-8 });
    const opt2 = new AdamW({ beta1: 0.9, beta2: 0.99, epsilon: 1e-8 });
    const g = () => ({ 'student/a': tf.tensor2d([0.1, -0.2, 0.3, -0.4], [2, 2]) });
    const g1 = g();
    opt1.step(new Map([['student/a', a]]), g1, { learningRate: 0.1, weightDecay: 0.1 });
    tf.dispose(Object.values(g1));
    // b starts where a is now; opt2 gets opt1's state under b's name: both must make the same next step.
    b.assign(a);
    const state = await opt1.getState();
    const renamed = new Map([...state.slots].map(([k, v]) => [k.replace('student/a', 'student/b2'), v]));
    opt2.setState({ step: state.step, slots: renamed }, new Map([['student/b2', b]]));
    const g2 = g();
    opt1.step(new Map([['student/a', a]]), g2, { learningRate: 0.05, weightDecay: 0.2 });
    opt2.step(new Map([['student/b2', b]]), { 'student/b2': g2['student/a'] as tf.Tensor }, { learningRate: 0.05, weightDecay: 0.2 });
    tf.dispose(Object.values(g2));
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
    expect(() => opt2.setState(state, new Map([['student/b2', b]]))).toThrow(/unexpected slots student\/a/s);
    opt1.dispose();
    opt2.dispose();
  });

  it('gradScale equals scaling the gradients first (how clipping and accumulation are applied)', () => {
    const a = tf.variable(tf.tensor2d([1, -2, 3, 0.5], [2, 2]), true, 'student/s1');
    const b = tf.variable(tf.tensor2d([1, -2, 3, 0.5], [2, 2]), true, 'student/s2');
    const optA = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const optB = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    for (const [gs, lr] of [
      [[0.3, -0.1, 0.2, 0.05], 0.1],
      [[-0.2, 0.4, 0.1, 0.3], 0.05],
    ] as const) {
      const g = tf.tensor2d([...gs], [2, 2]);
      const half = tf.mul(g, 0.37);
      optA.step(new Map([['student/s1', a]]), { 'student/s1': g }, { learningRate: lr, weightDecay: 0.1, gradScale: 0.37 });
      optB.step(new Map([['student/s2', b]]), { 'student/s2': half }, { learningRate: lr, weightDecay: 0.1 });
      tf.dispose([g, half]);
    }
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-6);
    optA.dispose();
    optB.dispose();
  });

  it('hostSlots (m and v on the host) gives the same updates and a state that round-trips', async () => {
    const init = [0.5, -1, 2, 0.25, 3, -0.5];
    const a = tf.variable(tf.tensor2d(init, [2, 3]), true, 'student/h1');
    const b = tf.variable(tf.tensor2d(init, [2, 3]), true, 'student/h2');
    const onDevice = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const onHost = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, hostSlots: true });
    for (let s = 0; s < 3; s++) {
      const g = tf.tensor2d(
        init.map((x, i) => Math.sin(x * (s + 1) + i)),
        [2, 3],
      );
      onDevice.step(new Map([['student/h1', a]]), { 'student/h1': g }, { learningRate: 0.05, weightDecay: 0.1, gradScale: 0.5 });
      onHost.step(new Map([['student/h2', b]]), { 'student/h2': g }, { learningRate: 0.05, weightDecay: 0.1, gradScale: 0.5 });
      g.dispose();
    }
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-6);
    expect(onHost.variables().size).toBe(0); // nothing on the device
    expect([...onHost.slotTensors().keys()]).toEqual(['optimizer/student/h2/m', 'optimizer/student/h2/v']);
    const state = await onHost.getState();
    const restored = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, hostSlots: true });
    restored.setState(state, new Map([['student/h2', b]]));
    expect(maxAbsDiff((await restored.getState()).slots.get('student/h2/v')?.data ?? [], state.slots.get('student/h2/v')?.data ?? [])).toBe(
      0,
    );
    onDevice.dispose();
    onHost.dispose();
    restored.dispose();
  });

  it('learningRates gives single variables their own rate (PyTorch parameter groups), on the device and on the host', () => {
    const init = [0.5, -1, 2, 0.25];
    const grads = [
      [0.3, -0.1, 0.2, 0.05],
      [-0.2, 0.4, 0.1, 0.3],
    ];
    for (const hostSlots of [false, true]) {
      const k = tf.variable(tf.tensor2d(init, [2, 2]), true, `student/k${hostSlots}`);
      const s = tf.variable(tf.tensor2d(init, [2, 2]), true, `student/s${hostSlots}`);
      const vars = new Map([
        ['k', k],
        ['s', s],
      ]);
      const opt = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, hostSlots });
      for (const g of grads) {
        const named = { k: tf.tensor2d(g, [2, 2]), s: tf.tensor2d(g, [2, 2]) };
        opt.step(vars, named, { learningRate: 0.01, weightDecay: 0.1, learningRates: new Map([['s', 0.2]]) });
        tf.dispose(Object.values(named));
      }
      expect(maxAbsDiff(k.dataSync(), referenceAdamW(init, grads, [0.01, 0.01], [0.1, 0.1], true))).toBeLessThan(1e-6);
      expect(maxAbsDiff(s.dataSync(), referenceAdamW(init, grads, [0.2, 0.2], [0.1, 0.1], true))).toBeLessThan(1e-6);
      const g = { k: tf.ones([2, 2]) };
      expect(() => opt.step(vars, g, { learningRate: 0.1, weightDecay: 0, learningRates: new Map([['z', 0.1]]) })).toThrow(/"z"/);
      expect(() => opt.step(vars, g, { learningRate: 0.1, weightDecay: 0, learningRates: new Map([['s', Number.NaN]]) })).toThrow(
        /rate of "s" is NaN/,
      );
      tf.dispose(Object.values(g));
      opt.dispose();
    }
  });

  it('rejects gradients for variables it does not update and bad hyper-parameters', () => {
    const a = tf.variable(tf.ones([2, 2]), true, 'student/x');
    const opt = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const grads = { 'teacher/x': tf.ones([2, 2]) };
    expect(() => opt.step(new Map([['student/x', a]]), grads, { learningRate: 0.1, weightDecay: 0 })).toThrow(/teacher\/x/);
    expect(() => opt.step(new Map([['student/x', a]]), {}, { learningRate: Number.NaN, weightDecay: 0 })).toThrow(/finite/);
    expect(() => new AdamW({ beta1: 1, beta2: 0.9, epsilon: 1e-8 })).toThrow(/beta1/);
    tf.dispose(Object.values(grads));
    opt.dispose();
  });
});

describe('clipByGlobalNorm', () => {
  it('scales all gradients by maxNorm / norm when the norm is larger, and leaves them alone otherwise', () => {
    const grads = { a: tf.tensor1d([3, 0]), b: tf.tensor2d([[0, 4]]) }; // global norm 5
    const { grads: clipped, norm } = expectNoLeaks(() => clipByGlobalNorm(grads, 1), 3);
    expect(norm.dataSync()[0]).toBeCloseTo(5, 6);
    expect(maxAbsDiff(clipped.a?.dataSync() ?? [], [0.6, 0])).toBeLessThan(1e-6);
    expect(maxAbsDiff(clipped.b?.dataSync() ?? [], [0, 0.8])).toBeLessThan(1e-6);
    const clippedNorm = globalNorm(clipped);
    expect(clippedNorm.dataSync()[0]).toBeCloseTo(1, 5);
    const { grads: same, norm: n2 } = clipByGlobalNorm(grads, 10);
    expect(maxAbsDiff(same.a?.dataSync() ?? [], [3, 0])).toBeLessThan(1e-6);
    tf.dispose([...Object.values(grads), ...Object.values(clipped), norm, clippedNorm, ...Object.values(same), n2]);
  });
});

describe('clipScales: per parameter tensor (DINO/SVT clip_gradients) or global (clip_grad_norm_)', () => {
  it('150 tensors of norm 1 at max 3: per-parameter leaves them alone, global shrinks each 4.08x', () => {
    const norms = new Map(Array.from({ length: 150 }, (_, i) => [`p${i}`, 1]));
    const perParameter = clipScales(norms, { mode: 'per-parameter', maxNorm: 3 });
    const global = clipScales(norms, { mode: 'global', maxNorm: 3 });
    for (const s of perParameter.values()) expect(s).toBe(1);
    for (const s of global.values()) expect(1 / s).toBeCloseTo(Math.sqrt(150) / 3, 4); // 4.08
    expect(clipScales(norms, null).get('p0')).toBe(1);
  });

  it('per-parameter clips only the tensors above the threshold, each by its own norm', async () => {
    const grads = { a: tf.tensor1d([3, 4]), b: tf.tensor1d([0.6, 0.8]) }; // norms 5 and 1
    const norms = await gradientNorms(grads);
    expect(norms.get('a')).toBeCloseTo(5, 5);
    const scales = clipScales(norms, { mode: 'per-parameter', maxNorm: 2 });
    expect(scales.get('a')).toBeCloseTo(2 / 5, 5);
    expect(scales.get('b')).toBe(1);
    expect(clipScales(norms, { mode: 'global', maxNorm: 2 }).get('b')).toBeCloseTo(2 / Math.sqrt(26), 5);
    tf.dispose(Object.values(grads));
  });
});
