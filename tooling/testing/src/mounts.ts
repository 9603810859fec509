/**
 * Real file-system faults for tests: a read-only mount and a tiny tmpfs that fills up (ENOSPC).
 *
 * Permissions cannot simulate these when tests run as root (root ignores chmod), so the helpers mount a
 * tmpfs; that needs root (CI runs as root). {@link mountSupport} says whether it works here and, when
 * not, why: tests use it in `describe.skipIf` with the reason in the title, never as a silent pass.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let support: { ok: boolean; why: string } | null = null;

/** Whether tmpfs mounts work here (root and a permitted `mount`), with the reason when they do not. */
export function mountSupport(): { ok: boolean; why: string } {
  if (support) return support;
  if (process.getuid?.() !== 0) {
    support = { ok: false, why: `needs root to mount a tmpfs (running as uid ${process.getuid?.()})` };
    return support;
  }
  try {
    const m = mountTmpfs({ sizeKiB: 16 });
    m.unmount();
    support = { ok: true, why: '' };
  } catch (error) {
    support = { ok: false, why: `mount -t tmpfs failed: ${(error as Error).message.split('\n')[0]}` };
  }
  return support;
}

export interface TmpfsMount {
  /** The mount point. */
  readonly path: string;
  /** Remounts read-only (contents kept). */
  readOnly(): void;
  unmount(): void;
}

/** Mounts a fresh tmpfs of `sizeKiB` KiB (read-only with `readOnly: true`) on a new temporary folder. */
export function mountTmpfs(options: { sizeKiB: number; readOnly?: boolean }): TmpfsMount {
  const path = mkdtempSync(join(tmpdir(), 'lss-tmpfs-'));
  const opts = `size=${options.sizeKiB}k${options.readOnly ? ',ro' : ''}`;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(path, { recursive: true, force: true });
    throw error;
  }
  let mounted = true;
  return {
    path,
    readOnly() {
      execFileSync('mount', ['-o', 'remount,ro', path], { stdio: ['ignore', 'ignore', 'pipe'] });
    },
    unmount() {
      if (!mounted) return;
      mounted = false;
      execFileSync('umount', [path], { stdio: ['ignore', 'ignore', 'pipe'] });
      rmSync(path, { recursive: true, force: true });
    },
  };
}
