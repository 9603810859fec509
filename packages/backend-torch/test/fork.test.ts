/**
 * Fork safety: child processes started from worker threads while the main thread runs libtorch kernels (the
 * situation of lss-train's view worker threads, which start ffmpeg while the model steps). Without the addon's fork
 * lock, OpenBLAS's fork handler raced the main thread's matrix products and the forking worker hung forever
 * (see the comment at g_fork_lock in src/native/addon.cc). The scenario runs in its own process
 * (fixtures/fork-while-busy.mjs), killed here if it hangs.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ADDON_PATH } from '../src/native.js';

const scenario = fileURLToPath(new URL('./fixtures/fork-while-busy.mjs', import.meta.url));

function runScenario(
  seconds: number,
  workers: number,
  limitMs: number,
): Promise<{ code: number | null; signal: string | null; out: string; hung: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [scenario, ADDON_PATH, String(seconds), String(workers)], {
      env: { ...process.env, OMP_NUM_THREADS: '2', OPENBLAS_NUM_THREADS: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, hung });
    });
  });
}

describe('fork safety', () => {
  it('worker threads start child processes while the main thread runs multi-threaded matrix products, without hanging', async () => {
    const r = await runScenario(3, 2, 60_000);
    expect(r.out, `the scenario hung or failed (code ${r.code}, signal ${r.signal}, killed by the test: ${r.hung})`).not.toMatch(/STUCK/);
    expect(r.hung).toBe(false);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out.trim().split('\n').at(-1) as string) as { spawnsPerWorker: number[]; products: number };
    expect(result.spawnsPerWorker).toHaveLength(2);
    for (const n of result.spawnsPerWorker) expect(n).toBeGreaterThan(0);
    expect(result.products).toBeGreaterThan(0);
  });
});
