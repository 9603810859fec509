/**
 * What a user of the published `@lss/core` sees in a fresh Node process (plain ESM, the built dist/):
 * gradients registered without the `@tensorflow/tfjs` umbrella, no tfjs "install the node backend"
 * banner once a backend was chosen, and Node's own short report for an uncaught error after the wasm
 * backend is initialised.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));

function runNode(script: string) {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: pkgDir, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('@lss/core in a fresh Node process (built dist)', () => {
  it('registers every gradient and chained op without the umbrella, including bundled op wrappers (pooling, conv)', () => {
    const r = runNode(`
      import * as tf from '@tensorflow/tfjs-core';
      import { initBackend } from '@lss/core';
      await initBackend('cpu');
      const x = tf.tensor([1, 5, 3, 4, 2, 6, 7, 8, 9], [1, 3, 3, 1]);
      const pool = tf.grad((v) => tf.sum(tf.maxPool(v, 2, 1, 'valid')))(x);
      const conv = tf.grad((v) => tf.sum(tf.conv2d(v, tf.ones([2, 2, 1, 1]), 1, 'valid')))(x);
      const sq = tf.grad((v) => tf.sum(tf.square(v)))(tf.tensor1d([1, 2]));
      const names = Object.values(tf).filter((v) => typeof v === 'string' && tf.getGradient(v) != null);
      const chained = tf.tensor1d([-1, 2]).abs().square().sum().dataSync()[0];
      const resized = tf.zeros([1, 2, 2, 1]).resizeBilinear([4, 4]).shape;
      console.log(JSON.stringify({ pool: Array.from(pool.dataSync()), conv: Array.from(conv.dataSync()),
        sq: Array.from(sq.dataSync()), count: new Set(names).size, chained, resized }));
    `);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    // maxPool 2x2 stride 1 over [[1,5,3],[4,2,6],[7,8,9]]: maxima 5, 6, 8, 9 (each window routes its gradient to its max).
    expect(out.pool).toEqual([0, 1, 0, 0, 0, 1, 0, 1, 1]);
    // Each input pixel's gradient is the number of 2x2 windows covering it.
    expect(out.conv).toEqual([1, 2, 1, 2, 4, 2, 1, 2, 1]);
    expect(out.sq).toEqual([2, 4]);
    // tfjs-core 4.22.0's register_all_gradients covers 101 kernel names (the umbrella registers the same set).
    expect(out.count).toBe(101);
    // Chained tensor methods, which the umbrella also registered.
    expect(out.chained).toBe(5);
    expect(out.resized).toEqual([1, 4, 4, 1]);
  });

  it('prints no tfjs banner after initBackend("cpu")', () => {
    const r = runNode(`
      import * as tf from '@tensorflow/tfjs-core';
      import { initBackend } from '@lss/core';
      await initBackend('cpu');
      tf.add(tf.tensor1d([1]), tf.tensor1d([2])).dataSync();
    `);
    expect(r.status).toBe(0);
    expect(r.stderr).not.toMatch(/looks like you are running TensorFlow\.js in Node/);
    expect(r.stderr).toBe('');
  });

  it('leaves an uncaught error after initBackend("wasm") to Node: short report, exit code 1', () => {
    const r = runNode(`
      import { initBackend } from '@lss/core';
      await initBackend('wasm');
      setTimeout(() => { throw new Error('boom from the test'); }, 0);
    `);
    expect(r.stderr).toMatch(/Error: boom from the test/);
    // Emscripten's rethrowing handler printed its 36 KB minified source line and exited with code 7.
    expect(r.stderr.length).toBeLessThan(2000);
    expect(r.status).toBe(1);
  });

  it('rejected promises after initBackend("wasm") are reported by Node, not rethrown by Emscripten', () => {
    const r = runNode(`
      import { initBackend } from '@lss/core';
      await initBackend('wasm');
      Promise.reject(new Error('rejected in the test'));
    `);
    expect(r.stderr).toMatch(/rejected in the test/);
    expect(r.stderr.length).toBeLessThan(2000);
    expect(r.status).toBe(1);
  });
});
