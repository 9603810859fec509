import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { findLatestCheckpoint, listCheckpoints, readCheckpoint, restoreVariables, saveCheckpoint } from './checkpoint.js';

afterEach(() => tf.disposeVariables());

const meta = (step: number) => ({
  step,
  epoch: step / 10,
  rngState: [1, 2, 3, step] as const,
  optimizerStep: step,
  nonFiniteStreak: 0,
  gitCommit: null,
  config: { name: 'test' },
  backbone: { width: 4 },
});

describe('checkpoints', () => {
  it('round-trips every tensor and the sidecar, and keeps only the last N', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-ckpt-'));
    const a = tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]), true, 'student/a');
    const b = tf.variable(tf.tensor1d([5, 6]), false, 'teacher/a');
    const vars = new Map<string, tf.Variable>([
      ['student/a', a],
      ['teacher/a', b],
    ]);
    for (const step of [1, 2, 3, 4]) {
      a.assign(tf.fill([2, 2], step));
      await saveCheckpoint(dir, vars, meta(step), 2);
    }
    expect(listCheckpoints(dir).map((c) => c.step)).toEqual([3, 4]);
    expect(readdirSync(dir).sort()).toEqual([
      'latest.json',
      'step-00000003.json',
      'step-00000003.safetensors',
      'step-00000004.json',
      'step-00000004.safetensors',
    ]);
    const loaded = readCheckpoint(dir);
    expect(loaded.meta.step).toBe(4);
    expect(loaded.meta.rngState).toEqual([1, 2, 3, 4]);
    expect([...(loaded.tensors.get('student/a')?.data ?? [])]).toEqual([4, 4, 4, 4]);
    a.assign(tf.zeros([2, 2]));
    restoreVariables(loaded.tensors, new Map([['student/a', a]]), ['student'], tf);
    expect([...a.dataSync()]).toEqual([4, 4, 4, 4]);
  });

  it('ignores half-written checkpoints (tensors without sidecar, temporary files) and cleans stale temporaries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-ckpt-'));
    const v = tf.variable(tf.tensor1d([1]), true, 'student/v');
    await saveCheckpoint(dir, new Map([['student/v', v]]), meta(5), 3);
    // A crash while writing step 6: the tensors file renamed into place, no sidecar yet; and a stale temp from another process.
    writeFileSync(join(dir, 'step-00000006.safetensors'), 'partial');
    writeFileSync(join(dir, 'step-00000007.safetensors.tmp-999999'), 'partial');
    // writeFileAtomic's names are <path>.tmp-<pid>-<random>: one of a dead writer, one of this (live) process
    writeFileSync(join(dir, 'step-00000007.json.tmp-999999-0a1b2c3d4e5f'), 'partial');
    writeFileSync(join(dir, `latest.json.tmp-${process.pid}-aaaaaaaaaaaa`), 'in progress');
    expect(findLatestCheckpoint(dir)).toBe(join(dir, 'step-00000005.safetensors'));
    expect(readCheckpoint(dir).meta.step).toBe(5);
    expect(() => readCheckpoint(join(dir, 'step-00000006.safetensors'))).toThrow(/no sidecar/);
    await saveCheckpoint(dir, new Map([['student/v', v]]), meta(8), 3);
    expect(existsSync(join(dir, 'step-00000007.safetensors.tmp-999999'))).toBe(false);
    expect(existsSync(join(dir, 'step-00000007.json.tmp-999999-0a1b2c3d4e5f'))).toBe(false);
    expect(existsSync(join(dir, `latest.json.tmp-${process.pid}-aaaaaaaaaaaa`))).toBe(true);
  });

  it('refuses to restore into a model with other keys or shapes, naming them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-ckpt-'));
    const v = tf.variable(tf.tensor1d([1, 2]), true, 'student/v');
    await saveCheckpoint(dir, new Map([['student/v', v]]), meta(1), 1);
    const { tensors } = readCheckpoint(dir);
    const w = tf.variable(tf.tensor1d([1, 2]), true, 'student/w');
    expect(() => restoreVariables(tensors, new Map([['student/w', w]]), ['student'], tf)).toThrow(
      /missing 1 keys \[student\/w\].*unexpected 1 keys \[student\/v\]/,
    );
    const wide = tf.variable(tf.tensor1d([1, 2, 3]), true, 'student/v2');
    expect(() => restoreVariables(tensors, new Map([['student/v', wide]]), ['student'], tf)).toThrow(/\[2\].*\[3\]/);
  });
});
