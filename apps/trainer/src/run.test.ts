/**
 * End-to-end runs on the tiny CLIP fixture (fixtures/clip-tiny): the CLI on a generated synthetic
 * dataset (real video files through ffmpeg), exact resume, objectives from module files and by
 * injection, and the non-finite stop. Concept spaces are limited to a few categories and cached in a
 * temporary folder shared by the tests of this file.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Objective } from '@lss/objectives';
import { maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.js';
import { main } from './cli.js';
import { loadConfig } from './config/load.js';
import { MemoryClipSource } from './data.js';
import { createFeatureAlignment } from './experiments/feature-alignment.js';
import { readMetrics } from './metrics.js';
import { type RunOptions, runTraining } from './run.js';
import { tinyRunOverrides } from './test-helpers.js';

afterEach(() => tf.disposeVariables());

const cacheDir = mkdtempSync(join(tmpdir(), 'lss-concepts-'));
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `lss-${name}-`));

/** The shipped tiny config, made tinier: 6 categories, 2-frame views, batch 2, no TTY output. */
function tinyOverrides(workdir: string): string[] {
  return [
    ...tinyRunOverrides(workdir, cacheDir),
    'training.batchSize=2',
    'training.epochs=2',
    'checkpoint.every=2',
    'checkpoint.keepLast=2',
    'logging.every=1',
  ];
}

const memorySource = () => new MemoryClipSource({ numClasses: 2, videosPerClass: 4, numFrames: 8, size: 32, seed: 0 });
const quiet: RunOptions = { log: () => undefined, exportTowers: false };

