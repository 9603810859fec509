import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { describeBackend, initBackend } from './backend.js';

afterAll(async () => {
  await initBackend('cpu');
});

// This workspace builds @lss/backend-torch against Debian's libtorch (tooling/scripts/run.sh installs it).
describe('initBackend torch / auto', () => {
  it('torch: loads the addon, reports device and threads, and computes', async () => {
    const info = await initBackend('torch', { threads: 1 });
    expect(info.name).toBe('torch');
    expect(tf.getBackend()).toBe('torch');
    expect(info.device).toBe('cpu');
    expect(info.threads).toBe(1);
    expect(describeBackend(info)).toBe('backend torch (device cpu, 1 threads)');
    const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync());
    expect(Array.from(y)).toEqual([3, 3, 3, 3]);
  });
  it('auto: torch when it loads', async () => {
    expect((await initBackend('auto')).name).toBe('torch');
  });
  it('auto: falls back to wasm with the reason when torch cannot start; torch alone throws BackendUnavailableError', async () => {
    vi.resetModules();
    vi.doMock('@lss/backend-torch', () => ({
      registerTorchBackend: () => {
        throw new Error('no compiled addon at /x/lss_torch.node.\nNo libtorch was found');
      },
    }));
    const fresh = await import('./backend.js');
    const freshErrors = await import('./errors.js');
    const error = await fresh.initBackend('torch').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(freshErrors.BackendUnavailableError);
    expect((error as Error).message).toMatch(/torch backend could not start: no compiled addon/);
    const info = await fresh.initBackend('auto');
    expect(info.name).toBe('wasm');
    expect(info.fallbackReason).toMatch(/no compiled addon/);
    expect(fresh.describeBackend(info)).toMatch(/^backend wasm \(torch unavailable: /);
    vi.doUnmock('@lss/backend-torch');
  });
});
