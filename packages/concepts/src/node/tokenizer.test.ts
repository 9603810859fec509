import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@lss/core';
import { readSafetensorsFile } from '@lss/core/node';
import { CLIP_TINY_DIR, fixturePath } from '@lss/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIP_CONTEXT_LENGTH, EOT_TOKEN_ID, SOT_TOKEN_ID, type Tokenizer } from '../tokens.js';
import { loadClipTokenizer } from './tokenizer.js';

const expected = JSON.parse(readFileSync(fixturePath('clip-tiny', 'expected.json'), 'utf8')) as {
  strings: string[];
  openai_token_ids: number[][];
};

describe('loadClipTokenizer (@huggingface/tokenizers on clip-tiny)', () => {
  let tok: Tokenizer;
  const tmp = mkdtempSync(join(tmpdir(), 'lss-tok-'));
  beforeAll(async () => {
    tok = await loadClipTokenizer(CLIP_TINY_DIR);
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("gives OpenAI's ids for every string of expected.json", () => {
    expect(expected.strings.length).toBe(14);
    expected.strings.forEach((s, i) => {
      expect(tok.encodeOne(s), s).toEqual(expected.openai_token_ids[i]);
    });
  });

  it('packs [N, 77] int32, zero-padded, identical to expected.safetensors input_ids', () => {
    const batch = tok.tokenize(expected.strings);
    expect(batch.shape).toEqual([14, CLIP_CONTEXT_LENGTH]);
    expect(batch.ids).toBeInstanceOf(Int32Array);
    const ref = readSafetensorsFile(fixturePath('clip-tiny', 'expected.safetensors'), { names: ['input_ids'] }).tensors.get('input_ids');
    expect(ref?.shape).toEqual([14, 77]);
    expect(Array.from(batch.ids)).toEqual(Array.from(ref?.data ?? []));
    expected.openai_token_ids.forEach((ids, i) => {
      expect(batch.lengths[i]).toBe(ids.length);
      expect(batch.ids[i * 77]).toBe(SOT_TOKEN_ID);
      expect(batch.ids[i * 77 + ids.length - 1]).toBe(EOT_TOKEN_ID);
    });
  });

  it('rejects an empty or whitespace-only label', () => {
    expect(() => tok.tokenize(['archery', ''])).toThrow(ConfigError);
    expect(() => tok.tokenize(['   '])).toThrow(/empty label/);
    expect(() => tok.encodeOne('')).toThrow(/empty label/);
  });

  it('rejects a label longer than the context, saying how many tokens it has; truncates only when asked', () => {
    const long = Array.from({ length: 80 }, () => 'dog').join(' '); // 80 words -> 82 tokens with SOT/EOT
    expect(() => tok.tokenize([long])).toThrow(/has 82 tokens including start\/end-of-text; CLIP's context holds at most 77/);
    const exact = Array.from({ length: 75 }, () => 'dog').join(' ');
    expect(tok.tokenize([exact]).lengths[0]).toBe(77);
    const cut = tok.tokenize([long], { truncate: true });
    expect(cut.lengths[0]).toBe(77);
    expect(cut.ids[76]).toBe(EOT_TOKEN_ID);
  });

  it('loads from several folders concurrently (each load reads its own files)', async () => {
    const dir = join(tmp, 'copy', 'other-name');
    cpSync(CLIP_TINY_DIR, dir, { recursive: true, filter: (src) => !src.includes('onnx') && !src.endsWith('.safetensors') });
    const [a, b] = await Promise.all([loadClipTokenizer(dir), loadClipTokenizer(CLIP_TINY_DIR)]);
    expect(a.id).toBe('other-name');
    expect(b.id).toBe('clip-tiny');
    expect(a.encodeOne('tai chi')).toEqual(b.encodeOne('tai chi'));
  });

  it('names the missing tokenizer file', async () => {
    const dir = join(tmp, 'no-tokenizer-json');
    cpSync(CLIP_TINY_DIR, dir, {
      recursive: true,
      filter: (src) => !src.endsWith('tokenizer.json') && !src.includes('onnx') && !src.endsWith('.safetensors'),
    });
    await expect(loadClipTokenizer(dir)).rejects.toThrow(/missing tokenizer\.json/);
    await expect(loadClipTokenizer(join(tmp, 'nothing-here'))).rejects.toThrow(/does not exist/);
  });
});

describe("ids equal OpenAI's clip.tokenize for text its cleaning changes (shared/cases/tokenizer/openai-ids.json)", () => {
  const cases = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'openai-ids.json'), 'utf8')) as {
    text: string;
    openai_ids: number[];
  }[];
  let tok: Tokenizer;
  beforeAll(async () => {
    tok = await loadClipTokenizer(CLIP_TINY_DIR);
  });
  for (const { text, openai_ids } of cases) {
    it(JSON.stringify(text), () => {
      expect(tok.encodeOne(text)).toEqual(openai_ids);
      const batch = tok.tokenize([text]);
      expect(Array.from(batch.ids.subarray(0, openai_ids.length))).toEqual(openai_ids);
    });
  }
  it('prompt templates and descriptions are cleaned the same way (a template around an escaped class name)', () => {
    expect(tok.encodeOne('a video of a person &quot;rock &amp;amp; roll dancing&quot;.')).toEqual(
      tok.encodeOne('a video of a person "rock & roll dancing".'),
    );
    expect(tok.encodeOne('ﬁshing with a ﬂy rod, it’s ｃａｌｍ')).toEqual(tok.encodeOne("fishing with a fly rod, it's calm"));
  });
});
