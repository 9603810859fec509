import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.js';
import { BackendUnavailableError, ConfigError } from './errors.js';

afterAll(async () => {
  await initBackend('cpu');
});

describe('initBackend', () => {
  it('selects wasm by default and returns what is in use', async () => {
    const info = await initBackend();
    expect(info.name).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.tfjsVersion).toBe(tf.version_core);
    const y = tf.tidy(() => tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync());
    expect(Array.from(y)).toEqual([3, 3, 3, 3]);
  });
  it('selects cpu', async () => {
    expect((await initBackend('cpu')).name).toBe('cpu');
  });
  it('explains how to install the tensorflow backend when it is missing', async () => {
    const error = await initBackend('tensorflow').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/tfjs-node-gpu/);
    expect((error as Error).message).toMatch(/CUDA 11\.2/);
    expect((error as Error).message).toMatch(/pnpm add @tensorflow\/tfjs-node@4\.22\.0/);
  });
  it('refuses webgpu where there is no navigator.gpu', async () => {
    await expect(initBackend('webgpu')).rejects.toBeInstanceOf(BackendUnavailableError);
  });
  it('rejects an unknown backend name', async () => {
    await expect(initBackend('metal' as never)).rejects.toBeInstanceOf(ConfigError);
  });
  it('has gradients registered (tf.grad works for Sum)', () => {
    const g = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2]))
        .dataSync(),
    );
    expect(Array.from(g)).toEqual([2, 4]);
  });
});
