/**
 * Clear errors for file-system write failures, and a writability check to run BEFORE expensive work.
 *
 * Node's own errors name a syscall and a code (`ENOSPC: no space left on device, write`), sometimes the
 * wrong one: a recursive `mkdir` under a read-only mount reports `ENOENT`. These helpers name the path,
 * the real cause and what to do, as an {@link OutputError}.
 */
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LssError, OutputError } from '../errors.js';

const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: 'the disk is full (ENOSPC)',
  EDQUOT: 'the disk quota is exceeded (EDQUOT)',
  EROFS: 'the file system is read-only (EROFS)',
  EACCES: 'permission denied (EACCES)',
  EPERM: 'the operation is not permitted (EPERM)',
  ENOTDIR: 'a part of the path is a file, not a folder (ENOTDIR)',
  EISDIR: 'the path is a folder, not a file (EISDIR)',
  EEXIST: 'a file of that name is in the way (EEXIST)',
  ENAMETOOLONG: 'the path is too long (ENAMETOOLONG)',
  EMFILE: 'too many open files (EMFILE)',
};

const ADVICE: Readonly<Record<string, string>> = {
  ENOSPC: 'Free space on that disk or choose an output folder on another one.',
  EDQUOT: 'Free space in your quota or choose an output folder elsewhere.',
  EROFS: 'Choose an output folder on a writable file system.',
  EACCES: 'Choose a folder you can write to, or fix its permissions.',
  EPERM: 'Choose a folder you can write to, or fix its permissions.',
};

/** The deepest existing folder on the way to `path` (itself when it exists). */
function existingAncestor(path: string): string {
  let p = resolve(path);
  while (!existsSync(p)) {
    const parent = dirname(p);
    if (parent === p) break;
    p = parent;
  }
  return p;
}

/**
 * The real reason a write under `path` fails: the error's own code, except for `ENOENT` from a
 * recursive mkdir, where the deepest existing ancestor is probed (`access(W_OK)` reports `EROFS` on a
 * read-only mount even for root).
 */
function realCause(error: NodeJS.ErrnoException, path: string): { code: string | undefined; where: string } {
  if (error.code === 'ENOENT' || error.code === undefined) {
    const ancestor = existingAncestor(path);
    try {
      accessSync(ancestor, constants.W_OK);
    } catch (probe) {
      return { code: (probe as NodeJS.ErrnoException).code, where: ancestor };
    }
    try {
      if (!statSync(ancestor).isDirectory()) return { code: 'ENOTDIR', where: ancestor };
    } catch {
      // keep the original code
    }
  }
  return { code: error.code, where: path };
}

/**
 * Turns a file-system error met while writing `path` into an {@link OutputError} naming the path, the
 * real cause and a fix. `what` says what was being written ("checkpoint", "report"). LSS.js errors pass
 * through unchanged.
 */
export function outputErrorFrom(error: unknown, path: string, what: string): Error {
  if (error instanceof LssError) return error;
  const e = error as NodeJS.ErrnoException;
  const { code, where } = realCause(e, path);
  const cause = (code && CAUSES[code]) ?? (code ? `${code}: ${e.message}` : String(e?.message ?? e));
  const at = where === resolve(path) || where === path ? '' : ` (at ${where})`;
  const advice = (code && ADVICE[code]) ?? 'Check the path and the disk.';
  return new OutputError(`Cannot write the ${what} ${path}: ${cause}${at}. ${advice}`, {
    path,
    ...(code ? { reason: code } : {}),
    cause: error,
  });
}

/**
 * Creates `dir` (and its parents) when needed and checks that a file can be created in it, by writing
 * and removing a small probe file. Run it before expensive work so an unwritable output fails in
 * seconds, not after hours. Throws {@link OutputError} naming the folder and the real cause.
 *
 * @example
 * ensureWritableDir(outDir, 'report folder');
 */
export function ensureWritableDir(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (error) {
    throw outputErrorFrom(error, dir, what);
  }
  if (!statSync(dir).isDirectory()) {
    throw new OutputError(`Cannot write the ${what} ${dir}: it is a file, not a folder. Choose another path.`, {
      path: dir,
      reason: 'ENOTDIR',
    });
  }
  const probe = join(dir, `.lss-write-probe-${process.pid}`);
  try {
    const fd = openSync(probe, 'w');
    try {
      writeSync(fd, 'probe\n');
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    throw outputErrorFrom(error, dir, what);
  } finally {
    rmSync(probe, { force: true });
  }
}
