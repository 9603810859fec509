import { readSafetensorsFile } from '@lss/core/node';
import { expectNoLeaks, fixturePath, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { checkpointed, clipBlock, dividedSpaceTimeBlock } from './block.js';
import type { BlockOptions, BlockWeights } from './layers.js';
import { torchLinearToKernel } from './weights/torch-layout.js';

const W = readSafetensorsFile(fixturePath('timesformer-block', 'weights.safetensors')).tensors;
const IO = readSafetensorsFile(fixturePath('timesformer-block', 'io.safetensors')).tensors;

function host(name: string, map = W) {
  const t = map.get(name);
  if (!t) throw new Error(`fixture has no ${name}`);
  return { shape: t.shape, data: t.data as Float32Array };
}
const vec = (n: string) => tf.tensor1d(host(n).data);
const kernel = (n: string) => {
  const k = torchLinearToKernel(host(n));
  return tf.tensor2d(k.data, k.shape as [number, number]);
};
const lin = (p: string) => ({ kernel: kernel(`${p}.weight`), bias: vec(`${p}.bias`) });
const ln = (p: string) => ({ gamma: vec(`${p}.weight`), beta: vec(`${p}.bias`) });

/** The reference's weights under our structure (`attn.qkv` rows are [q | k | v], head-major). */
function referenceWeights(): BlockWeights {
  return {
    norm1: ln('norm1'),
    attn: { qkv: lin('attn.qkv'), proj: lin('attn.proj') },
    norm2: ln('norm2'),
    mlp: { fc1: lin('mlp.fc1'), fc2: lin('mlp.fc2') },
    temporal: {
      norm: ln('temporal_norm1'),
      attn: { qkv: lin('temporal_attn.qkv'), proj: lin('temporal_attn.proj') },
      fc: lin('temporal_fc'),
    },
  };
}
const OPTIONS: BlockOptions = { heads: 4, layerNormEps: 1e-5, activation: 'gelu' };
const [B, T, S, D] = [2, 3, 4, 32];

/** Reference token order 1 + s*T + t (time fastest) <-> ours 1 + t*S + s (frame-major). */
function reorder(data: Float32Array, toOurs: boolean): Float32Array {
  const out = new Float32Array(data.length);
  const N = 1 + T * S;
  for (let b = 0; b < B; b++) {
    out.set(data.subarray(b * N * D, b * N * D + D), b * N * D);
    for (let s = 0; s < S; s++)
      for (let t = 0; t < T; t++) {
        const ref = 1 + s * T + t;
        const ours = 1 + t * S + s;
        const [from, to] = toOurs ? [ref, ours] : [ours, ref];
        out.set(data.subarray((b * N + from) * D, (b * N + from + 1) * D), (b * N + to) * D);
      }
  }
  return out;
}

describe('divided space-time block vs fixtures/timesformer-block (TimeSformer vit.py Block)', () => {
  const w = referenceWeights();
  const x = tf.tensor3d(reorder(host('x', IO).data, true), [B, 1 + T * S, D]);
  const yRef = host('y', IO).data;

  it('reproduces y within 1e-4 (exact GELU, eps 1e-5, 4 heads)', () => {
    const y = expectNoLeaks(() => tf.tidy(() => dividedSpaceTimeBlock(x, w, OPTIONS, T)), 1);
    const diff = maxAbsDiff(reorder(y.dataSync() as Float32Array, false), yRef);
    expect(diff).toBeLessThan(1e-4);
    y.dispose();
  });

  it('fails with the wrong activation (the check can fail)', () => {
    const y = tf.tidy(() => dividedSpaceTimeBlock(x, w, { ...OPTIONS, activation: 'quick_gelu' }, T));
    expect(maxAbsDiff(reorder(y.dataSync() as Float32Array, false), yRef)).toBeGreaterThan(1e-3);
    y.dispose();
  });

  it('checkpointed block: same gradients (input and weights) as the plain block, no leak', () => {
    const temporal = w.temporal as NonNullable<BlockWeights['temporal']>;
    const withWeights = (qkv: tf.Tensor, fc: tf.Tensor): BlockWeights => ({
      ...w,
      attn: { ...w.attn, qkv: { ...w.attn.qkv, kernel: qkv } },
      temporal: { ...temporal, fc: { ...temporal.fc, kernel: fc } },
    });
    const block = (h: tf.Tensor, ww: BlockWeights) => dividedSpaceTimeBlock(h, ww, OPTIONS, T);
    const loss = (ckpt: boolean) => (xx: tf.Tensor, qkv: tf.Tensor, fc: tf.Tensor) =>
      tf.sum(tf.square(ckpt ? checkpointed(block, xx, withWeights(qkv, fc)) : block(xx, withWeights(qkv, fc))));
    const args = [x, w.attn.qkv.kernel, temporal.fc.kernel];
    const g1 = tf.grads(loss(false))(args);
    const g2 = expectNoLeaks(() => tf.grads(loss(true))(args), 3);
    for (let i = 0; i < 3; i++) {
      const scale = Math.max(...Array.from(g1[i]?.dataSync() ?? [], Math.abs));
      expect(scale).toBeGreaterThan(0);
      expect(maxAbsDiff((g1[i] as tf.Tensor).dataSync(), (g2[i] as tf.Tensor).dataSync()) / scale).toBeLessThan(1e-5);
    }
    tf.dispose([...g1, ...g2]);
  });

  it('branch checkpointing gives the same value and input gradient', () => {
    const f = (branches: boolean) => (xx: tf.Tensor) => tf.sum(tf.square(dividedSpaceTimeBlock(xx, w, OPTIONS, T, branches)));
    const g1 = tf.grad(f(false))(x);
    const g2 = expectNoLeaks(() => tf.grad(f(true))(x), 1);
    expect(maxAbsDiff(g1.dataSync(), g2.dataSync())).toBeLessThan(1e-4);
    const y = tf.tidy(() => dividedSpaceTimeBlock(x, w, OPTIONS, T, true));
    expect(maxAbsDiff(reorder(y.dataSync() as Float32Array, false), yRef)).toBeLessThan(1e-4);
    tf.dispose([g1, g2, y]);
  });

  it('with T = 1 and zero temporalFc equals the plain CLIP block', () => {
    const zeroFc = {
      ...w,
      temporal: { ...(w.temporal as NonNullable<BlockWeights['temporal']>), fc: { kernel: tf.zeros([D, D]), bias: tf.zeros([D]) } },
    };
    const x1 = tf.randomNormal([2, 1 + S, D], 0, 1, 'float32', 3);
    const a = dividedSpaceTimeBlock(x1, zeroFc, OPTIONS, 1);
    const b = clipBlock(x1, w, OPTIONS);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBeLessThan(1e-5);
    tf.dispose([x1, a, b, zeroFc.temporal.fc.kernel, zeroFc.temporal.fc.bias]);
  });
});
