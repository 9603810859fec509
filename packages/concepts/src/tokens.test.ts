import { describe, expect, it } from 'vitest';
import { createTokenizedTextEncoder } from './encoder.js';
import { EOT_TOKEN_ID, packTokenIds, SOT_TOKEN_ID, type Tokenizer } from './tokens.js';

/** A toy tokenizer: one token per word (id = word length), for adapter tests. */
const toy: Tokenizer = {
  id: 'toy',
  contextLength: 8,
  padTokenId: 0,
  encodeOne: (t) => [SOT_TOKEN_ID, ...t.split(' ').map((w) => w.length), EOT_TOKEN_ID],
  tokenize(texts, o) {
    return packTokenIds(
      texts.map((t) => this.encodeOne(t)),
      texts,
      { contextLength: 8, padTokenId: 0, truncate: o?.truncate ?? false },
    );
  },
};

describe('packTokenIds', () => {
  it('pads with the pad id and records lengths', () => {
    const b = packTokenIds([[SOT_TOKEN_ID, 5, EOT_TOKEN_ID]], ['x'], { contextLength: 5, padTokenId: 7 });
    expect(Array.from(b.ids)).toEqual([SOT_TOKEN_ID, 5, EOT_TOKEN_ID, 7, 7]);
    expect(Array.from(b.lengths)).toEqual([3]);
  });
});

describe('createTokenizedTextEncoder (adapter for the tfjs text tower)', () => {
  it('tokenises, batches, concatenates and passes [n, L] ids and EOT positions', async () => {
    const seen: number[][] = [];
    const enc = createTokenizedTextEncoder({
      tokenizer: toy,
      id: 'toy-model',
      modelHash: 'abc',
      batchSize: 2,
      embedIds: (ids, n, batch) => {
        expect(ids.length).toBe(n * 8);
        seen.push(Array.from(batch.lengths));
        // D = 2: [first word length, EOT position]
        return Float32Array.from({ length: n * 2 }, (_, i) =>
          i % 2 === 0 ? (ids[Math.floor(i / 2) * 8 + 1] as number) : (batch.lengths[Math.floor(i / 2)] as number) - 1,
        );
      },
    });
    const out = await enc.encode(['a bb', 'ccc', 'dddd e f', 'gg']);
    expect(out.shape).toEqual([4, 2]);
    expect(Array.from(out.data)).toEqual([1, 3, 3, 2, 4, 4, 2, 2]);
    expect(seen).toEqual([
      [4, 3],
      [5, 3],
    ]);
    expect(enc.id).toBe('toy-model');
    expect(enc.modelHash).toBe('abc');
  });

  it('rejects bad embedder output and too-long texts', async () => {
    const bad = createTokenizedTextEncoder({ tokenizer: toy, id: 't', modelHash: 'h', embedIds: () => new Float32Array(3) });
    await expect(bad.encode(['a', 'b'])).rejects.toThrow(/3 floats for 2 rows/);
    const nan = createTokenizedTextEncoder({
      tokenizer: toy,
      id: 't',
      modelHash: 'h',
      embedIds: (_ids, n) => new Float32Array(n).fill(Number.NaN),
    });
    await expect(nan.encode(['a'])).rejects.toThrow(/non-finite/);
    const ok = createTokenizedTextEncoder({ tokenizer: toy, id: 't', modelHash: 'h', embedIds: (_ids, n) => new Float32Array(n) });
    await expect(ok.encode(['a b c d e f g'])).rejects.toThrow(/has 9 tokens/);
    await expect(ok.encode([''])).rejects.toThrow(/empty label/);
    expect(() =>
      createTokenizedTextEncoder({ tokenizer: toy, id: 't', modelHash: 'h', embedIds: (_i, n) => new Float32Array(n), batchSize: 0 }),
    ).toThrow(/batchSize/);
  });
});