describe('lss-train end to end (tiny CLIP, generated synthetic videos)', () => {
  it('trains through the CLI, logs finite terms to JSONL, writes a checkpoint that reloads, and resumes', async () => {
    const workdir = tmp('e2e');
    const data = join(tmp('synthetic'), 'data');
    const args = [
      '--config',
      'lss-tiny-synthetic',
      ...tinyOverrides(workdir).flatMap((s) => ['--set', s]),
      '--set',
      `data.root=${data}`,
      '--set',
      'data.numClasses=2',
      '--set',
      'data.videosPerClass=3',
      '--set',
      'data.numFrames=8',
      '--set',
      'data.size=32',
      '--backend',
      'cpu',
      '--max-steps',
      '3',
    ];
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const before = tf.memory().numTensors;
    expect(await main(args, io)).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
    // Which ffmpeg decodes the videos: path, version and why it was chosen.
    expect(out.some((l) => /^lss-train: ffmpeg: \S+, version \S+ \((the bundled|from LSS_FFMPEG|the first ffmpeg on PATH)/.test(l))).toBe(
      true,
    );
    const summary = JSON.parse(out.at(-1) as string) as { step: number; checkpoint: string; plot: string };
    expect(summary.step).toBe(3);
    const records = readMetrics(join(workdir, 'metrics.jsonl'));
    expect(records.map((r) => r.step)).toEqual([0, 1, 2]);
    for (const r of records) {
      expect(Number.isFinite(r.loss)).toBe(true);
      for (const name of ['concept-distillation/loss', 'concept-alignment/loss', 'uniform-prior/loss'])
        expect(r.terms[name]).toSatisfy(Number.isFinite);
    }
    const svg = readFileSync(summary.plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('learning-rate schedule');
    expect(svg).toContain('concept-distillation/loss');
    expect(svg.match(/<path /g)?.length).toBe(5); // total + 3 objectives + lr
    const ckpt = readCheckpoint(join(workdir, 'checkpoints'));
    expect(ckpt.meta.step).toBe(3);
    expect(ckpt.meta.config).toMatchObject({ name: 'lss-tiny-synthetic', training: { maxSteps: 3 } });
    const keys = [...ckpt.tensors.keys()];
    expect(keys.some((k) => k.startsWith('student/blocks/1/temporalAttn/'))).toBe(true);
    expect(keys.some((k) => k.startsWith('teacher/'))).toBe(true);
    expect(keys).toContain('optimizer/student/proj/m');
    expect(keys.filter((k) => k.startsWith('student/')).length).toBe(keys.filter((k) => k.startsWith('teacher/')).length);
    // Run again with a larger budget: resumes from step 3, runs step 3 only.
    out.length = 0;
    expect(await main([...args.slice(0, -1), '4'], io)).toBe(0);
    expect((JSON.parse(out.at(-1) as string) as { step: number }).step).toBe(4);
    expect(readMetrics(join(workdir, 'metrics.jsonl')).map((r) => r.step)).toEqual([0, 1, 2, 3]);
  });

  it('an interrupted and resumed run equals an uninterrupted one, step by step and in the final weights', async () => {
    const losses =
      (into: Map<number, number>): RunOptions['onStep'] =>
      (step, r) => {
        if (r) into.set(step, r.loss);
      };
    const full = new Map<number, number>();
    const fullDir = tmp('full');
    const config = (workdir: string) =>
      loadConfig('lss-tiny-synthetic', { overrides: [...tinyOverrides(workdir), 'training.maxSteps=5', 'backend=cpu'] });
    const a = await runTraining(config(fullDir), { ...quiet, source: memorySource(), onStep: losses(full) });
    expect(a.step).toBe(5);
    const parted = new Map<number, number>();
    const partDir = tmp('part');
    const b1 = await runTraining(config(partDir), { ...quiet, source: memorySource(), onStep: losses(parted), stopAfterStep: 2 });
    expect(b1.stoppedBy).toBe('stopAfterStep');
    expect(b1.step).toBe(2);
    tf.disposeVariables();
    const b2 = await runTraining(config(partDir), { ...quiet, source: memorySource(), onStep: losses(parted) });
    expect(b2.resumedFrom).toBe(2);
    expect(b2.step).toBe(5);
    expect([...parted.keys()]).toEqual([0, 1, 2, 3, 4]);
    for (const [step, loss] of full) expect(parted.get(step), `step ${step}`).toBeCloseTo(loss, 5);
    const fa = readCheckpoint(join(fullDir, 'checkpoints'));
    const fb = readCheckpoint(join(partDir, 'checkpoints'));
    expect([...fb.tensors.keys()]).toEqual([...fa.tensors.keys()]);
    for (const [k, t] of fa.tensors) expect(maxAbsDiff(t.data, fb.tensors.get(k)?.data ?? []), k).toBeLessThan(1e-5);
    expect(fb.meta.rngState).toEqual(fa.meta.rngState);
    expect(fb.meta.optimizerStep).toBe(5);
    // The metrics file of the resumed run holds each step once.
    expect(readMetrics(join(partDir, 'metrics.jsonl')).map((r) => r.step)).toEqual([0, 1, 2, 3, 4]);
  });

  it('stops on SIGINT after the current step with a checkpoint', async () => {
    const workdir = tmp('signal');
    const config = loadConfig('lss-tiny-synthetic', { overrides: [...tinyOverrides(workdir), 'training.maxSteps=6', 'backend=cpu'] });
    const result = await runTraining(config, {
      ...quiet,
      source: memorySource(),
      handleSignals: true,
      onStep: (step) => {
        if (step === 1) process.emit('SIGINT', 'SIGINT');
      },
    });
    expect(result.stoppedBy).toBe('signal');
    expect(result.step).toBe(2);
    expect(readCheckpoint(join(workdir, 'checkpoints')).meta.step).toBe(2);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});

describe('swapping objectives', () => {
  it('loads an objective factory from a module file named in the config', async () => {
    const workdir = tmp('module');
    const module = resolve(import.meta.dirname, 'experiments/feature-alignment.ts');
    const config = loadConfig('lss-tiny-synthetic', {
      overrides: [
        ...tinyOverrides(workdir),
        'training.maxSteps=2',
        'backend=cpu',
        `objectives=[{"name": "concept-distillation", "spaces": ["category"]}, {"name": "module", "module": "${module}", "weight": 0.5, "options": {"sameView": true}}]`,
      ],
    });
    const seen: string[][] = [];
    await runTraining(config, { ...quiet, source: memorySource(), onStep: (_, r) => seen.push(Object.keys(r?.terms ?? {})) });
    expect(seen[0]).toEqual(expect.arrayContaining(['concept-distillation/loss', 'feature-alignment/loss', 'feature-alignment/pairs']));
    expect(seen[0]?.some((k) => k.startsWith('concept-alignment/') || k.startsWith('uniform-prior/'))).toBe(false);
    const records = readMetrics(join(workdir, 'metrics.jsonl'));
    expect(records[0]?.terms['feature-alignment/pairs']).toBe(8); // 2 teacher views x 4 student views (same view included)
    const bad = loadConfig('lss-tiny-synthetic', {
      overrides: [...tinyOverrides(tmp('bad')), `objectives=[{"name": "module", "module": "${module}", "export": "nope"}]`],
    });
    await expect(runTraining(bad, { ...quiet, source: memorySource() })).rejects.toThrow(
      /no function export "nope".*createFeatureAlignment/,
    );
  });

  it('trains the dino baseline (an objective with its own trainable head) and resumes it exactly', async () => {
    const dino = '[{"name": "dino", "outDim": 64, "hiddenDim": 32, "bottleneckDim": 16}]';
    const config = (workdir: string) =>
      loadConfig('lss-tiny-synthetic', {
        overrides: [...tinyOverrides(workdir), 'training.maxSteps=3', 'backend=cpu', `objectives=${dino}`],
      });
    const fullDir = tmp('dino-full');
    await runTraining(config(fullDir), { ...quiet, source: memorySource() });
    const partDir = tmp('dino-part');
    await runTraining(config(partDir), { ...quiet, source: memorySource(), stopAfterStep: 1 });
    tf.disposeVariables();
    await runTraining(config(partDir), { ...quiet, source: memorySource() });
    const fa = readCheckpoint(join(fullDir, 'checkpoints'));
    const fb = readCheckpoint(join(partDir, 'checkpoints'));
    const headKeys = [...fa.tensors.keys()].filter((k) => k.startsWith('objectives/dino/'));
    expect(headKeys.some((k) => k.includes('/student/'))).toBe(true);
    expect(headKeys.some((k) => k.includes('/teacher/'))).toBe(true);
    expect([...fa.tensors.keys()].some((k) => k.startsWith('optimizer/objectives/dino/student/'))).toBe(true);
    expect([...fb.tensors.keys()]).toEqual([...fa.tensors.keys()]);
    for (const [k, t] of fa.tensors) expect(maxAbsDiff(t.data, fb.tensors.get(k)?.data ?? []), k).toBeLessThan(1e-5);
  });

  it('injected objectives replace the configured ones; N non-finite steps in a row stop the run with a checkpoint', async () => {
    const workdir = tmp('nan');
    const config = loadConfig('lss-tiny-synthetic', {
      overrides: [...tinyOverrides(workdir), 'training.maxSteps=6', 'logging.maxNonFiniteSteps=2', 'backend=cpu'],
    });
    let calls = 0;
    const flaky: Objective = {
      id: 'flaky',
      terms: (inputs) => {
        calls += 1;
        const base = tf.mean(tf.square(inputs.student.category?.[0] as tf.Tensor)) as tf.Scalar;
        return { loss: calls === 1 ? base : (tf.mul(base, Number.NaN) as tf.Scalar) }; // finite once, then NaN
      },
      dispose: () => undefined,
    };
    const result = await runTraining(config, { ...quiet, source: memorySource(), objectives: [createFeatureAlignment(), flaky] });
    expect(result.stoppedBy).toBe('non-finite');
    expect(result.step).toBe(3);
    const records = readMetrics(join(workdir, 'metrics.jsonl'));
    expect(records.map((r) => [r.step, r.nonFinite ?? false])).toEqual([
      [0, false],
      [1, true],
      [2, true],
    ]);
    expect(Number.isNaN(records[1]?.terms['flaky/loss'])).toBe(true);
    const ckpt = readCheckpoint(join(workdir, 'checkpoints'));
    expect(ckpt.meta.step).toBe(3);
    expect(ckpt.meta.nonFiniteStreak).toBe(2);
    expect(ckpt.meta.optimizerStep).toBe(1); // only the finite step updated the weights
  });
});
