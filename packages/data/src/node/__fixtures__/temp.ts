/** Temporary folders for tests, removed after each test file (see `cleanup.ts`). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tempDirs: string[] = [];

/** A fresh temporary folder, removed after the test file. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `lss-data-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

/** Removes every folder made by {@link makeTempDir}. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
