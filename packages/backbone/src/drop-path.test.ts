import { ConfigError, ShapeError } from '@lss/core';
import { expectNoLeaks, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { dividedSpaceTimeBlock } from './block.js';
import { dropPathRates, dropPathScales } from './drop-path.js';
import { createVideoVit, Scope } from './index.js';
import type { BlockOptions, BlockWeights } from './layers.js';
import { tinyVideoVit } from './testing/index.js';

describe('drop path: rates and masks', () => {
  it('rates rise linearly over depth from 0 to the rate (torch.linspace(0, rate, L))', () => {
    const rates = dropPathRates(0.1, 12);
    expect(rates).toHaveLength(12);
    expect(rates[0]).toBe(0);
    expect(rates[11]).toBeCloseTo(0.1, 12);
    expect(rates[4]).toBeCloseTo((0.1 * 4) / 11, 12);
    expect(dropPathRates(0.3, 1)).toEqual([0]);
    for (const bad of [1, -0.1, Number.NaN]) expect(() => dropPathRates(bad, 4)).toThrow(ConfigError);
  });

  it('per sample: 0 with probability p, else 1 / (1 - p); a function of (seed, block, branch) only', () => {
    const p = 0.3;
    const seeds = Array.from({ length: 4000 }, (_, i) => i * 7919);
    const scales = dropPathScales(seeds, p, 5, 'mlp');
    const kept = 1 / (1 - p);
    expect(Array.from(scales).every((s) => s === 0 || Math.abs(s - kept) < 1e-6)).toBe(true);
    const dropped = scales.filter((s) => s === 0).length / seeds.length;
    expect(Math.abs(dropped - p)).toBeLessThan(3 * Math.sqrt((p * (1 - p)) / seeds.length)); // 3 sigma
    // the same sample gets the same scale in any batch (order, company, chunking)
    const pair = dropPathScales([seeds[10] as number, seeds[3] as number], p, 5, 'mlp');
    expect(Array.from(pair)).toEqual([scales[10], scales[3]]);
    // other blocks and branches draw other masks
    expect(Array.from(dropPathScales(seeds, p, 6, 'mlp'))).not.toEqual(Array.from(scales));
    expect(Array.from(dropPathScales(seeds, p, 5, 'spatial'))).not.toEqual(Array.from(scales));
    expect(Array.from(dropPathScales([1, 2], 0, 3, 'temporal'))).toEqual([1, 1]);
  });
});

describe('drop path in the divided space-time block', () => {
  const [B, T, S, D] = [2, 2, 4, 16];
  const OPTIONS: BlockOptions = { heads: 2, layerNormEps: 1e-5, activation: 'quick_gelu' };
  const r = (shape: number[], seed: number, std = 0.2) => tf.randomNormal(shape, 0, std, 'float32', seed);
  const lin = (i: number, o: number, seed: number) => ({ kernel: r([i, o], seed), bias: r([o], seed + 1, 0.05) });
  const ln = (seed: number) => ({ gamma: tf.add(1, r([D], seed, 0.1)), beta: r([D], seed + 1, 0.1) });
  const w: BlockWeights = {
    norm1: ln(1),
    attn: { qkv: lin(D, 3 * D, 3), proj: lin(D, D, 5) },
    norm2: ln(7),
    mlp: { fc1: lin(D, 4 * D, 9), fc2: lin(4 * D, D, 11) },
    temporal: { norm: ln(13), attn: { qkv: lin(D, 3 * D, 15), proj: lin(D, D, 17) }, fc: lin(D, D, 19) },
  };
  const x = r([B, 1 + T * S, D], 21, 1);
  const scale = (values: number[]) => tf.tensor3d(values, [B, 1, 1]);
  const rows = (t: tf.Tensor, b: number) => tf.tidy(() => tf.slice(t, [b, 0, 0], [1, -1, -1]).dataSync());

  for (const branches of [false, true]) {
    it(`a dropped sample passes through unchanged, a kept one (scale 1) as without drop path (branch checkpointing ${branches})`, () => {
      const plain = dividedSpaceTimeBlock(x, w, OPTIONS, T, branches);
      const mixed = expectNoLeaks(
        () =>
          tf.tidy(() => {
            const s = scale([0, 1]);
            return dividedSpaceTimeBlock(x, w, OPTIONS, T, branches, { temporal: s, spatial: s, mlp: s });
          }),
        1,
      );
      expect(maxAbsDiff(rows(mixed, 0), rows(x, 0))).toBe(0); // every residual branch dropped: identity
      expect(maxAbsDiff(rows(mixed, 1), rows(plain, 1))).toBeLessThan(1e-6);
      expect(maxAbsDiff(rows(plain, 0), rows(x, 0))).toBeGreaterThan(1e-2); // the block does something
      tf.dispose([plain, mixed]);
    });
  }

  it('each branch is scaled on its own: the output is affine in the MLP scale', () => {
    const at = (m: number) => tf.tidy(() => dividedSpaceTimeBlock(x, w, OPTIONS, T, false, { mlp: scale([m, m]) }).dataSync());
    const [y0, y1, y2] = [at(0), at(1), at(2)];
    const d1 = y1.map((v, i) => v - (y0[i] as number));
    const d2 = y2.map((v, i) => v - (y1[i] as number));
    expect(maxAbsDiff(d1, d2)).toBeLessThan(1e-5);
    expect(Math.max(...Array.from(d1, Math.abs))).toBeGreaterThan(1e-2);
  });
});

describe('drop path in the video tower (student, training only)', () => {
  const config = tinyVideoVit(); // 2 blocks: rates [0, rate]
  const tower = createVideoVit(config, new Scope('dp', { seed: 3 }));
  tf.tidy(() => {
    for (const [p, v] of tower.variables())
      if (/temporalFc\/kernel|timeEmbed/.test(p)) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 4));
  });
  const video = tf.randomNormal([3, 4, 16, 16, 3], 0, 1, 'float32', 5);
  const seeds = [11, 12, 13];
  const embed = (options: Parameters<typeof tower.call>[1]) => tf.tidy(() => tower.call(video, options).dataSync());

  it('changes the training forward, and nothing without training or at rate 0', () => {
    const plain = embed({});
    expect(maxAbsDiff(embed({ training: true, dropPath: { rate: 0.9, seeds } }), plain)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(embed({ training: false, dropPath: { rate: 0.9, seeds } }), plain)).toBe(0);
    expect(maxAbsDiff(embed({ training: true, dropPath: { rate: 0, seeds } }), plain)).toBe(0);
  });

  it("a sample's embedding depends on its own seed only (not on the batch it is in)", () => {
    const all = embed({ training: true, dropPath: { rate: 0.6, seeds } });
    const last = tf.tidy(() =>
      tower
        .call(tf.slice(video, [2, 0, 0, 0, 0], [1, -1, -1, -1, -1]), { training: true, dropPath: { rate: 0.6, seeds: [13] } })
        .dataSync(),
    );
    expect(maxAbsDiff(all.slice(2 * config.embedDim), last)).toBeLessThan(1e-5);
  });

  it('gradient checkpointing recomputes with the same masks (same gradients as the plain backward)', () => {
    const run = (recompute: false | 'block' | 'branches' | 'nested') =>
      tf.variableGrads(() => tf.sum(tf.square(tower.call(video, { training: true, recompute, dropPath: { rate: 0.6, seeds } }))));
    const a = run(false);
    for (const mode of ['block', 'branches', 'nested'] as const) {
      const b = expectNoLeaks(() => run(mode), 1 + Object.keys(a.grads).length);
      for (const k of Object.keys(a.grads)) {
        const ga = (a.grads[k] as tf.Tensor).dataSync();
        const scale = Math.max(...Array.from(ga, Math.abs)) || 1;
        expect(maxAbsDiff(ga, (b.grads[k] as tf.Tensor).dataSync()) / scale, `${k} (${mode})`).toBeLessThan(1e-4);
      }
      tf.dispose([b.value, ...Object.values(b.grads)]);
    }
    tf.dispose([a.value, ...Object.values(a.grads)]);
  });

  it('bad options are errors naming what was received', () => {
    expect(() => tower.call(video, { training: true, dropPath: { rate: 0.1, seeds: [1] } })).toThrow(ShapeError);
    expect(() => tower.call(video, { training: true, dropPath: { rate: 1, seeds } })).toThrow(/dropPath.rate is 1/);
  });
});
