import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClip } from '@lss/backbone';
import { loadClipTokenizer } from '@lss/concepts/node';
import { renderWorldStills } from '@lss/data/node';
import { CLIP_TINY_DIR } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type CaptionedStills,
  ClipPretrainer,
  clipConfigFromHf,
  DEFAULT_CLIP_PRETRAIN,
  hfConfigWithPatchSize,
  pretrainBatch,
  pretrainLearningRate,
  readHfClipConfig,
  registerEmbeddingGradient,
} from './clip-pretrain.js';

afterEach(() => tf.disposeVariables());

const world = renderWorldStills({ stillsPerClass: 6, heldOutStillsPerClass: 0, size: 32, seed: 1 });
const stills: CaptionedStills = { images: world.images, size: world.size, captions: world.items.map((s) => s.caption) };
const recipe = { ...DEFAULT_CLIP_PRETRAIN, steps: 40, batchSize: 24, warmupSteps: 4, learningRate: 3e-3, initTemperature: 1 };
// Four actions only (still i has label i % 12): a small problem on which a few steps must show learning.
const px = 32 * 32 * 3;
const four = world.items.filter((s) => s.label < 4);
const fourStills: CaptionedStills = {
  images: Uint8Array.from(four.flatMap((s) => Array.from(world.images.subarray(s.index * px, (s.index + 1) * px)))),
  size: 32,
  captions: four.map((s) => s.caption),
};

