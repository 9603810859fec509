import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES_DIR, SHARED_FIXTURES_DIR } from './fixtures.js';

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? listFiles(p) : [p];
  });
}
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe('repository copy of the reference fixtures', () => {
  it('holds the three fixture sets', () => {
    for (const set of ['clip-tiny', 'dino-loss', 'timesformer-block']) expect(existsSync(join(FIXTURES_DIR, set))).toBe(true);
  });
  it.runIf(existsSync(SHARED_FIXTURES_DIR))('is byte-identical to ../shared/fixtures', () => {
    const files = listFiles(SHARED_FIXTURES_DIR);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) {
      const rel = relative(SHARED_FIXTURES_DIR, f);
      expect(sha(join(FIXTURES_DIR, rel)), rel).toBe(sha(f));
    }
  });
});
