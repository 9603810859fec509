import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OutputError } from '../errors.js';
import { ensureWritableDir, writeFileAtomic, writeSafetensorsFile } from './index.js';

// Real faults need a tmpfs mount (root ignores chmod), so root. @lss/testing has the same helper; core's
// tests cannot depend on it (it depends on core).
const isRoot = process.getuid?.() === 0;
const mounts: string[] = [];
function tmpfs(options: string): string {
  const path = mkdtempSync(join(tmpdir(), 'lss-core-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', path]);
  mounts.push(path);
  return path;
}
afterEach(() => {
  for (const m of mounts.splice(0)) {
    execFileSync('umount', [m]);
    rmSync(m, { recursive: true, force: true });
  }
});

function caught(fn: () => void): OutputError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OutputError);
    return error as OutputError;
  }
  throw new Error('expected an OutputError, nothing was thrown');
}

describe.skipIf(!isRoot)(
  `file-system faults become OutputError with the real cause${isRoot ? '' : ' (SKIPPED: needs root to mount a tmpfs)'}`,
  () => {
    it('disk full (ENOSPC) while writing a safetensors file: names the path and the cause, leaves no temporary file', () => {
      const dir = tmpfs('size=64k');
      const path = join(dir, 'step-1.safetensors');
      const e = caught(() => writeSafetensorsFile(path, { w: { shape: [100_000], data: new Float32Array(100_000) } }));
      expect(e.message).toBe(
        `Cannot write the safetensors file ${path}: the disk is full (ENOSPC). Free space on that disk or choose an output folder on another one.`,
      );
      expect(e.reason).toBe('ENOSPC');
      expect(readdirSync(dir)).toEqual([]);
    });

    it('disk full keeps the previous contents of a file written atomically', () => {
      const dir = tmpfs('size=64k');
      const path = join(dir, 'latest.json');
      writeFileAtomic(path, '{"step": 1}');
      caught(() => writeFileAtomic(path, 'x'.repeat(100_000)));
      expect(readFileSync(path, 'utf8')).toBe('{"step": 1}');
      expect(readdirSync(dir)).toEqual(['latest.json']);
    });

    it('a read-only folder: EROFS, not a raw stack', () => {
      const dir = tmpfs('size=64k,ro');
      const e = caught(() => writeFileAtomic(join(dir, 'report.json'), '{}'));
      expect(e.message).toMatch(/report\.json: the file system is read-only \(EROFS\)/);
    });

    it('ensureWritableDir under a read-only mount reports EROFS (Node says ENOENT for a recursive mkdir)', () => {
      const dir = tmpfs('size=64k,ro');
      const target = join(dir, 'runs', 'a', 'b');
      const e = caught(() => ensureWritableDir(target, 'run folder'));
      expect(e.reason).toBe('EROFS');
      expect(e.message).toBe(
        `Cannot write the run folder ${target}: the file system is read-only (EROFS) (at ${dir}). Choose an output folder on a writable file system.`,
      );
      expect(() => ensureWritableDir(dir, 'report folder')).toThrow(/report folder .*read-only \(EROFS\)/);
    });
  },
);

describe('ensureWritableDir', () => {
  it('creates missing folders and leaves no probe file', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'lss-out-')), 'a', 'b');
    ensureWritableDir(dir, 'report folder');
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });
  it('a file in the way', () => {
    const base = mkdtempSync(join(tmpdir(), 'lss-out-'));
    writeFileSync(join(base, 'f'), 'x');
    expect(() => ensureWritableDir(join(base, 'f'), 'report folder')).toThrow(OutputError);
    expect(() => ensureWritableDir(join(base, 'f', 'sub'), 'report folder')).toThrow(/report folder .*(ENOTDIR|EEXIST)/);
  });
});
