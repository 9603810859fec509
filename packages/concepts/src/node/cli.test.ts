import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIP_TINY_DIR } from '@lss/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { loadLabelSet } from './data.js';
import { loadConceptSpace } from './store.js';

const tmp = mkdtempSync(join(tmpdir(), 'lss-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { log: (l: string) => out.push(l), error: (l: string) => err.push(l), env: {} } };
}

describe('lss-concepts build (clip-tiny, ONNX engine)', () => {
  it('builds the lss-b category and description spaces, then loads both from the cache', async () => {
    const cache = join(tmp, 'cache');
    const args = ['build', '--model', CLIP_TINY_DIR, '--labels', 'lss-b', '--descriptions', '--cache', cache];
    const a = io();
    const t0 = performance.now();
    expect(await runCli(args, a.io)).toBe(0);
    const firstMs = performance.now() - t0;
    expect(a.err).toEqual([]);
    expect(a.out.filter((l) => l.startsWith('built:'))).toHaveLength(2);
    expect(a.out.some((l) => l.startsWith('cache hit'))).toBe(false);

    const b = io();
    const t1 = performance.now();
    expect(await runCli(args, b.io)).toBe(0);
    const secondMs = performance.now() - t1;
    // The second run reads both spaces from the cache: no "built:" line, two cache hits.
    expect(b.out.filter((l) => l.startsWith('cache hit'))).toHaveLength(2);
    expect(b.out.some((l) => l.startsWith('built:'))).toBe(false);
    expect(b.out.at(-1)).toMatch(/category \d+x32 \(cached\).*description \d+x32 \(cached\)/);
    console.log(`lss-concepts build: first run ${firstMs.toFixed(0)} ms, cached run ${secondMs.toFixed(0)} ms`);

    const files = readdirSync(cache).sort();
    expect(files).toHaveLength(4);
    const lssB = loadLabelSet('lss-b');
    const cat = loadConceptSpace(join(cache, files.find((f) => f.startsWith('category') && f.endsWith('.safetensors')) as string));
    const desc = loadConceptSpace(join(cache, files.find((f) => f.startsWith('description') && f.endsWith('.safetensors')) as string));
    expect(cat.shape).toEqual([lssB.labels.length, 32]);
    expect(cat.ids).toEqual(lssB.labels);
    expect(cat.provenance.modelId).toBe('clip-tiny');
    expect(desc.relation?.shape).toEqual([lssB.labels.length, desc.size]);
    expect(desc.relation?.categoryIds).toEqual(lssB.labels);
    // Every lss-b category owns at least 4 descriptions and every description belongs to some category.
    const [kc, kd] = desc.relation?.shape ?? [0, 0];
    const m = desc.relation?.data ?? new Uint8Array();
    for (let i = 0; i < kc; i++) {
      let s = 0;
      for (let j = 0; j < kd; j++) s += m[i * kd + j] as number;
      expect(s).toBeGreaterThanOrEqual(4);
    }
    for (let j = 0; j < kd; j++) {
      let s = 0;
      for (let i = 0; i < kc; i++) s += m[i * kd + j] as number;
      expect(s).toBeGreaterThanOrEqual(1);
    }
  });

  it('reports bad input with a clear message and a non-zero exit code', async () => {
    const a = io();
    expect(await runCli(['build', '--labels', 'lss-b', '--cache', tmp], a.io)).toBe(1);
    expect(a.err[0]).toMatch(/--model is required/);
    const b = io();
    expect(await runCli(['build', '--model', join(tmp, 'missing'), '--labels', 'lss-b', '--cache', tmp], b.io)).toBe(1);
    expect(b.err[0]).toMatch(/does not exist/);
    const c = io();
    expect(await runCli(['build', '--model', CLIP_TINY_DIR, '--labels', 'lss-q', '--cache', tmp], c.io)).toBe(1);
    expect(c.err[0]).toMatch(/Unknown label set/);
    const d = io();
    expect(await runCli(['frobnicate'], d.io)).toBe(2);
    const e = io();
    expect(await runCli(['build', '--bogus'], e.io)).toBe(2);
  });
});
