import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createFakeEncoder } from '../__fixtures__/fake-encoder.js';
import { buildCategorySpace } from '../build.js';
import { buildOrLoadCachedCategorySpace, buildOrLoadCachedDescriptionSpace, loadConceptSpace, saveConceptSpace } from './store.js';

const tmp = mkdtempSync(join(tmpdir(), 'lss-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('saveConceptSpace / loadConceptSpace', () => {
  it('round-trips matrix, ids, texts and provenance', async () => {
    const space = await buildCategorySpace(createFakeEncoder(8), ['archery', 'abseiling'], { source: 'unit' });
    const path = saveConceptSpace(space, join(tmp, 'a', 'space'));
    expect(path).toBe(join(tmp, 'a', 'space.safetensors'));
    const back = loadConceptSpace(path);
    expect(back.matrix).toEqual(space.matrix);
    expect(back.ids).toEqual(space.ids);
    expect(back.provenance).toEqual(space.provenance);
  });
});

describe('build cache', () => {
  it('computes a category space once and reuses it; any input change rebuilds', async () => {
    const dir = join(tmp, 'cache');
    const enc = createFakeEncoder(8);
    const lines: string[] = [];
    const first = await buildOrLoadCachedCategorySpace(enc, ['a', 'b'], { cacheDir: dir, log: (l) => lines.push(l) });
    expect(first.cached).toBe(false);
    expect(enc.calls).toBe(1);
    const second = await buildOrLoadCachedCategorySpace(enc, ['a', 'b'], { cacheDir: dir, log: (l) => lines.push(l) });
    expect(second.cached).toBe(true);
    expect(enc.calls).toBe(1);
    expect(second.space.matrix).toEqual(first.space.matrix);
    expect(lines[1]).toMatch(/^cache hit: category space 2x8/);
    // Different templates, labels or model hash -> new key, encoder called again.
    await buildOrLoadCachedCategorySpace(enc, ['a', 'b'], { cacheDir: dir, templates: ['{}'] });
    await buildOrLoadCachedCategorySpace(enc, ['a', 'c'], { cacheDir: dir });
    await buildOrLoadCachedCategorySpace(createFakeEncoder(8, 'other-model'), ['a', 'b'], { cacheDir: dir });
    expect(enc.calls).toBe(3);
  });

  it('rebuilds a corrupt cache entry instead of failing', async () => {
    const dir = join(tmp, 'corrupt');
    const enc = createFakeEncoder(4);
    const first = await buildOrLoadCachedDescriptionSpace(enc, [{ id: 'a', descriptions: ['x', 'y'] }], { cacheDir: dir });
    writeFileSync(first.path, 'garbage');
    const again = await buildOrLoadCachedDescriptionSpace(enc, [{ id: 'a', descriptions: ['x', 'y'] }], { cacheDir: dir });
    expect(again.cached).toBe(false);
    expect(enc.calls).toBe(2);
    const third = await buildOrLoadCachedDescriptionSpace(enc, [{ id: 'a', descriptions: ['x', 'y'] }], { cacheDir: dir });
    expect(third.cached).toBe(true);
    expect(third.space.relation?.categoryIds).toEqual(['a']);
  });
});
