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
