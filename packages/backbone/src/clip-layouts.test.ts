/**
 * Real CLIP checkpoint layouts (issue 16, items 14-16 and 18), built from fixtures/clip-tiny (OpenAI's
 * reference outputs in expected.safetensors): sharded Hugging Face folders, pickle-only folders,
 * OpenCLIP folders (GELU vs QuickGELU from open_clip_config.json) and `*_config_dict` overrides.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SafetensorsInput, type SafetensorsTensor, WeightsError, writeSafetensors } from '@lss/core';
import { readSafetensorsFile } from '@lss/core/node';
import { allClose, CLIP_TINY_DIR, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type ClipModel, loadClip } from './index.js';

const expected = readSafetensorsFile(join(CLIP_TINY_DIR, 'expected.safetensors')).tensors;
const get = (k: string) => expected.get(k) ?? (undefined as never);
const tmp = mkdtempSync(join(tmpdir(), 'lss-clip-layouts-'));
const models: ClipModel[] = [];
afterAll(() => {
  for (const m of models) m.dispose();
  rmSync(tmp, { recursive: true, force: true });
});
let counter = 0;
async function load(path: string, options: Parameters<typeof loadClip>[1] = {}): Promise<ClipModel> {
  const m = await loadClip(path, { video: false, root: `layout${++counter}`, ...options });
  models.push(m);
  return m;
}
function folder(name: string): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}
function embeddings(m: ClipModel): { img: Float32Array; txt: Float32Array } {
  return tf.tidy(() => {
    const p = get('pixel_values');
    const pixels = tf.transpose(tf.tensor4d(p.data as Float32Array, p.shape as [number, number, number, number]), [0, 2, 3, 1]);
    const ids = tf.tensor2d(get('input_ids').data as Int32Array, get('input_ids').shape as [number, number], 'int32');
    return { img: m.encodeImages(pixels).dataSync() as Float32Array, txt: m.encodeText(ids).dataSync() as Float32Array };
  });
}
function expectReference(m: ClipModel): void {
  const { img, txt } = embeddings(m);
  expect(allClose(img, get('image_embeds').data, 1e-4, 1e-4).ok, `image ${maxAbsDiff(img, get('image_embeds').data)}`).toBe(true);
  expect(allClose(txt, get('text_embeds').data, 1e-4, 1e-4).ok, `text ${maxAbsDiff(txt, get('text_embeds').data)}`).toBe(true);
}
const hfConfig = () => JSON.parse(readFileSync(join(CLIP_TINY_DIR, 'config.json'), 'utf8'));
const rejection = async (p: Promise<unknown>): Promise<WeightsError> => {
  const e = await p.then(
    () => null,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(WeightsError);
  return e as WeightsError;
};

describe('sharded Hugging Face checkpoints (model.safetensors.index.json)', () => {
  const dir = folder('sharded');
  const { tensors } = readSafetensorsFile(join(CLIP_TINY_DIR, 'model.safetensors'));
  const names = [...tensors.keys()].sort();
  const shardOf = (i: number) => (i < names.length / 2 ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors');
  const weightMap: Record<string, string> = {};
  const parts = new Map<string, Map<string, SafetensorsInput>>();
  names.forEach((name, i) => {
    const t = tensors.get(name) as SafetensorsTensor;
    weightMap[name] = shardOf(i);
    const part = parts.get(shardOf(i)) ?? new Map();
    part.set(name, { shape: t.shape, data: t.data });
    parts.set(shardOf(i), part);
  });
  for (const [shard, part] of parts) writeFileSync(join(dir, shard), writeSafetensors(part));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  copyFileSync(join(CLIP_TINY_DIR, 'config.json'), join(dir, 'config.json'));

  it('loads the folder through its index and matches the reference outputs', async () => {
    const m = await load(dir);
    expectReference(m);
    expect(m.origin?.weights.map((f) => f.slice(dir.length + 1)).sort()).toEqual([
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
    ]);
    expect(m.origin?.config).toBe(join(dir, 'config.json'));
  });

  it('loads the index given as the path', async () => {
    expectReference(await load(join(dir, 'model.safetensors.index.json')));
  });

  it('names a missing shard, and a tensor the index puts in the wrong shard', async () => {
    const broken = folder('sharded-broken');
    copyFileSync(join(dir, 'model.safetensors.index.json'), join(broken, 'model.safetensors.index.json'));
    copyFileSync(join(dir, 'model-00001-of-00002.safetensors'), join(broken, 'model-00001-of-00002.safetensors'));
    expect((await rejection(load(broken))).message).toMatch(/names shard model-00002-of-00002\.safetensors, which is missing/);
    const swapped = Object.fromEntries(
      Object.entries(weightMap).map(([k, v]) => [k, v.includes('00001') ? v.replace('00001', '00002') : v]),
    );
    copyFileSync(join(dir, 'model-00002-of-00002.safetensors'), join(broken, 'model-00002-of-00002.safetensors'));
    writeFileSync(join(broken, 'model.safetensors.index.json'), JSON.stringify({ weight_map: swapped }));
    expect((await rejection(load(broken))).message).toMatch(
      /puts \d+ tensor\(s\) in model-00002-of-00002\.safetensors that it does not hold/,
    );
  });
});

describe('pickle checkpoints (pytorch_model.bin)', () => {
  const dir = folder('pickle');
  writeFileSync(join(dir, 'pytorch_model.bin'), Buffer.from('PK\x03\x04 not really a zip'));
  copyFileSync(join(CLIP_TINY_DIR, 'config.json'), join(dir, 'config.json'));

  it('a folder with only pytorch_model.bin: names the pickle, why it is not loaded, and the conversion', async () => {
    const e = await rejection(load(dir));
    expect(e.message).toMatch(/pytorch_model\.bin is a PyTorch pickle/);
    expect(e.message).toMatch(/can execute arbitrary code/);
    expect(e.message).toMatch(/python3 -c "import torch; from safetensors\.torch import save_file;.*model\.safetensors'\)"/);
  });

  it('the .bin given as the path gets the same answer (not "corrupt safetensors")', async () => {
    const e = await rejection(load(join(dir, 'pytorch_model.bin')));
    expect(e.message).toMatch(/is a PyTorch pickle/);
    expect(e.message).not.toMatch(/safetensors header|corrupt/i);
  });
});

describe('OpenCLIP folders (open_clip_config.json + open_clip_model.safetensors)', () => {
  const openClipConfig = (quickGelu: boolean | undefined, extra: Record<string, unknown> = {}) => ({
    model_cfg: {
      embed_dim: 32,
      ...(quickGelu === undefined ? {} : { quick_gelu: quickGelu }),
      vision_cfg: { image_size: 32, layers: 2, width: 64, patch_size: 8, ...extra },
      text_cfg: { context_length: 77, vocab_size: 49408, width: 32, heads: 2, layers: 2 },
    },
    preprocess_cfg: { mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711] },
  });
  const openClipFolder = (name: string, config: unknown | null) => {
    const dir = folder(name);
    copyFileSync(join(CLIP_TINY_DIR, 'openai.safetensors'), join(dir, 'open_clip_model.safetensors'));
    if (config) writeFileSync(join(dir, 'open_clip_config.json'), JSON.stringify(config));
    return dir;
  };

  it("quick_gelu: true gives QuickGELU and OpenAI's reference outputs", async () => {
    const m = await load(openClipFolder('oc-quick', openClipConfig(true)));
    expect(m.config.vision.activation).toBe('quick_gelu');
    expect(m.config.text.heads).toBe(2);
    expectReference(m);
  });

  it('no quick_gelu (OpenCLIP default) gives GELU: the same outputs as the Hugging Face folder with hidden_act gelu', async () => {
    const m = await load(openClipFolder('oc-gelu', openClipConfig(undefined)));
    expect(m.config.vision.activation).toBe('gelu');
    expect(m.config.text.activation).toBe('gelu');
    const hf = folder('hf-gelu');
    copyFileSync(join(CLIP_TINY_DIR, 'model.safetensors'), join(hf, 'model.safetensors'));
    const cfg = hfConfig();
    cfg.text_config.hidden_act = 'gelu';
    cfg.vision_config.hidden_act = 'gelu';
    writeFileSync(join(hf, 'config.json'), JSON.stringify(cfg));
    const ref = embeddings(await load(hf));
    const got = embeddings(m);
    expect(maxAbsDiff(got.img, ref.img)).toBeLessThan(1e-5);
    expect(maxAbsDiff(got.txt, ref.txt)).toBeLessThan(1e-5);
    // and it is not the QuickGELU model
    expect(maxAbsDiff(got.img, get('image_embeds').data)).toBeGreaterThan(1e-4);
  });

  it('refuses to guess without open_clip_config.json, and refuses options it does not implement', async () => {
    const e = await rejection(load(openClipFolder('oc-none', null)));
    expect(e.message).toMatch(/no open_clip_config\.json beside it.*refusing to guess/s);
    const u = await rejection(load(openClipFolder('oc-ls', openClipConfig(false, { ls_init_value: 0.1 }))));
    expect(u.message).toMatch(/vision_cfg\.ls_init_value is 0\.1/);
    // an explicit activation is enough
    const m = await load(join(tmp, 'oc-none'), {
      config: { vision: { activation: 'quick_gelu' }, text: { activation: 'quick_gelu', heads: 2 } },
    });
    expectReference(m);
  });
});

describe('config.json with text_config_dict / vision_config_dict (applied as transformers does)', () => {
  it('the dict overrides text_config, and keys it does not name take the CLIPTextConfig defaults', async () => {
    const dir = folder('config-dict');
    copyFileSync(join(CLIP_TINY_DIR, 'model.safetensors'), join(dir, 'model.safetensors'));
    const cfg = hfConfig();
    cfg.text_config_dict = { hidden_act: 'gelu', num_attention_heads: 2 };
    cfg.vision_config_dict = { layer_norm_eps: 1e-6, num_attention_heads: 1 };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    const m = await load(dir);
    expect(m.config.text.activation).toBe('gelu');
    expect(m.config.text.heads).toBe(2);
    expect(m.config.vision.layerNormEps).toBe(1e-6);
    // vision_config says quick_gelu; the dict does not name hidden_act, so CLIPVisionConfig's default (quick_gelu) applies
    expect(m.config.vision.activation).toBe('quick_gelu');
    cfg.text_config_dict = { hidden_act: 'gelu' };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    // num_attention_heads not named: CLIPTextConfig's default 8 replaces text_config's 2
    expect((await load(dir)).config.text.heads).toBe(8);
  });
});