describe('ClipPretrainer (contrastive CLIP pretraining on the world stills)', () => {
  it('lowers the symmetric InfoNCE loss on the world stills', async () => {
    const tokenizer = await loadClipTokenizer(CLIP_TINY_DIR);
    const run = new ClipPretrainer(readHfClipConfig(CLIP_TINY_DIR), { ...recipe, batchSize: 16, warmupSteps: 2 }, fourStills, tokenizer);
    const losses: number[] = [];
    for (let i = 0; i < 30; i++) losses.push(run.trainStep());
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    // Random pairs start near ln B (the temperature starts at 1, so logits lie in [-1, 1]).
    expect(Math.abs((losses[0] as number) - Math.log(16))).toBeLessThan(0.3);
    expect(mean(losses.slice(-6))).toBeLessThan(mean(losses.slice(0, 6)) - 0.1);
    run.dispose();
  }, 300_000);

  it('resumes exactly: 2 steps + checkpoint + 2 steps equals 4 steps, and the export loads as a Hugging Face CLIP', async () => {
    const tokenizer = await loadClipTokenizer(CLIP_TINY_DIR);
    const config = readHfClipConfig(CLIP_TINY_DIR);
    const straight = new ClipPretrainer(config, recipe, stills, tokenizer);
    for (let i = 0; i < 4; i++) straight.trainStep();
    const expected = straight.hfTensors();
    const dir = mkdtempSync(join(tmpdir(), 'clip-pretrain-'));
    straight.saveHfFolder(join(dir, 'hf'), CLIP_TINY_DIR);
    straight.dispose();

    const first = new ClipPretrainer(config, recipe, stills, tokenizer);
    first.trainStep();
    first.trainStep();
    await first.saveCheckpoint(join(dir, 'ckpt.safetensors'));
    first.dispose();
    const resumed = new ClipPretrainer(config, recipe, stills, tokenizer);
    resumed.loadCheckpoint(join(dir, 'ckpt.safetensors'));
    expect(resumed.step).toBe(2);
    resumed.trainStep();
    resumed.trainStep();
    const got = resumed.hfTensors();
    expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [key, t] of expected) expect(got.get(key)!.data, key).toEqual(t.data);
    // A different recipe cannot resume this checkpoint.
    const other = new ClipPretrainer(config, { ...recipe, seed: 9 }, stills, tokenizer);
    expect(() => other.loadCheckpoint(join(dir, 'ckpt.safetensors'))).toThrow(/same recipe/);
    other.dispose();
    resumed.dispose();

    // The exported folder is a CLIP like any other: the image tower gives the trained embedding.
    const clip = await loadClip(join(dir, 'hf'), { video: false });
    expect(clip.logitScaleRaw).toBeCloseTo(expected.get('logit_scale')?.data[0] as number, 6);
    clip.dispose();
  }, 240_000);

  it('differentiates an embedding lookup like tfjs (duplicate ids summed) with ops every backend has', () => {
    const table = tf.randomNormal([7, 3], 0, 1, 'float32', 1);
    const ids = tf.tensor1d([2, 5, 2, 0, 2], 'int32');
    const weights = tf.randomNormal([5, 3], 0, 1, 'float32', 2);
    const loss = (t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, ids), weights));
    // By hand: row r of the gradient is the sum of the weight rows whose id is r.
    const w = weights.arraySync() as number[][];
    const expected = Array.from({ length: 7 }, (_, r) =>
      [0, 1, 2].map((c) => [2, 5, 2, 0, 2].reduce((a, id, i) => a + (id === r ? (w[i]?.[c] as number) : 0), 0)),
    );
    registerEmbeddingGradient();
    const got = tf.grad(loss)(table).arraySync() as number[][];
    got.forEach((row, r) => row.forEach((v, c) => expect(v).toBeCloseTo(expected[r]?.[c] as number, 5)));
  });

  it('draws batches from (seed, step) alone and warms the learning rate up then decays it', () => {
    const a = pretrainBatch(stills, recipe, 7);
    expect(pretrainBatch(stills, recipe, 7).pixels).toEqual(a.pixels);
    expect(new Set(a.indices).size).toBe(24);
    expect(pretrainBatch(stills, recipe, 8).indices).not.toEqual(a.indices);
    expect(pretrainLearningRate(recipe, 0)).toBeCloseTo(recipe.learningRate / 4);
    expect(pretrainLearningRate(recipe, 3)).toBeCloseTo(recipe.learningRate);
    expect(pretrainLearningRate(recipe, 40)).toBeCloseTo(0);
  });

  it('applies the appearance augmentation from (seed, step) alone, leaving the indices unchanged', () => {
    const withLook = { ...recipe, appearance: { probability: 1, minScale: 0.6, maxNoise: 10, maxTexture: 24 } };
    const plain = pretrainBatch(stills, recipe, 7);
    const a = pretrainBatch(stills, withLook, 7);
    expect(a.indices).toEqual(plain.indices); // the batch is drawn before any augmentation
    expect(pretrainBatch(stills, withLook, 7).pixels).toEqual(a.pixels);
    expect(a.pixels).not.toEqual(plain.pixels);
    // A curriculum: before appearanceFromStep the batch is the plain one.
    const later = { ...withLook, appearanceFromStep: 8 };
    expect(pretrainBatch(stills, later, 7).pixels).toEqual(plain.pixels);
    expect(pretrainBatch(stills, later, 8).pixels).toEqual(pretrainBatch(stills, withLook, 8).pixels);
  });

  it('gives logit_scale its own learning rate (same schedule) when logitScaleLearningRate is set', async () => {
    const tokenizer = await loadClipTokenizer(CLIP_TINY_DIR);
    for (const rate of [null, 0.05]) {
      const config = { ...recipe, batchSize: 8, learningRate: 1e-3, warmupSteps: 4, logitScaleLearningRate: rate };
      const run = new ClipPretrainer(readHfClipConfig(CLIP_TINY_DIR), config, stills, tokenizer);
      const before = run.logitScale.dataSync()[0] as number;
      run.trainStep();
      // Adam's first step moves a scalar by its learning rate (|m̂ / sqrt(v̂)| = 1); step 0 of a 4-step warmup is peak / 4.
      const moved = Math.abs((run.logitScale.dataSync()[0] as number) - before);
      expect(Math.abs(moved / ((rate ?? 1e-3) / 4) - 1)).toBeLessThan(1e-3);
      run.dispose();
    }
  }, 120_000);

  it('derives an architecture with another patch size, refusing one that does not divide the image', () => {
    const json = JSON.parse(readFileSync(join(CLIP_TINY_DIR, 'config.json'), 'utf8'));
    const four = hfConfigWithPatchSize(json, 4);
    expect(clipConfigFromHf(four).vision.patchSize).toBe(4);
    expect(clipConfigFromHf(four).vision.imageSize).toBe(clipConfigFromHf(json).vision.imageSize);
    expect(json.vision_config.patch_size).toBe(8); // the template is not changed
    expect(() => hfConfigWithPatchSize(json, 5)).toThrow(/dividing the image size 32; received 5/);
  });

  it('keeps the token embedding table at its initialisation when freezeTokenEmbedding is set, and trains the rest', async () => {
    const tokenizer = await loadClipTokenizer(CLIP_TINY_DIR);
    const run = new ClipPretrainer(
      readHfClipConfig(CLIP_TINY_DIR),
      { ...recipe, batchSize: 8, freezeTokenEmbedding: true },
      stills,
      tokenizer,
    );
    const table = run.model.text.weights.tokenEmbedding.dataSync().slice();
    const projection = run.model.text.weights.projection.dataSync().slice();
    run.trainStep();
    expect(run.model.text.weights.tokenEmbedding.dataSync()).toEqual(table);
    expect(run.model.text.weights.projection.dataSync()).not.toEqual(projection);
    run.dispose();
  }, 120_000);
});
