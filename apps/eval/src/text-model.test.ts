/**
 * `--text-model DIR` (issue 16 item 17): the text weights come from DIR when it holds CLIP weights (not
 * from --model), a tokenizer-only DIR pairs with the evaluated CLIP's own text tower, and the source
 * used is reported.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadClip } from '@lss/backbone';
import { ConfigError, writeSafetensors } from '@lss/core';
import { readSafetensorsFile } from '@lss/core/node';
import { CLIP_TINY_DIR, maxAbsDiff } from '@lss/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTextEncoder } from './model.js';

const tmp = mkdtempSync(join(tmpdir(), 'lss-text-model-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const tokenizerFiles = readdirSync(CLIP_TINY_DIR).filter((f) => /^(tokenizer|vocab|merges|special_tokens|tokenizer_config)/.test(f));
const texts = ['a photo of archery', 'juggling balls'];

/** clip-tiny with its text projection scaled by 2 (a different text model with the same tokenizer). */
function otherClipFolder(): string {
  const dir = join(tmp, 'other-clip');
  mkdirSync(dir, { recursive: true });
  const { tensors } = readSafetensorsFile(join(CLIP_TINY_DIR, 'model.safetensors'));
  const out = new Map(
    [...tensors].map(([k, t]) => [
      k,
      { shape: t.shape, data: k === 'text_projection.weight' ? (t.data as Float32Array).map((v) => 2 * v) : t.data },
    ]),
  );
  writeFileSync(join(dir, 'model.safetensors'), writeSafetensors(out));
  for (const f of [...tokenizerFiles, 'config.json']) copyFileSync(join(CLIP_TINY_DIR, f), join(dir, f));
  return dir;
}

describe('loadTextEncoder with --text-model', () => {
  it('uses the text weights of DIR, not those of the evaluated CLIP, and reports them', async () => {
    const clip = await loadClip(CLIP_TINY_DIR, { video: false, root: 'tm-main' });
    try {
      const own = await loadTextEncoder(CLIP_TINY_DIR, { engine: 'tfjs', clip });
      const dir = otherClipFolder();
      const other = await loadTextEncoder(dir, { engine: 'tfjs', clip });
      try {
        expect(own.source.weights).toEqual([resolve(CLIP_TINY_DIR, 'model.safetensors')]);
        expect(other.source.weights).toEqual([join(dir, 'model.safetensors')]);
        expect(other.source.tokenizer).toBe(dir);
        const a = await own.encoder.encode(texts);
        const b = await other.encoder.encode(texts);
        // text_projection doubled: every embedding doubles
        expect(
          maxAbsDiff(
            b.data,
            a.data.map((v) => 2 * v),
          ),
        ).toBeLessThan(1e-5);
        expect(other.encoder.modelHash).not.toBe(own.encoder.modelHash);
      } finally {
        await own.release();
        await other.release();
      }
    } finally {
      clip.dispose();
    }
  });

  it('accepts a tokenizer-only DIR beside an OpenAI-named file: tokenizer from DIR, weights from the file', async () => {
    const dir = join(tmp, 'tokenizer-only');
    mkdirSync(dir, { recursive: true });
    for (const f of tokenizerFiles) copyFileSync(join(CLIP_TINY_DIR, f), join(dir, f));
    const file = join(CLIP_TINY_DIR, 'openai.safetensors');
    const clip = await loadClip(file, { video: false, root: 'tm-openai', config: { text: { heads: 2 } } });
    try {
      const text = await loadTextEncoder(dir, { engine: 'tfjs', clip });
      expect(text.source).toEqual({ tokenizer: dir, weights: [file] });
      const e = await text.encoder.encode(texts);
      expect(e.shape).toEqual([2, 32]);
      await text.release();
      // without a CLIP to pair with, a tokenizer-only folder is refused with the reason
      const refused = await loadTextEncoder(dir, { engine: 'tfjs', clip: null }).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ConfigError);
      expect((refused as Error).message).toMatch(/holds a tokenizer but no CLIP weights/);
    } finally {
      clip.dispose();
    }
  });
});
