/**
 * Unreadable training videos end to end (issue 15): lss-train finishes on a folder holding broken files of
 * several kinds, with the replaced clips and the bad videos in metrics.jsonl and the end summary; too many stop
 * the run with the list (no stack trace); and a run with unreadable clips still resumes exactly.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.js';
import { main } from './cli.js';
import { loadConfig } from './config/load.js';
import { type ClipSource, MemoryClipSource } from './data.js';
import { readMetrics } from './metrics.js';
import { runTraining } from './run.js';
import { NO_MOOV_MP4, tinyRunOverrides, twoClassVideoFolder } from './test-helpers.js';

afterEach(() => tf.disposeVariables());

const cacheDir = mkdtempSync(join(tmpdir(), 'lss-input-concepts-'));
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `lss-${name}-`));
const tiny = (workdir: string) => [...tinyRunOverrides(workdir, cacheDir), 'logging.every=1', 'training.batchSize=2', 'checkpoint.every=2'];

describe('unreadable training videos', () => {
  it('lss-train finishes on a folder with broken files and reports them; above data.maxBadFraction it stops with the list', async () => {
    const folder = await twoClassVideoFolder(tmp('broken-folder'), 3);
    copyFileSync(NO_MOOV_MP4, join(folder, 'a', 'no_moov.mp4'));
    writeFileSync(join(folder, 'b', 'empty.mp4'), new Uint8Array(0));
    writeFileSync(join(folder, 'b', 'notes.mp4'), 'a text file named like a video\n');
    const broken = [join(folder, 'a', 'no_moov.mp4'), join(folder, 'b', 'empty.mp4'), join(folder, 'b', 'notes.mp4')].sort();
    const workdir = tmp('broken-run');
    const args = (maxBadFraction?: number) => [
      '--config',
      'lss-tiny-synthetic',
      ...[
        ...tiny(workdir),
        `data=${JSON.stringify({ kind: 'folder', root: folder, numWorkers: 1, ...(maxBadFraction !== undefined ? { maxBadFraction } : {}) })}`,
      ].flatMap((s) => ['--set', s]),
      '--backend',
      'cpu',
      '--max-steps',
      '5',
      '--no-resume',
    ];
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    // 3 of 9 videos unreadable: more than the default 10 %.
    expect(await main(args(), io)).toBe(1);
    const message = err.join('\n');
    expect(message).toMatch(/DataError: \d of 9 training videos could not be read \(by step \d\), more than data.maxBadFraction = 0.1/);
    expect(message).not.toMatch(/\n\s+at /);
    // Allowed up to 40 %: the run finishes; the summary and metrics.jsonl count what was replaced.
    out.length = 0;
    err.length = 0;
    expect(await main(args(0.4), io), err.join('\n')).toBe(0);
    const summary = JSON.parse(out.at(-1) as string) as {
      step: number;
      replacedClips: number;
      badVideos: { path: string; reason: string }[];
    };
    expect(summary.step).toBe(5);
    // Damage counts are in the summary too (no damaged but readable video in this folder).
    expect(summary).toMatchObject({ substitutedFrames: 0, damagedClips: 0, damagedVideos: [] });
    const met = summary.badVideos.map((b) => b.path).sort();
    expect(met.length).toBeGreaterThanOrEqual(2); // 10 draws of 9 clips
    for (const p of met) expect(broken).toContain(p);
    expect(summary.replacedClips).toBeGreaterThanOrEqual(met.length);
    const records = readMetrics(join(workdir, 'metrics.jsonl'));
    expect(records.map((r) => r.step)).toEqual([0, 1, 2, 3, 4]);
    expect(records.at(-1)?.replacedClips).toBe(summary.replacedClips);
    expect(records.at(-1)?.badVideos).toBe(met.length);
    for (let i = 1; i < records.length; i++) expect(records[i]?.replacedClips).toBeGreaterThanOrEqual(records[i - 1]?.replacedClips ?? 0);
    for (const r of records) expect(Number.isFinite(r.loss)).toBe(true);
  }, 600_000);

  it('a run whose clips are partly unreadable resumes exactly: same losses, same counts, same checkpoint', async () => {
    /** 8 in-memory clips; clips 1 and 6 cannot be read; clip 3 decodes with 2 frames substituted and a decoder error. */
    const source = (): ClipSource => {
      const inner = new MemoryClipSource({ numClasses: 2, videosPerClass: 4, numFrames: 8, size: 32, seed: 0 });
      const views: ClipSource['views'] = (i, c, s) =>
        i === 1 || i === 6 ? Promise.reject(new DataError(`moov atom not found in clip-${i}.avi`)) : inner.views(i, c, s);
      return {
        numClips: inner.numClips,
        name: (i) => `clip-${i}.avi`,
        views,
        load: async (i, c, s) => ({
          views: await views(i, c, s),
          substitutedFrames: i === 3 ? 2 : 0,
          decoderErrors: i === 3 ? ['mpeg4: ac-tex damaged at 1 1'] : [],
        }),
      };
    };
    const config = (workdir: string) =>
      loadConfig('lss-tiny-synthetic', { overrides: [...tiny(workdir), 'training.maxSteps=6', 'data.maxBadFraction=0.3', 'backend=cpu'] });
    const quiet = { log: () => undefined, exportTowers: false };
    const losses = (into: Map<number, number>) => (step: number, r: { loss: number } | null) => {
      if (r) into.set(step, r.loss);
    };
    const full = new Map<number, number>();
    const fullDir = tmp('bad-full');
    const a = await runTraining(config(fullDir), { ...quiet, source: source(), onStep: losses(full) });
    expect(a.input.badVideos.map((b) => b.path).sort()).toEqual(['clip-1.avi', 'clip-6.avi']);
    expect(a.input.replacedClips).toBeGreaterThanOrEqual(2);
    // Clip 3 is drawn once per epoch (6 steps of batch 2 over 8 clips: epoch 0 and part of epoch 1), and maybe as a replacement.
    expect(a.input.damagedVideos).toEqual([
      {
        clip: 3,
        path: 'clip-3.avi',
        reason: '2 frame(s) substituted by a repeat of the last decoded frame; decoder: mpeg4: ac-tex damaged at 1 1',
      },
    ]);
    expect(a.input.damagedClips).toBeGreaterThanOrEqual(1);
    expect(a.input.substitutedFrames).toBe(2 * a.input.damagedClips);
    const last = readMetrics(join(fullDir, 'metrics.jsonl')).at(-1);
    expect(last).toMatchObject({ substitutedFrames: a.input.substitutedFrames, damagedClips: a.input.damagedClips });
    const parted = new Map<number, number>();
    const partDir = tmp('bad-part');
    await runTraining(config(partDir), { ...quiet, source: source(), onStep: losses(parted), stopAfterStep: 3 });
    tf.disposeVariables();
    const b = await runTraining(config(partDir), { ...quiet, source: source(), onStep: losses(parted) });
    expect(b.resumedFrom).toBe(3);
    for (const [step, loss] of full) expect(parted.get(step), `step ${step}`).toBeCloseTo(loss, 5);
    expect(b.input.replacedClips).toBe(a.input.replacedClips);
    expect(b.input.badVideos).toEqual(a.input.badVideos);
    expect(b.input.damagedVideos).toEqual(a.input.damagedVideos);
    expect([b.input.damagedClips, b.input.substitutedFrames]).toEqual([a.input.damagedClips, a.input.substitutedFrames]);
    const counts = (dir: string) =>
      readMetrics(join(dir, 'metrics.jsonl')).map((r) => [r.step, r.replacedClips, r.badVideos, r.substitutedFrames, r.damagedClips]);
    expect(counts(partDir)).toEqual(counts(fullDir));
    expect(readCheckpoint(join(partDir, 'checkpoints')).meta.input).toEqual(readCheckpoint(join(fullDir, 'checkpoints')).meta.input);
    expect(JSON.parse(readFileSync(join(fullDir, 'config.json'), 'utf8')).data.maxBadFraction).toBe(0.3);
  }, 600_000);
});
