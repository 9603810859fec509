import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { configFromData } from './config/load.js';
import { runTraining } from './run.js';
import { acquireRunLock, RUN_LOCK_FILE } from './run-lock.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'lss-lock-'));

/** A pid that surely does not run any more: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('run folder lock', () => {
  it('a second trainer on the same folder refuses, naming the holder (pid, host, start)', () => {
    const dir = tmp();
    const first = acquireRunLock(dir, { command: 'lss-train --config a' });
    let error: unknown;
    try {
      acquireRunLock(dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('RUN_FOLDER_LOCKED');
    const holder = JSON.parse(readFileSync(join(dir, RUN_LOCK_FILE), 'utf8'));
    expect((error as Error).message).toContain(
      `locked by another trainer: pid ${process.pid} on ${hostname()}, started ${holder.startedAt}`,
    );
    expect((error as Error).message).toContain('lss-train --config a');
    first.release();
    expect(existsSync(join(dir, RUN_LOCK_FILE))).toBe(false);
    acquireRunLock(dir).release(); // free again
  });

  it('a stale lock from a killed trainer is detected and taken over', () => {
    const dir = tmp();
    const pid = deadPid();
    writeFileSync(
      join(dir, RUN_LOCK_FILE),
      JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', processStart: null, command: 'lss-train' }),
    );
    const lines: string[] = [];
    const lock = acquireRunLock(dir, { log: (l) => lines.push(l) });
    expect(lock.tookOverFrom?.pid).toBe(pid);
    expect(lines.join('\n')).toMatch(new RegExp(`left by a trainer that is gone \\(pid ${pid} on .*started 2026-01-01`));
    expect(JSON.parse(readFileSync(join(dir, RUN_LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('a lock whose pid was reused by a later process is stale too', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, RUN_LOCK_FILE),
      JSON.stringify({ pid: process.pid, host: hostname(), startedAt: 'then', processStart: '1', command: 'lss-train' }),
    );
    const lock = acquireRunLock(dir);
    expect(lock.tookOverFrom?.startedAt).toBe('then');
    lock.release();
  });

  it('a half-written lock (trainer killed while writing it) is taken over', () => {
    const dir = tmp();
    writeFileSync(join(dir, RUN_LOCK_FILE), '{"pid": 12');
    const lock = acquireRunLock(dir);
    expect(lock.tookOverFrom).toBeNull();
    lock.release();
  });

  it('a live trainer in another process keeps the folder; runTraining refuses before any work', async () => {
    const dir = tmp();
    // A child process takes the lock the way a trainer does, then waits.
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--conditions=@lss/source',
        '-e',
        `import('${join(import.meta.dirname, 'run-lock.ts')}').then((m) => { m.acquireRunLock(${JSON.stringify(dir)}, { command: 'lss-train (child)' }); console.log('locked'); setTimeout(() => {}, 60000); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
        child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      const config = configFromData({ workdir: dir, data: { kind: 'synthetic', root: join(dir, 'data') } });
      await expect(runTraining(config, { log: () => undefined })).rejects.toThrow(
        new RegExp(`locked by another trainer: pid ${child.pid} on ${hostname()}, .*\\(lss-train \\(child\\)\\), still running`),
      );
      expect(existsSync(join(dir, 'config.json'))).toBe(false); // refused before writing anything
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('close', r));
    // Killed with SIGKILL: its lock stays behind, stale; the next lock takes it over.
    expect(acquireRunLock(dir).tookOverFrom?.pid).toBe(child.pid);
  });
});
