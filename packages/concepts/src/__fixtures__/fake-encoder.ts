/** Deterministic test encoder: each text maps to a pseudo-random vector seeded by its hash; counts calls. */
import { hashString, SeededRandom } from '@lss/core';
import type { TextEncoder } from '../encoder.js';

export interface FakeEncoder extends TextEncoder {
  calls: number;
  texts: string[];
}

export function fakeVector(text: string, dim: number): Float32Array {
  const rng = new SeededRandom(hashString(text));
  return Float32Array.from({ length: dim }, () => rng.range(-1, 1));
}

export function createFakeEncoder(dim = 8, modelHash = 'fake-hash'): FakeEncoder {
  const enc: FakeEncoder = {
    id: 'fake',
    modelHash,
    calls: 0,
    texts: [],
    async encode(texts) {
      enc.calls++;
      enc.texts.push(...texts);
      const data = new Float32Array(texts.length * dim); // [N, D]
      texts.forEach((t, i) => {
        data.set(fakeVector(t, dim), i * dim);
      });
      return { data, shape: [texts.length, dim] };
    },
  };
  return enc;
}
