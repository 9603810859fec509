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

  it('lss-c: the vocabulary; every category has its own descriptions (relation rows with >= 4 ones)', async () => {
    const enc = createFakeEncoder(8);
    const r = await buildConceptSpaces({ encoder: enc, labelSet: 'lss-c', descriptions: true, cacheDir: tmp, templates: ['{}'] });
    const k = r.labelSet.labels.length;
    expect(k).toBeGreaterThanOrEqual(1000);
    expect(r.category.space.shape).toEqual([k, 8]);
    const rel = r.description?.space.relation;
    expect(rel?.categoryIds).toEqual(r.category.space.ids);
    expect(r.description?.space.provenance.source).toMatch(/^lss-c: lss-c-a\.json, lss-c-b\.json, lss-c-c\.json, kinetics400-a\.json/);
    const [kc, kd] = rel?.shape ?? [0, 0];
    expect(kc).toBe(k);
    const rowSums = Array.from({ length: kc }, (_, i) => rel?.data.subarray(i * kd, (i + 1) * kd).reduce((a, b) => a + b, 0) ?? 0);
    const thin = rowSums.flatMap((s, i) => (s >= 4 ? [] : [`${r.labelSet.labels[i]}: ${s}`]));
    expect(thin).toEqual([]);
    // Every description belongs to exactly one category (none shared between actions).
    const colSums = new Array<number>(kd).fill(0);
    for (let i = 0; i < kc; i++) for (let j = 0; j < kd; j++) colSums[j] = (colSums[j] ?? 0) + (rel?.data[i * kd + j] ?? 0);
    expect(colSums.every((s) => s === 1)).toBe(true);
  });
});
