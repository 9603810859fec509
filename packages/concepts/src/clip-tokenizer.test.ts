import { readFileSync } from 'node:fs';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { ConfigError } from '@lss/core';
import { fixturePath } from '@lss/testing';
import { describe, expect, it } from 'vitest';
import { createClipTokenizer } from './clip-tokenizer.js';

const expected = JSON.parse(readFileSync(fixturePath('clip-tiny', 'expected.json'), 'utf8')) as {
  strings: string[];
  openai_token_ids: number[][];
};
const json = (name: string) => JSON.parse(readFileSync(fixturePath('clip-tiny', name), 'utf8')) as Record<string, unknown>;

describe('createClipTokenizer (browser-safe: the engine built from in-memory JSON, as a web page does)', () => {
  const engine = new HfTokenizer(json('tokenizer.json'), json('tokenizer_config.json'));
  const tok = createClipTokenizer(engine, { id: 'clip-tiny (fetched)' });

  it("gives OpenAI's ids for every string of expected.json, and [N, 77] zero-padded rows", () => {
    expected.strings.forEach((s, i) => {
      expect(tok.encodeOne(s), s).toEqual(expected.openai_token_ids[i]);
    });
    const batch = tok.tokenize(expected.strings.slice(0, 2));
    expect(batch.shape).toEqual([2, 77]);
    expect(Array.from(batch.ids.subarray(0, expected.openai_token_ids[0]?.length))).toEqual(expected.openai_token_ids[0]);
    expect(batch.ids[76]).toBe(0);
  });

  it('refuses an engine that does not add CLIP start/end tokens, naming the tokenizer', () => {
    expect(() => createClipTokenizer({ encode: () => ({ ids: [320] }) }, { id: 'bert-folder' })).toThrow(ConfigError);
    expect(() => createClipTokenizer({ encode: () => ({ ids: [320] }) }, { id: 'bert-folder' })).toThrow(
      /Tokenizer at bert-folder encodes "a" as \[320\]; expected a CLIP tokenizer/,
    );
  });
});
