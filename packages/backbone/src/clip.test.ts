import { join } from 'node:path';
import { readSafetensorsFile } from '@lss/core/node';
import { allClose, CLIP_TINY_DIR, expectNoLeaks, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClipModel, loadClip, loadClipFromBytes } from './index.js';

const expected = readSafetensorsFile(join(CLIP_TINY_DIR, 'expected.safetensors')).tensors;
const get = (k: string) => {
  const t = expected.get(k);
  if (!t) throw new Error(`expected.safetensors has no ${k}`);
  return t;
};

/** expected pixel_values are NCHW; our API is NHWC. */
function pixelsNhwc(): tf.Tensor4D {
  const p = get('pixel_values');
  return tf.tidy(() => tf.transpose(tf.tensor4d(p.data as Float32Array, p.shape as [number, number, number, number]), [0, 2, 3, 1]));
}

function check(model: ClipModel) {
  const pixels = pixelsNhwc();
  const ids = tf.tensor2d(get('input_ids').data as Int32Array, get('input_ids').shape as [number, number], 'int32');
  const img = expectNoLeaks(() => model.encodeImages(pixels), 1);
  const txt = expectNoLeaks(() => model.encodeText(ids), 1);
  expect(img.shape).toEqual([4, 32]);
  expect(txt.shape).toEqual([14, 32]);
  const imgOk = allClose(img.dataSync(), get('image_embeds').data, 1e-4, 1e-4);
  const txtOk = allClose(txt.dataSync(), get('text_embeds').data, 1e-4, 1e-4);
  expect(imgOk.ok, `image max diff ${maxAbsDiff(img.dataSync(), get('image_embeds').data)}`).toBe(true);
  expect(txtOk.ok, `text max diff ${maxAbsDiff(txt.dataSync(), get('text_embeds').data)}`).toBe(true);
  expect(model.logitScaleRaw).toBeCloseTo(get('logit_scale').data[0] as number, 5);
  tf.dispose([pixels, ids, img, txt]);
}

describe('loadClip on fixtures/clip-tiny', () => {
  let models: ClipModel[] = [];
  beforeAll(() => {
    models = [];
  });
  afterAll(() => {
    for (const m of models) m.dispose();
  });

  it('Hugging Face folder (config.json + model.safetensors) matches encode_image / encode_text', async () => {
    const m = await loadClip(CLIP_TINY_DIR, { root: 'hf' });
    models.push(m);
    expect(m.naming).toBe('hf');
    expect(m.config.vision.heads).toBe(1);
    expect(m.config.text.heads).toBe(2);
    check(m);
  });

  it('OpenAI-named file matches too', async () => {
    const m = await loadClip(join(CLIP_TINY_DIR, 'openai.safetensors'), { root: 'openai' });
    models.push(m);
    expect(m.naming).toBe('openai');
    check(m);
  });

  it('OpenAI bytes without config.json need the text heads (width/64 rule gives 1 head: wrong)', async () => {
    const { readFileSync } = await import('node:fs');
    const bytes = readFileSync(join(CLIP_TINY_DIR, 'openai.safetensors'));
    const m = loadClipFromBytes(bytes, { root: 'bytes', config: { text: { heads: 2 } } });
    models.push(m);
    check(m);
    const wrong = loadClipFromBytes(bytes, { root: 'wrong', video: false });
    models.push(wrong);
    expect(wrong.config.text.heads).toBe(1);
    const ids = tf.tensor2d(get('input_ids').data as Int32Array, [14, 77], 'int32');
    const txt = wrong.encodeText(ids);
    expect(maxAbsDiff(txt.dataSync(), get('text_embeds').data)).toBeGreaterThan(1e-3);
    tf.dispose([ids, txt]);
  });

  it('pools at the end-of-text token with 0 or 49407 padding', async () => {
    const m = models[0] as ClipModel;
    const ids = get('input_ids');
    const padded = Int32Array.from(ids.data, (v) => (v === 0 ? 49407 : v));
    const a = tf.tensor2d(ids.data as Int32Array, [14, 77], 'int32');
    const b = tf.tensor2d(padded, [14, 77], 'int32');
    const ea = m.encodeText(a);
    const eb = m.encodeText(b);
    expect(maxAbsDiff(ea.dataSync(), eb.dataSync())).toBeLessThan(1e-6);
    tf.dispose([a, b, ea, eb]);
  });
});
