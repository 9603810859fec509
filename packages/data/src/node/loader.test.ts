import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { VideoBatch } from '../batch.js';
import type { VideoSample } from '../types.js';
import { SVT_VIEW_CONFIG, type SvtViewConfig, TEST_VIEW_CONFIG_4X3 } from '../views.js';
import { makeTempDir, TEST_FFMPEG, writeBadFiles } from './__fixtures__/videos.js';
import { type EpochReport, formatEpochReport, type SkippedVideo, VideoLoader, type VideoLoaderOptions } from './loader.js';
import { readUcf101 } from './readers.js';
import { generateSyntheticDataset } from './synthetic-dataset.js';

/** SVT's structure at toy sizes so the tests stay fast. */
const SMALL: SvtViewConfig = { ...SVT_VIEW_CONFIG, numLocalViews: 2, numGlobalFrames: 4, numLocalFrames: 4, globalSize: 32, localSize: 16 };

async function syntheticSamples(): Promise<VideoSample[]> {
  const ds = await generateSyntheticDataset({
    dir: makeTempDir('loader'),
    numClasses: 2,
    videosPerClass: 4,
    numFrames: 16,
    ffmpegPath: TEST_FFMPEG,
  });
  const train = readUcf101({ videosDir: ds.videosDir, annotationsDir: ds.annotationsDir, split: 1, subset: 'train' });
  const test = readUcf101({ videosDir: ds.videosDir, annotationsDir: ds.annotationsDir, split: 1, subset: 'test' });
  return [...train.samples, ...test.samples];
}

async function collect(loader: VideoLoader, epoch = 0, delayMs = 0): Promise<{ batches: VideoBatch[]; report: EpochReport }> {
  const batches: VideoBatch[] = [];
  const iterator = loader.epoch(epoch);
  for (;;) {
    const next = await iterator.next();
    if (next.done) return { batches, report: next.value };
    batches.push(next.value);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  }
}

/** CPU seconds of this process (all threads) plus its finished children (the ffmpeg subprocesses). */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  if (!existsSync('/proc/self/stat')) return Number.NaN; // Linux only; the utilisation is only printed
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": field 3 is state; cutime and cstime are fields 16 and 17 (1-based) of the full line.
  const children = (Number(fields[13]) + Number(fields[14])) / 100;
  return (own.user + own.system) / 1e6 + children;
}

