import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadClip, saveVideoVit } from '@lss/backbone';
import { SeededRandom } from '@lss/core';
import { CLIP_TINY_DIR, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { evalModelFromClip, evalModelFromTower, findTrainerCheckpoint, loadEvalModel } from './model.js';

afterEach(() => tf.disposeVariables());

describe('evaluation models', () => {
  it('a CLIP-initialised video tower on identical frames equals the frozen-CLIP frame average, in memory and from a file', async () => {
    const T = 2;
    const rng = new SeededRandom(0);
    const frame = rng.normalArray(32 * 32 * 3);
    const data = new Float32Array(3 * T * 32 * 32 * 3); // 3 views of T identical frames each
    for (let v = 0; v < 3; v++) {
      const own = rng.normalArray(32 * 32 * 3);
      for (let t = 0; t < T; t++) data.set(v === 0 ? frame : own, (v * T + t) * frame.length);
    }
    const views = { data, shape: [3, T, 32, 32, 3] };
    const video = await loadClip(CLIP_TINY_DIR, { video: true, numFrames: T, root: 'video' });
    const image = await loadClip(CLIP_TINY_DIR, { video: false, root: 'image' });
    const dir = mkdtempSync(join(tmpdir(), 'lss-eval-model-'));
    try {
      const inMemory = evalModelFromTower(video.vision, { hash: 'h', label: 'video' });
      const frozen = evalModelFromClip(image, { hash: 'h2', label: 'clip', path: CLIP_TINY_DIR });
      const a = await inMemory.encodeViews(views);
      const b = await frozen.encodeViews(views);
      expect(a.length).toBe(3 * 32);
      expect(maxAbsDiff(a, b)).toBeLessThan(1e-4);
      const file = join(dir, 'tower.safetensors');
      await saveVideoVit(video.vision, file);
      const loaded = await loadEvalModel(file);
      try {
        expect(loaded.kind).toBe('checkpoint');
        expect(loaded.numFrames).toBe(T);
        expect(maxAbsDiff(await loaded.encodeViews(views), a)).toBeLessThan(1e-6);
      } finally {
        loaded.dispose();
      }
      const clipModel = await loadEvalModel(CLIP_TINY_DIR);
      try {
        expect(clipModel.kind).toBe('clip');
        expect(clipModel.textModelDir).toBe(CLIP_TINY_DIR);
        expect(maxAbsDiff(await clipModel.encodeViews(views), b)).toBeLessThan(1e-6);
      } finally {
        clipModel.dispose();
      }
    } finally {
      video.dispose();
      image.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a run's checkpoint folder resolves to its highest step, as the trainer resumes (numeric, complete files only)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-eval-steps-'));
    const sidecar = JSON.stringify({ format: 'lss-trainer-checkpoint' });
    for (const step of [9, 10]) {
      writeFileSync(join(dir, `step-${step}.safetensors`), 'x');
      writeFileSync(join(dir, `step-${step}.json`), sidecar);
    }
    writeFileSync(join(dir, 'step-11.safetensors'), 'no sidecar: interrupted');
    expect(findTrainerCheckpoint(dir)?.tensors).toBe(join(dir, 'step-10.safetensors'));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names a missing model path', async () => {
    await expect(loadEvalModel(join(CLIP_TINY_DIR, 'missing'))).rejects.toThrow(/does not exist/);
  });
});
