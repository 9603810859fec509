/**
 * One trainer per run folder: `<workdir>/run.lock`, created with O_EXCL, holds the holder's pid, host,
 * start time and command. A second trainer refuses with a message naming the holder. A lock left by a
 * killed trainer on this host (its pid no longer runs, or now belongs to a process started later) is
 * stale: it is reported and taken over. A lock from another host cannot be checked and is never taken
 * over silently.
 */
import { closeSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@lss/core';
import { outputErrorFrom } from '@lss/core/node';

export const RUN_LOCK_FILE = 'run.lock';

/** What a lock file holds. */
export interface RunLockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the holder took the lock. */
  readonly startedAt: string;
  /** The holder's process start time (clock ticks since boot, /proc/<pid>/stat field 22), to detect pid reuse. */
  readonly processStart: string | null;
  readonly command: string;
}

export interface RunLock {
  readonly path: string;
  /** The stale holder that was taken over, if any. */
  readonly tookOverFrom: RunLockHolder | null;
  /** Removes the lock (only if it is still ours). Idempotent. */
  release(): void;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot), or null off Linux. */
function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Whether `holder` (on this host) still runs: its pid exists and, where known, started when the lock says. */
function holderAlive(holder: RunLockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: a process of another user has that pid: alive.
  }
  const start = processStartTime(holder.pid);
  return holder.processStart === null || start === null || start === holder.processStart;
}

function readHolder(path: string): RunLockHolder | null {
  try {
    const data = JSON.parse(readFileSync(path, 'utf8')) as Partial<RunLockHolder>;
    if (typeof data.pid !== 'number' || typeof data.host !== 'string') return null;
    return {
      pid: data.pid,
      host: data.host,
      startedAt: String(data.startedAt ?? 'unknown'),
      processStart: typeof data.processStart === 'string' ? data.processStart : null,
      command: String(data.command ?? ''),
    };
  } catch {
    return null; // vanished, or half written by a holder that was killed while writing it
  }
}

function describeHolder(h: RunLockHolder): string {
  return `pid ${h.pid} on ${h.host}, started ${h.startedAt}${h.command ? ` (${h.command.slice(0, 200)})` : ''}`;
}

/**
 * Takes the run-folder lock of `workdir` (which must exist) or throws a ConfigError (code
 * `RUN_FOLDER_LOCKED`) naming the trainer that holds it.
 */
export function acquireRunLock(workdir: string, options: { command?: string; log?: (line: string) => void } = {}): RunLock {
  const path = join(workdir, RUN_LOCK_FILE);
  const me: RunLockHolder = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    processStart: processStartTime(process.pid),
    command: options.command ?? process.argv.slice(1).join(' '),
  };
  let tookOverFrom: RunLockHolder | null = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw outputErrorFrom(error, path, 'run lock');
      const holder = readHolder(path);
      if (holder && holder.host !== me.host) {
        throw new ConfigError(
          `Run folder ${workdir} is locked by another trainer: ${describeHolder(holder)}. Two trainers on one folder would ` +
            `overwrite each other's checkpoints and metrics. Use another workdir (--set workdir=...), or, if that trainer ` +
            `is surely gone (it ran on another machine, so this one cannot check), delete ${path}.`,
          { code: 'RUN_FOLDER_LOCKED' },
        );
      }
      if (holder && holderAlive(holder)) {
        throw new ConfigError(
          `Run folder ${workdir} is locked by another trainer: ${describeHolder(holder)}, still running. Two trainers on ` +
            `one folder would overwrite each other's checkpoints and metrics. Wait for it, stop it (kill -TERM ${holder.pid}: ` +
            'it saves a checkpoint), or use another workdir (--set workdir=...).',
          { code: 'RUN_FOLDER_LOCKED' },
        );
      }
      // Stale (its process is gone) or unreadable: move it aside atomically, so that of two trainers
      // taking over at once only one removes it, then retry the exclusive create.
      const aside = `${path}.stale-${process.pid}`;
      try {
        renameSync(path, aside);
        const moved = readHolder(aside);
        if (moved && holder && (moved.pid !== holder.pid || moved.startedAt !== holder.startedAt)) {
          // Another trainer replaced the stale lock between our read and our rename: put its lock back.
          renameSync(aside, path);
          continue;
        }
        rmSync(aside, { force: true });
        tookOverFrom = holder;
        options.log?.(
          holder
            ? `run folder lock ${path} was left by a trainer that is gone (${describeHolder(holder)}); taking it over.`
            : `run folder lock ${path} was unreadable (a trainer killed while taking it); taking it over.`,
        );
      } catch {
        // another trainer moved it first; retry
      }
      continue;
    }
    try {
      writeSync(fd, `${JSON.stringify(me, null, 2)}\n`);
    } catch (error) {
      closeSync(fd);
      rmSync(path, { force: true });
      throw outputErrorFrom(error, path, 'run lock');
    }
    closeSync(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      const holder = readHolder(path);
      if (holder && holder.pid === me.pid && holder.host === me.host) rmSync(path, { force: true });
    };
    process.on('exit', release);
    return { path, tookOverFrom, release };
  }
  throw new ConfigError(`Could not take the run folder lock ${path} (other trainers keep taking it). Retry, or use another workdir.`, {
    code: 'RUN_FOLDER_LOCKED',
  });
}
