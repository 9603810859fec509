/**
 * The training input: the same views whatever the number of worker threads and prefetch depth, per-clip seeding
 * (independent of the step and of who draws the clip), exact resume, and unreadable videos of several kinds
 * replaced deterministically, counted, and listed when there are too many.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from '@lss/core';
import type { HostVideo, SvtViewConfig, VideoSample } from '@lss/data';
import { clipViewSeed, generateSyntheticDataset } from '@lss/data/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClipSource, FileClipSource, type InputState, MemoryClipSource, StepPlanner, svtViewConfig, TrainInput } from './data.js';
import type { HostBatch } from './train-step.js';

const viewConfig: SvtViewConfig = svtViewConfig({
  numGlobal: 2,
  numLocal: 2,
  numFrames: 2,
  globalSize: 16,
  localSize: 8,
  globalScale: [0.4, 1],
  localScale: [0.05, 0.4],
  flip: 0.5,
  colorJitter: 0.8,
  grayscale: 0.2,
  blur: [1, 0.1, 0.5],
  solarize: 0.2,
});

let dir = '';
let good: string[] = [];
const sample = (path: string): VideoSample => ({ path, label: 0, className: 'x' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lss-train-input-'));
  const synth = await generateSyntheticDataset({
    dir: join(dir, 'synth'),
    numClasses: 2,
    videosPerClass: 3,
    width: 32,
    height: 32,
    numFrames: 8,
    seed: 3,
  });
  good = [...synth.files];
  const bytes = readFileSync(good[0] as string);
  copyFileSync(fileURLToPath(new URL('./__fixtures__/no_moov.mp4', import.meta.url)), join(dir, 'no_moov.mp4'));
  writeFileSync(join(dir, 'truncated.avi'), bytes.subarray(0, Math.floor(bytes.length * 0.75)));
  writeFileSync(join(dir, 'empty.mp4'), new Uint8Array(0));
  writeFileSync(
    join(dir, 'garbage.avi'),
    Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251),
  );
  writeFileSync(join(dir, 'notes.mp4'), 'a text file named like a video\n');
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Takes steps [from, to) and returns their batches and the input state after each. */
async function takeSteps(input: TrainInput, from: number, to: number): Promise<{ batches: HostBatch[][]; states: InputState[] }> {
  const batches: HostBatch[][] = [];
  const states: InputState[] = [];
  for (let s = from; s < to; s++) {
    batches.push(await input.take(s, to));
    states.push(input.state());
  }
  await input.close();
  return { batches, states };
}

function expectSameBatches(a: HostBatch[][], b: HostBatch[][]): void {
  expect(b.length).toBe(a.length);
  a.forEach((step, s) =>
    step.forEach((batch, m) =>
      batch.views.forEach((view, v) => {
        const other = b[s]?.[m]?.views[v];
        expect(other?.shape, `step ${s} micro-batch ${m} view ${v}`).toEqual(view.shape);
        expect(Buffer.from((other as HostVideo).data.buffer).equals(Buffer.from(view.data.buffer)), `step ${s} view ${v}`).toBe(true);
      }),
    ),
  );
}

const paths = (state: InputState) => state.badVideos.map((b) => b.path);
/** The whole state, reasons included: ffmpeg's context addresses are stripped, so the same file gives the same reason in every process. */
const counts = (state: InputState) => state;

