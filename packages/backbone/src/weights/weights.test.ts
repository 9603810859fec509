import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { float16ToFloat32, float32ToFloat16, readSafetensors, type SafetensorsInput, WeightsError, writeSafetensors } from '@lss/core';
import { CLIP_TINY_DIR, expectNoLeaks, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createVideoVit,
  loadClip,
  loadClipFromBytes,
  loadVideoVit,
  Scope,
  saveVideoVit,
  VIDEO_VIT_FORMAT,
  videoVitFromBytes,
  videoVitToBytes,
} from '../index.js';
import { tinyVideoVit } from '../testing/index.js';

const HF_BYTES = new Uint8Array(readFileSync(join(CLIP_TINY_DIR, 'model.safetensors')));
const CONFIG_JSON = JSON.parse(readFileSync(join(CLIP_TINY_DIR, 'config.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'lss-backbone-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The tiny CLIP's tensors, editable. */
function tensors(): Map<string, SafetensorsInput> {
  const out = new Map<string, SafetensorsInput>();
  for (const [k, t] of readSafetensors(HF_BYTES).tensors) out.set(k, { shape: t.shape, data: t.data });
  return out;
}

function loadError(bytes: Uint8Array): WeightsError {
  try {
    loadClipFromBytes(bytes, { configJson: CONFIG_JSON, root: 'bad' }).dispose();
  } catch (error) {
    expect(error).toBeInstanceOf(WeightsError);
    return error as WeightsError;
  }
  throw new Error('expected a WeightsError');
}

describe('malformed checkpoints fail with WeightsError naming the key and the expected shape', () => {
  it('missing key', () => {
    const t = tensors();
    t.delete('vision_model.encoder.layers.1.mlp.fc2.weight');
    const e = loadError(writeSafetensors(t));
    expect(e.message).toContain('missing keys');
    expect(e.message).toContain('vision_model.encoder.layers.1.mlp.fc2.weight [64, 256]');
  });

  it('wrong shape', () => {
    const t = tensors();
    t.set('text_model.final_layer_norm.weight', { shape: [31], data: new Float32Array(31) });
    const e = loadError(writeSafetensors(t));
    expect(e.message).toContain('text_model.final_layer_norm.weight has shape [31]; expected [32]');
  });

  it('wrong dtype (I32 where a float is expected)', () => {
    const t = tensors();
    t.set('visual_projection.weight', { shape: [32, 64], data: new Int32Array(32 * 64), dtype: 'I32' });
    const e = loadError(writeSafetensors(t));
    expect(e.message).toContain('visual_projection.weight has dtype I32; expected a float dtype');
    expect(e.message).toContain('[32, 64]');
  });

  it('unknown key', () => {
    const t = tensors();
    t.set('vision_model.encoder.layers.0.extra.weight', { shape: [2], data: new Float32Array(2) });
    const e = loadError(writeSafetensors(t));
    expect(e.message).toContain('unknown keys (1): vision_model.encoder.layers.0.extra.weight [2]');
  });

  it('truncated file (bytes and path)', async () => {
    const cut = HF_BYTES.subarray(0, HF_BYTES.length - 1000);
    const e = loadError(cut);
    expect(e.message).toContain('truncated');
    // safetensors stores tensors in sorted-name order: the last one is cut off
    expect(e.message).toContain('"visual_projection.weight" (F32 [32, 64]');
    const file = join(dir, 'truncated.safetensors');
    writeFileSync(file, cut);
    await expect(loadClip(file)).rejects.toThrow(/truncated.*"visual_projection\.weight" \(F32 \[32, 64\]/);
  });

  it('not a CLIP checkpoint', () => {
    const e = loadError(writeSafetensors({ 'encoder.weight': { shape: [2], data: new Float32Array(2) } }));
    expect(e.message).toContain('neither Hugging Face CLIPModel names');
  });
});

describe('dtypes on disk', () => {
  for (const dtype of ['F16', 'BF16'] as const) {
    it(`${dtype} checkpoints load (values are the rounded fp32 ones)`, () => {
      const t = tensors();
      for (const [k, v] of t) t.set(k, { ...v, dtype });
      const m = loadClipFromBytes(writeSafetensors(t), { configJson: CONFIG_JSON, root: `half${dtype}` });
      const source = t.get('vision_model.post_layernorm.weight')?.data as Float32Array;
      const loaded = (m.vision.variables().get(`half${dtype}/vision/lnPost/gamma`) as tf.Variable).dataSync();
      const round = (x: number) => (dtype === 'F16' ? float16ToFloat32(float32ToFloat16(x)) : roundBf16(x));
      expect(maxAbsDiff(loaded, Array.from(source, round))).toBe(0);
      expect(maxAbsDiff(loaded, source)).toBeGreaterThan(0);
      m.dispose();
    });
  }
});

function roundBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  u[0] = (((u[0] as number) + 0x7fff + (((u[0] as number) >>> 16) & 1)) >>> 16) << 16;
  return f[0] as number;
}

describe('saving and reloading a video tower', () => {
  it('round trip through bytes and a file keeps the outputs exactly; metadata holds the config', async () => {
    const tower = createVideoVit(tinyVideoVit(), new Scope('trained', { seed: 4 }));
    tf.tidy(() => {
      for (const [p, v] of tower.variables()) if (/temporal|timeEmbed/.test(p)) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 1));
    });
    const video = tf.randomNormal([2, 4, 16, 16, 3], 0, 1, 'float32', 2);
    const ref = tower.call(video);
    const bytes = videoVitToBytes(tower);
    const { tensors: saved, metadata } = readSafetensors(bytes);
    expect(metadata.format).toBe(VIDEO_VIT_FORMAT);
    expect(JSON.parse(metadata.config as string)).toEqual(tower.config);
    expect(saved.has('vision_model.encoder.layers.1.self_attn.q_proj.weight')).toBe(true);
    expect(saved.has('vision_model.encoder.layers.1.temporal_attn.q_proj.weight')).toBe(true);
    expect(saved.has('vision_model.encoder.layers.1.temporal_fc.weight')).toBe(true);
    expect(saved.get('vision_model.embeddings.time_embedding')?.shape).toEqual([4, 32]);
    const reloaded = expectNoLeaks(() => videoVitFromBytes(bytes, new Scope('reloaded', { trainable: false })), tower.variables().size);
    expect(reloaded.trainableVariables()).toHaveLength(0);
    const out = reloaded.call(video);
    expect(maxAbsDiff(out.dataSync(), ref.dataSync())).toBe(0);
    // into a folder that does not exist yet (the README's `work/student.safetensors`): created
    const file = join(dir, 'not', 'yet', 'tower.safetensors');
    await saveVideoVit(tower, file);
    const fromFile = await loadVideoVit(file, 'fromfile');
    const out2 = fromFile.call(video);
    expect(maxAbsDiff(out2.dataSync(), ref.dataSync())).toBe(0);
    tf.dispose([video, ref, out, out2]);
    for (const t of [tower, reloaded, fromFile]) t.dispose();
  });

  it('a saved tower with a wrong-shaped temporal tensor fails naming key and expected shape', () => {
    const tower = createVideoVit(tinyVideoVit(), new Scope('bad-save'));
    const { tensors: saved, metadata } = readSafetensors(videoVitToBytes(tower));
    tower.dispose();
    const edited = new Map<string, SafetensorsInput>([...saved].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
    edited.set('vision_model.encoder.layers.0.temporal_fc.weight', { shape: [32, 31], data: new Float32Array(32 * 31) });
    expect(() => videoVitFromBytes(writeSafetensors(edited, metadata), 'x')).toThrow(
      /vision_model\.encoder\.layers\.0\.temporal_fc\.weight has shape \[32, 31\]; expected \[32, 32\]/,
    );
    edited.delete('vision_model.encoder.layers.0.temporal_fc.weight');
    expect(() => videoVitFromBytes(writeSafetensors(edited, metadata), 'y')).toThrow(
      /missing keys.*vision_model\.encoder\.layers\.0\.temporal_fc\.weight \[32, 32\].*all present or all absent/,
    );
  });

  it('a video tower straight from a CLIP checkpoint (text keys skipped) equals the CLIP vision tower', async () => {
    const clip = await loadClip(CLIP_TINY_DIR, { root: 'ref' });
    const tower = await loadVideoVit(join(CLIP_TINY_DIR, 'model.safetensors'), 'direct', { config: { heads: 1 } });
    const video = tf.randomNormal([1, 2, 32, 32, 3], 0, 1, 'float32', 3);
    const a = clip.encodeVideos(video);
    const b = tower.call(video);
    expect(maxAbsDiff(a.dataSync(), b.dataSync())).toBe(0);
    tf.dispose([video, a, b]);
    clip.dispose();
    tower.dispose();
  });
});
