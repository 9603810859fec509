import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFakeEncoder } from '../__fixtures__/fake-encoder.js';
import { buildConceptSpaces } from './build-spaces.js';

const tmp = mkdtempSync(join(tmpdir(), 'lss-build-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('buildConceptSpaces with a given encoder', () => {
  it('lss-a: Kinetics-400 categories, K400 descriptions, relation rows = category ids', async () => {
    const enc = createFakeEncoder(8);
    const r = await buildConceptSpaces({ encoder: enc, labelSet: 'lss-a', descriptions: true, cacheDir: tmp });
    expect(r.category.space.shape).toEqual([400, 8]);
    expect(r.description?.space.relation?.categoryIds).toEqual(r.category.space.ids);
    expect(r.description?.space.provenance.source).toBe('lss-a: kinetics400-a.json, kinetics400-b.json');
    expect(enc.calls).toBe(2);
  });

  it('lss-c: the vocabulary; descriptions attach only to vocabulary entries equal to a dataset class name', async () => {
    const enc = createFakeEncoder(8);
    const r = await buildConceptSpaces({ encoder: enc, labelSet: 'lss-c', descriptions: true, cacheDir: tmp, templates: ['{}'] });
    const k = r.labelSet.labels.length;
    expect(k).toBeGreaterThanOrEqual(1000);
    expect(r.category.space.shape).toEqual([k, 8]);
    const rel = r.description?.space.relation;
    expect(rel?.shape[0]).toBe(k);
    let described = 0;
    const [kc, kd] = rel?.shape ?? [0, 0];
    for (let i = 0; i < kc; i++) {
      let s = 0;
      for (let j = 0; j < kd; j++) s += rel?.data[i * kd + j] as number;
      if (s > 0) described++;
    }
    expect(described).toBeGreaterThan(0);
    expect(described).toBeLessThan(k);
  });
});
