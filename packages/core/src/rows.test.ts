import { describe, expect, it } from 'vitest';
import { ShapeError } from './errors.js';
import { l2NormalizeRows } from './rows.js';

describe('l2NormalizeRows (the one definition)', () => {
  it('scales each row to unit norm', () => {
    expect(Array.from(l2NormalizeRows(new Float32Array([3, 4, 0, -2]), 2))).toEqual([0.6000000238418579, 0.800000011920929, 0, -1]);
  });

  it('a zero row stays zero by default (F.normalize), and is an error naming the row with zeroRows: error', () => {
    const data = new Float32Array([1, 0, 0, 0, 0, 2]);
    expect(Array.from(l2NormalizeRows(data, 2))).toEqual([1, 0, 0, 0, 0, 1]);
    expect(() => l2NormalizeRows(data, 2, { zeroRows: 'error', what: 'category embeddings' })).toThrow(
      /category embeddings row 1 has norm 0; expected a finite non-zero vector/,
    );
    expect(() => l2NormalizeRows(new Float32Array([Number.NaN, 1]), 2, { zeroRows: 'error' })).toThrow(ShapeError);
  });

  it('refuses a length that is not a multiple of dim', () => {
    expect(() => l2NormalizeRows(new Float32Array(5), 2)).toThrow(/5 values and dim 2/);
    expect(() => l2NormalizeRows(new Float32Array(6), 2, { rows: 4 })).toThrow(/expected 8 for \[4, 2\]/);
  });
});