describe('VideoLoader', () => {
  it('yields full batches of host views, skips and reports every bad file, never aborts the epoch', async () => {
    const good = await syntheticSamples();
    const bad = await writeBadFiles(makeTempDir('loader-bad'));
    const badSamples: VideoSample[] = [bad.truncatedMp4, bad.truncatedAvi, bad.zeroBytes, bad.audioOnly, bad.textAsMp4].map((path) => ({
      path,
      label: 0,
      className: 'MoveLeft',
    }));
    // Interleave bad files among good ones.
    const samples = [
      good[0]!,
      badSamples[0]!,
      good[1]!,
      badSamples[1]!,
      badSamples[2]!,
      good[2]!,
      badSamples[3]!,
      good[3]!,
      badSamples[4]!,
      ...good.slice(4),
    ];
    const warnings: SkippedVideo[] = [];
    const reports: EpochReport[] = [];
    const loader = new VideoLoader({
      dataset: samples,
      batchSize: 3,
      views: { mode: 'train', config: SMALL },
      numWorkers: 2,
      ffmpegPath: TEST_FFMPEG,
      onWarning: (w) => warnings.push(w),
      onEpochEnd: (r) => reports.push(r),
    });
    try {
      const { batches, report } = await collect(loader);
      expect(report.numSamples).toBe(13);
      expect(report.numLoaded).toBe(8);
      expect(report.numSkipped).toBe(5);
      expect(new Set(report.skipped.map((s) => s.path))).toEqual(new Set(badSamples.map((s) => s.path)));
      const reason = (p: string) => report.skipped.find((s) => s.path === p)!.reason;
      expect(reason(bad.zeroBytes)).toMatch(/0 bytes/);
      expect(reason(bad.audioOnly)).toMatch(/no video stream/);
      expect(reason(bad.truncatedAvi)).toMatch(/truncated/);
      expect(reason(bad.textAsMp4)).toMatch(/cannot read/);
      expect(warnings).toHaveLength(5);
      expect(reports).toEqual([report]);
      expect(loader.lastReport).toEqual(report);
      // 8 good samples in batches of 3: 3 + 3 + 2; batches stay full despite skips.
      expect(batches.map((b) => b.samples.length)).toEqual([3, 3, 2]);
      const first = batches[0]!;
      expect(first.numGlobalViews).toBe(2);
      expect(first.views.map((v) => v.shape)).toEqual([
        [3, 4, 32, 32, 3],
        [3, 4, 32, 32, 3],
        [3, 4, 16, 16, 3],
        [3, 4, 16, 16, 3],
      ]);
      expect(first.views[0]?.data).toBeInstanceOf(Float32Array);
      expect(first.views[0]?.data.length).toBe(3 * 4 * 32 * 32 * 3);
      expect(first.views[0]?.data.every(Number.isFinite)).toBe(true);
      expect([...first.labels]).toEqual(first.samples.map((s) => s.label));
    } finally {
      await loader.close();
    }
  });

  it('is deterministic under a seed, whatever the worker count and completion order', async () => {
    const samples = (await syntheticSamples()).slice(0, 4);
    const make = (numWorkers: number, seed: number) =>
      new VideoLoader({
        dataset: samples,
        batchSize: 2,
        views: { mode: 'train', config: SMALL },
        numWorkers,
        seed,
        ffmpegPath: TEST_FFMPEG,
      });
    const a = make(2, 7);
    const b = make(0, 7);
    const c = make(2, 8);
    try {
      const [ra, rb, rc] = [await collect(a, 1), await collect(b, 1), await collect(c, 1)];
      expect(ra.batches.map((x) => x.samples.map((s) => s.path))).toEqual(rb.batches.map((x) => x.samples.map((s) => s.path)));
      for (let i = 0; i < ra.batches.length; i++) {
        for (let v = 0; v < 4; v++) expect(ra.batches[i]?.views[v]?.data).toEqual(rb.batches[i]?.views[v]?.data);
      }
      expect(rc.batches[0]?.views[0]?.data).not.toEqual(ra.batches[0]?.views[0]?.data);
      // Epochs differ from each other.
      const e2 = await collect(a, 2);
      expect(e2.batches[0]?.views[0]?.data).not.toEqual(ra.batches[0]?.views[0]?.data);
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it('counts substituted frames and decoder errors of damaged videos in the epoch report; batchClips gives the same batches', async () => {
    const trunc = fileURLToPath(new URL('./__fixtures__/cases/trunc75.avi', import.meta.url));
    const samples = [...(await syntheticSamples()).slice(0, 3), { path: trunc, label: 0, className: 'MoveLeft' }];
    const make = (batchClips: number, numWorkers: number) =>
      new VideoLoader({
        dataset: samples,
        batchSize: 2,
        views: { mode: 'test', config: { numClips: 1, numCrops: 1, numFrames: 8, size: 32, normalize: true } },
        numWorkers,
        batchClips,
        ffmpegPath: TEST_FFMPEG,
        onEpochEnd: () => undefined,
      });
    const one = make(1, 1);
    const four = make(4, 1);
    const inThread = make(4, 0);
    try {
      const [a, b, c] = [await collect(one), await collect(four), await collect(inThread)];
      for (const r of [a, b, c]) {
        expect(r.report.numLoaded).toBe(4);
        // The 75 % AVI: its last requested frames are damaged (decoder errors) or past the stream's end (substituted).
        expect(r.report.damaged.map((d) => d.path)).toEqual([trunc]);
        const d = r.report.damaged[0]!;
        expect(d.decoderErrors.length + d.substitutedIndices.length).toBeGreaterThan(0);
        expect(r.report.substitutedFrames).toBe(d.substitutedIndices.length);
        expect(formatEpochReport(r.report)).toMatch(/1 loaded video\(s\) were damaged, \d+ frame\(s\) substituted.*\n {2}.*trunc75\.avi: /);
      }
      expect(b.report).toMatchObject({ damaged: a.report.damaged, substitutedFrames: a.report.substitutedFrames });
      // One ffmpeg process for several clips, or one per clip: the same bytes.
      for (const r of [b, c]) {
        r.batches.forEach((batch, i) => batch.views.forEach((v, k) => expect(v.data).toEqual(a.batches[i]?.views[k]?.data)));
      }
    } finally {
      await Promise.all([one.close(), four.close(), inThread.close()]);
    }
  });

  it('test views: clips x crops in dataset order, no shuffling', async () => {
    const samples = (await syntheticSamples()).slice(0, 2);
    const loader = new VideoLoader({
      dataset: samples,
      batchSize: 2,
      views: { mode: 'test', config: { ...TEST_VIEW_CONFIG_4X3, numFrames: 4, size: 32 } },
      numWorkers: 1,
      ffmpegPath: TEST_FFMPEG,
    });
    try {
      const { batches } = await collect(loader);
      expect(batches).toHaveLength(1);
      expect(batches[0]!.samples.map((s) => s.path)).toEqual(samples.map((s) => s.path));
      expect(batches[0]!.views).toHaveLength(12);
      expect(batches[0]?.views[0]?.shape).toEqual([2, 4, 32, 32, 3]);
      expect(batches[0]!.numGlobalViews).toBe(0);
      // Left and right crops of a 64x48 frame differ.
      expect(batches[0]?.views[0]?.data).not.toEqual(batches[0]?.views[2]?.data);
    } finally {
      await loader.close();
    }
  });

  it('memory is bounded: pending samples never exceed the bound, whatever the dataset size; both workers decode in parallel', async () => {
    const base = await syntheticSamples();
    const options = (n: number): VideoLoaderOptions => ({
      dataset: Array.from({ length: n }, (_, i) => base[i % base.length]!),
      batchSize: 2,
      views: { mode: 'train', config: SMALL },
      numWorkers: 2,
      concurrency: 2,
      prefetchBatches: 1,
      ffmpegPath: TEST_FFMPEG,
    });
    const maxPending: number[] = [];
    for (const n of [8, 24]) {
      const loader = new VideoLoader(options(n));
      try {
        expect(loader.pendingBound).toBe(4); // concurrency 2 + 1 batch of 2
        const wall0 = performance.now();
        const cpu0 = cpuSeconds();
        // A slow consumer: decoding runs ahead until the bound stops it.
        const { batches, report } = await collect(loader, 0, 30);
        const wall = (performance.now() - wall0) / 1000;
        const utilisation = (cpuSeconds() - cpu0) / wall;
        const stats = loader.stats();
        expect(report.numLoaded).toBe(n);
        expect(batches).toHaveLength(n / 2);
        expect(stats.maxInFlight).toBe(2);
        expect(stats.maxPending).toBeLessThanOrEqual(4);
        expect(stats.inFlight + stats.buffered).toBe(0);
        expect(stats.jobsPerWorker.size).toBe(2); // both worker threads did work
        maxPending.push(stats.maxPending);
        console.log(
          `dataset ${n}: maxInFlight ${stats.maxInFlight}, maxPending ${stats.maxPending} (bound ${stats.pendingBound}), ` +
            `jobs per worker ${[...stats.jobsPerWorker.values()].join('/')}, CPU utilisation ${utilisation.toFixed(2)} cores ` +
            `(load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores)`,
        );
      } finally {
        await loader.close();
      }
    }
    // The high-water mark depends on timing (3 or 4 here), but never on the dataset size: 3x the
    // samples stay under the same bound.
    expect(Math.max(...maxPending)).toBeLessThanOrEqual(4);
    expect(maxPending).toHaveLength(2);
  });

  it('a worker thread that dies mid-epoch fails only its own jobs and is replaced; the epoch completes', async () => {
    const base = await syntheticSamples();
    const loader = new VideoLoader({
      dataset: [...base, ...base],
      batchSize: 2,
      views: { mode: 'train', config: SMALL },
      numWorkers: 2,
      ffmpegPath: TEST_FFMPEG,
      onWarning: () => {},
      onEpochEnd: () => {},
    });
    try {
      const iterator = loader.epoch(0);
      const first = await iterator.next();
      expect(first.done).toBe(false);
      // Kill one worker thread while jobs are in flight.
      const internals = loader as unknown as { pool: { workers: { worker: { terminate(): Promise<number> } }[] } };
      await internals.pool.workers[0]!.worker.terminate();
      await expect(
        (async () => {
          for (;;) {
            const next = await iterator.next();
            if (next.done) return next.value;
          }
        })(),
      ).resolves.toMatchObject({ numSamples: 16 });
      const report = loader.lastReport!;
      expect(report.numLoaded + report.numSkipped).toBe(16);
      expect(report.numSkipped).toBeLessThanOrEqual(loader.concurrency);
      for (const skipped of report.skipped) expect(skipped.reason).toMatch(/worker thread exited/);
      // A second epoch runs on the replacement worker(s).
      const again = await collect(loader, 1);
      expect(again.report.numLoaded).toBe(16);
    } finally {
      await loader.close();
    }
  });

  it('runs one epoch at a time', async () => {
    const samples = (await syntheticSamples()).slice(0, 2);
    const loader = new VideoLoader({
      dataset: samples,
      batchSize: 1,
      views: { mode: 'train', config: SMALL },
      numWorkers: 0,
      ffmpegPath: TEST_FFMPEG,
    });
    const first = loader.epoch(0);
    await first.next();
    await expect(loader.epoch(1).next()).rejects.toThrow(/another epoch of this loader is still running/);
    await first.return(undefined as never);
    expect((await collect(loader, 1)).report.numLoaded).toBe(2);
    await loader.close();
  });

  it('validates its options', () => {
    const one = [{ path: '/nowhere/a.mp4', label: 0, className: 'a' }];
    expect(() => new VideoLoader({ dataset: one, batchSize: 0, views: { mode: 'train', config: SMALL } })).toThrow(
      /batchSize must be an integer >= 1; received 0/,
    );
    expect(() => new VideoLoader({ dataset: one, batchSize: 1, numWorkers: -1, views: { mode: 'train', config: SMALL } })).toThrow(
      /numWorkers/,
    );
    expect(() => new VideoLoader({ dataset: [], batchSize: 1, views: { mode: 'train', config: SMALL } })).toThrow(/has no samples/);
  });
});
