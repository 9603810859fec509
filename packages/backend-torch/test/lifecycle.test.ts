/**
 * Registration options and whole-backend disposal (own process: vitest runs each file in a fork).
 */
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it, vi } from 'vitest';
import { registerTorchBackend, torchMemory } from '../src/index.js';
import { loadNative } from '../src/native.js';

describe('registerTorchBackend', () => {
  it('reports the device and the threads it set (test setup asked for LSS_TORCH_THREADS or 2)', () => {
    const info = registerTorchBackend();
    expect(info.device).toBe('cpu');
    expect(info.threads).toBe(Number(process.env.LSS_TORCH_THREADS ?? 2));
    expect(loadNative().getThreads()).toBe(info.threads);
    expect(info.torchVersion).toMatch(/^\d+\.\d+/);
  });
  it('CUDA: refuses cuda with the way to get it when the libtorch has none (this machine), else accepts it', async () => {
    const { hasCuda } = loadNative();
    if (hasCuda()) return expect(loadNative().setDevice('cuda')).toBeUndefined();
    vi.resetModules(); // a fresh copy of the entry, not yet registered
    const fresh = await import('../src/index.js');
    process.env.LSS_TORCH_DEVICE = 'cuda';
    try {
      expect(() => fresh.registerTorchBackend()).toThrow(/LSS_TORCH_DEVICE=cuda.*no CUDA/);
      expect(() => fresh.registerTorchBackend()).toThrow(fresh.TorchUnavailableError);
    } finally {
      delete process.env.LSS_TORCH_DEVICE;
    }
  });
  it('rejects a bad thread count', async () => {
    vi.resetModules();
    const fresh = await import('../src/index.js');
    expect(() => fresh.registerTorchBackend({ threads: 0 })).toThrow(/positive integer/);
  });
});

describe('dispose', () => {
  it('removing the backend frees every native handle', () => {
    tf.tidy(() => tf.matMul(tf.ones([3, 3]), tf.ones([3, 3])));
    const kept = [tf.ones([5]), tf.range(0, 3)];
    expect(torchMemory().handles).toBeGreaterThanOrEqual(kept.length);
    tf.removeBackend('torch');
    expect(torchMemory().handles).toBe(0);
  });
});

describe('OMP_WAIT_POLICY', () => {
  // libgomp reads it once, when the addon loads it: each case runs in a fresh process.
  const probe = async (env: Record<string, string | undefined>) => {
    const { execFileSync } = await import('node:child_process');
    const entry = new URL('../src/index.ts', import.meta.url).pathname;
    const script = `const m = await import(${JSON.stringify(entry)}); const i = m.registerTorchBackend({ threads: 2 }); console.log(JSON.stringify({ info: i.ompWaitPolicy, env: process.env.OMP_WAIT_POLICY }));`;
    const childEnv = { ...process.env, ...env };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: childEnv });
    return JSON.parse(out.toString().trim().split('\n').pop() as string) as { info: string; env: string };
  };
  it('defaults to PASSIVE before libgomp loads (spinning threads cost 2.5-3.6x on shared cores)', async () => {
    expect(await probe({ OMP_WAIT_POLICY: undefined })).toEqual({ info: 'PASSIVE', env: 'PASSIVE' });
  });
  it("keeps the user's own setting", async () => {
    expect(await probe({ OMP_WAIT_POLICY: 'ACTIVE' })).toEqual({ info: 'ACTIVE', env: 'ACTIVE' });
  });
});