describe('TrainInput', () => {
  it('gives the same views for 0, 1 or 2 worker threads and any prefetch depth, and a resumed input continues exactly', async () => {
    // 6 readable videos and 2 unreadable ones (25 %), batch 2: 4 steps per epoch, 5 steps cross into epoch 1.
    const samples = [...good, join(dir, 'no_moov.mp4'), join(dir, 'empty.mp4')].map(sample);
    const make = (numWorkers: number, prefetchSteps: number) => {
      const source = new FileClipSource(samples, { numWorkers });
      const planner = new StepPlanner(source.numClips, 2, 1, 11, null);
      return { source, input: new TrainInput(source, planner, viewConfig, { seed: 11, prefetchSteps, maxBadFraction: 0.3 }) };
    };
    const a = make(0, 0);
    const full = await takeSteps(a.input, 0, 5);
    const b = make(2, 2);
    const parallel = await takeSteps(b.input, 0, 5);
    expect([...b.source.jobsPerWorker.keys()].filter((t) => t !== 0).length).toBe(2); // both worker threads rendered views
    expectSameBatches(full.batches, parallel.batches);
    expect(parallel.states.map(counts)).toEqual(full.states.map(counts));
    // Both unreadable videos are met in these 5 steps (10 draws of 8 clips), replaced, and counted in step order.
    const last = full.states.at(-1) as InputState;
    expect(paths(last).sort()).toEqual([join(dir, 'empty.mp4'), join(dir, 'no_moov.mp4')]);
    expect(last.replacedClips).toBeGreaterThanOrEqual(2);
    // Resume after step 3 (from the state a checkpoint would hold) with another worker count: same views, same counts.
    const c = make(1, 1);
    c.input.restore(full.states[2]);
    const resumed = await takeSteps(c.input, 3, 5);
    expectSameBatches(full.batches.slice(3), resumed.batches);
    expect(resumed.states.map(counts)).toEqual(full.states.slice(3).map(counts));
    await Promise.all([a.source.close(), b.source.close(), c.source.close()]);
  }, 600_000);

  it('with cacheFrames (each video decoded once, kept by one worker) the views do not depend on the worker count either', async () => {
    const samples = good.map(sample);
    const run = async (numWorkers: number) => {
      const source = new FileClipSource(samples, { numWorkers, cacheFrames: true });
      const input = new TrainInput(source, new StepPlanner(source.numClips, 2, 1, 5, null), viewConfig, { seed: 5 });
      const r = await takeSteps(input, 0, 3);
      await source.close();
      return r.batches;
    };
    expectSameBatches(await run(0), await run(2));
  }, 600_000);

  it('seeds the views per clip: (seed, epoch, clip), not the step, position or rank that draws it', async () => {
    const source = new MemoryClipSource({ numClasses: 2, videosPerClass: 3, numFrames: 8, size: 32, seed: 0 });
    const planner = new StepPlanner(source.numClips, 3, 1, 9, null);
    const input = new TrainInput(source, planner, viewConfig, { seed: 9 });
    for (const step of [0, 1, 3]) {
      const [batch] = await input.take(step);
      const epoch = Math.floor(step / planner.stepsPerEpoch);
      for (const [b, clip] of (planner.clipsOf(step)[0] as number[]).entries()) {
        const alone = await source.views(clip, viewConfig, clipViewSeed(9, epoch, clip));
        alone.forEach((view, v) => {
          const per = view.data.length;
          expect(
            Array.from((batch as HostBatch).views[v]?.data.subarray(b * per, (b + 1) * per) ?? []),
            `step ${step} clip ${clip}`,
          ).toEqual(Array.from(view.data));
        });
      }
    }
    await input.close();
  }, 600_000);

  it('replaces unreadable videos of every kind, including one deleted during the run, and stops with the list above maxBadFraction', async () => {
    const vanishing = join(dir, 'vanishing.avi');
    copyFileSync(good[1] as string, vanishing);
    const broken = ['no_moov.mp4', 'truncated.avi', 'empty.mp4', 'garbage.avi', 'notes.mp4'].map((n) => join(dir, n));
    const samples = [...good, ...broken, vanishing].map(sample);
    const source = new FileClipSource(samples, { numWorkers: 1 });
    const planner = new StepPlanner(source.numClips, 4, 1, 2, null); // 12 clips, 3 steps per epoch: every clip is drawn after step 0
    const seen: string[] = [];
    const input = new TrainInput(source, planner, viewConfig, {
      seed: 2,
      maxBadFraction: 0.5,
      prefetchSteps: 0,
      onBadVideo: (b) => seen.push(b.path),
    });
    await input.take(0);
    rmSync(vanishing); // gone from the next step on
    for (let s = 1; s < 6; s++) {
      const batches = await input.take(s);
      expect(batches[0]?.views[0]?.shape).toEqual([4, 2, 16, 16, 3]); // always a full batch
    }
    await input.close();
    const state = input.state();
    expect(paths(state).sort()).toEqual([...broken, vanishing].sort());
    expect(seen.sort()).toEqual(paths(state).sort());
    const reason = (name: string) => state.badVideos.find((b) => b.path.endsWith(name))?.reason ?? '';
    expect(reason('no_moov.mp4')).toContain('moov atom not found');
    expect(reason('truncated.avi')).toContain('truncated');
    expect(reason('empty.mp4')).toContain('0 bytes');
    expect(reason('notes.mp4')).toContain('not a video');
    expect(reason('vanishing.avi')).toContain('Video not found');
    expect(state.replacedClips).toBeGreaterThanOrEqual(6);
    expect(input.summary()).toContain('6 unreadable training video(s)');
    // The same data with the default 10 %: the run stops at the first step after which 2 or more are known.
    const strict = new TrainInput(source, planner, viewConfig, { seed: 2, prefetchSteps: 1 });
    const error = await (async () => {
      for (let s = 0; s < 6; s++) await strict.take(s, 6);
    })().catch((e: unknown) => e);
    await strict.close();
    await source.close();
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toMatch(
      /^[2-6] of 12 training videos could not be read \(by step \d\), more than data.maxBadFraction = 0.1/,
    );
    expect((error as Error).message).toContain('--set data.maxBadFraction=');
  }, 600_000);

  it('an error that is not a DataError (a bug, a dead worker) is not taken for a bad video', async () => {
    const inner = new MemoryClipSource({ numClasses: 1, videosPerClass: 4, numFrames: 8, size: 32, seed: 0 });
    const failing: ClipSource = {
      numClips: inner.numClips,
      views: (i, c, s) => (i === 2 ? Promise.reject(new TypeError('boom')) : inner.views(i, c, s)),
    };
    const input = new TrainInput(failing, new StepPlanner(4, 4, 1, 0, null), viewConfig, { seed: 0 });
    await expect(input.take(0)).rejects.toThrow('boom');
    await input.close();
  }, 600_000);
});
