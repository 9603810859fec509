import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeightsError } from '@lss/core';
import { readSafetensorsFile } from '@lss/core/node';
import { CLIP_TINY_DIR, fixturePath, maxAbsDiff } from '@lss/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TextEncoder } from '../encoder.js';
import { findTextWeights } from './model-files.js';
import { loadOnnxTextEncoder } from './onnx-encoder.js';

const strings = (JSON.parse(readFileSync(fixturePath('clip-tiny', 'expected.json'), 'utf8')) as { strings: string[] }).strings;
const ref = readSafetensorsFile(fixturePath('clip-tiny', 'expected.safetensors'), { names: ['text_embeds'] }).tensors.get('text_embeds');

describe('ONNX text engine (CLIPTextModelWithProjection, clip-tiny)', () => {
  let encoder: TextEncoder;
  const tmp = mkdtempSync(join(tmpdir(), 'lss-onnx-'));
  beforeAll(async () => {
    encoder = await loadOnnxTextEncoder(CLIP_TINY_DIR, { batchSize: 5 });
  });
  afterAll(async () => {
    await encoder.dispose?.();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('matches expected.safetensors text_embeds (atol 1e-4) for the 14 strings, in batches of 5', async () => {
    const out = await encoder.encode(strings);
    expect(out.shape).toEqual([14, 32]);
    expect(ref?.shape).toEqual([14, 32]);
    const diff = maxAbsDiff(out.data, ref?.data ?? []);
    expect(diff).toBeLessThan(1e-4); // measured 2.5e-6
  });

  it('gives the same row for a string alone (batch of 1) and inside a batch', async () => {
    const one = await encoder.encode([strings[3] as string]);
    expect(maxAbsDiff(one.data, (ref?.data as Float32Array).subarray(3 * 32, 4 * 32))).toBeLessThan(1e-4);
  });

  it('has provenance: folder name and SHA-256 of onnx/text_model.onnx', () => {
    expect(encoder.id).toBe('clip-tiny');
    expect(encoder.modelHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects an empty label before running the model', async () => {
    await expect(encoder.encode(['archery', ' '])).rejects.toThrow(/empty label/);
  });

  it('errors on a model folder without text weights, naming what it looked for', async () => {
    const dir = join(tmp, 'vision-only');
    mkdirSync(join(dir, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(CLIP_TINY_DIR, f), join(dir, f));
    copyFileSync(join(CLIP_TINY_DIR, 'onnx', 'vision_model.onnx'), join(dir, 'onnx', 'vision_model.onnx'));
    expect(() => findTextWeights(dir)).toThrow(WeightsError);
    await expect(loadOnnxTextEncoder(dir)).rejects.toThrow(/has no text weights: no onnx\/text_model\.onnx, and no \*\.safetensors file/);
  });

  it('points safetensors-only folders to the tfjs engine', async () => {
    const dir = join(tmp, 'safetensors-only');
    cpSync(CLIP_TINY_DIR, dir, { recursive: true, filter: (src) => !src.includes('onnx') });
    expect(findTextWeights(dir)).toMatchObject({ format: 'safetensors', naming: 'hf' });
    await expect(loadOnnxTextEncoder(dir)).rejects.toThrow(/createTokenizedTextEncoder/);
  });
});
