/**
 * A parallel, prefetching video loader. Decoding runs as ffmpeg subprocesses and view rendering (crops and
 * augmentations, pure JS) in a pool of worker threads, so neither blocks the caller's event loop. A bounded number
 * of samples is ever pending (in flight or decoded and waiting), whatever the dataset size. A video that cannot be
 * decoded is skipped with a warning, counted, and listed in the epoch report; it never aborts the epoch.
 */
import { availableParallelism } from 'node:os';
import { ConfigError, hashString, SeededRandom } from '@lss/core';
import { collateBatch, type VideoBatch } from '../batch.js';
import type { HostVideo, VideoDataset, VideoInfo, VideoSample } from '../types.js';
import { type SvtViewConfig, type TestViewConfig, validateSvtViewConfig, validateTestViewConfig } from '../views.js';
import type { LoadViewsOptions, ViewRequest } from './clip-views.js';
import { checkBatchClips } from './decode-batcher.js';
import { ViewWorkerPool } from './pool.js';

/**
 * Seed of the augmentations of clip `clip` (its index in the dataset) in epoch `epoch` of a run seeded `seed`.
 * A function of these numbers only, so a clip gets the same views whichever worker thread, rank or resumed
 * process renders it. `draw` (default '') tells apart further draws of the same clip in one epoch (an epoch longer
 * than the dataset, a replacement for an unreadable clip).
 */
export function clipViewSeed(seed: number, epoch: number, clip: number, draw = ''): number {
  return hashString(draw === '' ? `${epoch}:${clip}` : `${epoch}:${clip}:${draw}`, seed);
}

/** Which views the loader produces. */
export type LoaderViews =
  | { readonly mode: 'train'; readonly config: SvtViewConfig }
  | { readonly mode: 'test'; readonly config: TestViewConfig };

/** Options of {@link VideoLoader}. */
export interface VideoLoaderOptions {
  /** The samples to load (a dataset's `samples`, or the dataset itself). */
  readonly dataset: VideoDataset | readonly VideoSample[];
  readonly batchSize: number;
  readonly views: LoaderViews;
  /** Seed of the shuffle and of every sample's augmentations (default 0). */
  readonly seed?: number;
  /** Shuffle each epoch (default: true for train views, false for test views). */
  readonly shuffle?: boolean;
  /** Drop the last incomplete batch (default false). */
  readonly dropLast?: boolean;
  /** Worker threads rendering views (default: available parallelism); 0 renders in the calling thread. */
  readonly numWorkers?: number;
  /** Videos decoded at once (default 2 per worker, at least 2). */
  readonly concurrency?: number;
  /** Decoded batches allowed to wait for the consumer (default 2). Pending samples never exceed `concurrency + prefetchBatches * batchSize`. */
  readonly prefetchBatches?: number;
  readonly ffmpegPath?: string;
  /** Training: decode at most this short side before cropping (default 256). */
  readonly maxShortSide?: number;
  /** Per-video ffmpeg timeout in ms (default 60 000). */
  readonly timeoutMs?: number;
  /**
   * Clips a worker decodes with one ffmpeg process when their jobs arrive together (default `DEFAULT_BATCH_CLIPS`,
   * 4; 1 gives each clip its own process). Larger values pay the process start-up once per group (see
   * `DecodeBatcher`); the frames are the same. A group with a damaged clip is decoded again clip by clip.
   */
  readonly batchClips?: number;
  /** Called once per skipped video (default: `console.warn`). */
  readonly onWarning?: (skipped: SkippedVideo) => void;
  /** Called with the report at the end of each epoch (default: `console.warn` of the summary when something was skipped). */
  readonly onEpochEnd?: (report: EpochReport) => void;
}

/** A video the loader could not use. */
export interface SkippedVideo {
  readonly path: string;
  readonly reason: string;
  /** Position in the dataset. */
  readonly sampleIndex: number;
  readonly epoch: number;
}

/**
 * A video that was used but not decoded cleanly: some requested frames were not delivered (a truncated or damaged
 * stream; each was replaced by a copy of the last decoded frame) or the decoder reported errors (damaged data it
 * concealed).
 */
export interface DamagedVideo {
  readonly path: string;
  /** Position in the dataset. */
  readonly sampleIndex: number;
  readonly epoch: number;
  /** Requested frame indices that were substituted by a repeat of the last decoded frame; empty when none. */
  readonly substitutedIndices: readonly number[];
  /** Error lines of the decoder (at most 8, context addresses stripped); empty when none. */
  readonly decoderErrors: readonly string[];
}

/** Summary of one epoch. */
export interface EpochReport {
  readonly epoch: number;
  readonly numSamples: number;
  readonly numLoaded: number;
  readonly numSkipped: number;
  readonly skipped: readonly SkippedVideo[];
  /** Frames substituted (repeats of the last decoded frame) over the loaded videos of the epoch. */
  readonly substitutedFrames: number;
  /** Loaded videos with substituted frames or decoder errors. */
  readonly damaged: readonly DamagedVideo[];
  readonly numBatches: number;
  readonly seconds: number;
}

/** Counters for tests and monitoring. */
export interface LoaderStats {
  /** Videos being decoded right now. */
  readonly inFlight: number;
  /** Videos decoded and waiting to be batched. */
  readonly buffered: number;
  /** Largest `inFlight` seen. */
  readonly maxInFlight: number;
  /** Largest `inFlight + buffered` seen. */
  readonly maxPending: number;
  /** The bound on `inFlight + buffered`. */
  readonly pendingBound: number;
  /** Jobs completed per worker thread id (0 = calling thread). */
  readonly jobsPerWorker: ReadonlyMap<number, number>;
}

/** Formats an epoch report as one paragraph. */
export function formatEpochReport(report: EpochReport): string {
  const head = `epoch ${report.epoch}: loaded ${report.numLoaded}/${report.numSamples} videos in ${report.numBatches} batches (${report.seconds.toFixed(1)} s)`;
  const damaged = report.damaged;
  const parts: string[] = [];
  if (report.numSkipped === 0) parts.push(`${head}; nothing skipped.`);
  else {
    const list = report.skipped.map((s) => `  ${s.path}: ${s.reason}`).join('\n');
    parts.push(
      `${head}; skipped ${report.numSkipped} unreadable video(s) (run \`lss-data check\` on the dataset to list all bad files):\n${list}`,
    );
  }
  if (damaged.length > 0) {
    const list = damaged.map((d) => `  ${d.path}: ${describeDamage(d)}`).join('\n');
    parts.push(
      `${damaged.length} loaded video(s) were damaged, ${report.substitutedFrames} frame(s) substituted by a repeat of the last decoded frame:\n${list}`,
    );
  }
  return parts.join('\n');
}

/** `3 frame(s) substituted (60, 61, 62); decoder: mpeg4: ac-tex damaged at 1 1` */
export function describeDamage(d: Pick<DamagedVideo, 'substitutedIndices' | 'decoderErrors'>): string {
  const out: string[] = [];
  if (d.substitutedIndices.length > 0)
    out.push(
      `${d.substitutedIndices.length} frame(s) substituted (${d.substitutedIndices.slice(0, 8).join(', ')}${d.substitutedIndices.length > 8 ? ', ...' : ''})`,
    );
  if (d.decoderErrors.length > 0) out.push(`decoder: ${d.decoderErrors.slice(0, 2).join(' | ')}`);
  return out.join('; ');
}

type Outcome =
  | { ok: true; views: HostVideo[]; info: VideoInfo; substitutedIndices: readonly number[]; decoderErrors: readonly string[] }
  | { ok: false; reason: string };

/**
 * Loads batches of views.
 *
 * @example
 * const loader = new VideoLoader({ dataset, batchSize: 4, views: { mode: 'train', config: SVT_VIEW_CONFIG }, seed: 0 });
 * for await (const batch of loader.epoch(0)) trainStep(batch.views, batch.labels); // views[v]: [B, T, H, W, 3]
 * await loader.close();
 */
export class VideoLoader {
  readonly samples: readonly VideoSample[];
  readonly options: VideoLoaderOptions;
  readonly numWorkers: number;
  readonly concurrency: number;
  readonly pendingBound: number;
  /** Report of the last finished epoch. */
  lastReport: EpochReport | undefined;
  private readonly infoCache = new Map<string, VideoInfo>();
  private readonly pool: ViewWorkerPool;
  private inFlight = 0;
  private buffered = 0;
  private maxInFlight = 0;
  private maxPending = 0;
  private closed = false;
  private epochRunning = false;

  constructor(options: VideoLoaderOptions) {
    const samples: readonly VideoSample[] | undefined = Array.isArray(options.dataset)
      ? (options.dataset as readonly VideoSample[])
      : (options.dataset as VideoDataset | undefined)?.samples;
    if (!Array.isArray(samples)) {
      throw new ConfigError(
        `VideoLoader: dataset must be an array of { path, label } samples or a dataset from a reader (readUcf101, readVideoFolder, ...); received ${typeof options.dataset}.`,
      );
    }
    if (samples.length === 0) {
      throw new ConfigError(
        "VideoLoader: the dataset has no samples; expected at least one video. If it came from a reader, check its videosDir (the dataset's `missing` list names the files the reader looked for) and the annotation files.",
      );
    }
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) {
      throw new ConfigError(`VideoLoader: batchSize must be an integer >= 1; received ${options.batchSize}.`);
    }
    const views = options.views as VideoLoaderOptions['views'] | undefined;
    if (!views || (views.mode !== 'train' && views.mode !== 'test') || typeof views.config !== 'object' || views.config === null) {
      throw new ConfigError(
        `VideoLoader: views must be { mode: 'train', config: SvtViewConfig } or { mode: 'test', config: TestViewConfig }; received ${JSON.stringify(views)}. E.g. { mode: 'train', config: SVT_VIEW_CONFIG }.`,
      );
    }
    if (views.mode === 'train') validateSvtViewConfig(views.config);
    else validateTestViewConfig(views.config);
    if (options.batchClips !== undefined) checkBatchClips(options.batchClips, 'VideoLoader');
    const numWorkers = options.numWorkers ?? Math.max(1, Math.min(availableParallelism(), 8));
    if (!Number.isInteger(numWorkers) || numWorkers < 0)
      throw new ConfigError(`VideoLoader: numWorkers must be an integer >= 0; received ${numWorkers}.`);
    const concurrency = options.concurrency ?? Math.max(2, 2 * numWorkers);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new ConfigError(`VideoLoader: concurrency must be an integer >= 1; received ${concurrency}.`);
    const prefetch = options.prefetchBatches ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0)
      throw new ConfigError(`VideoLoader: prefetchBatches must be an integer >= 0; received ${prefetch}.`);
    this.samples = samples;
    this.options = options;
    this.numWorkers = numWorkers;
    this.concurrency = concurrency;
    this.pendingBound = concurrency + Math.max(1, prefetch) * options.batchSize;
    this.pool = new ViewWorkerPool(numWorkers);
  }

  /** Current counters (see {@link LoaderStats}). */
  stats(): LoaderStats {
    return {
      inFlight: this.inFlight,
      buffered: this.buffered,
      maxInFlight: this.maxInFlight,
      maxPending: this.maxPending,
      pendingBound: this.pendingBound,
      jobsPerWorker: new Map(this.pool.jobsPerWorker),
    };
  }

  /** Number of batches an epoch yields when no video is skipped. */
  get numBatches(): number {
    const n = this.samples.length / this.options.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  private jobOptions(): LoadViewsOptions {
    const o = this.options;
    return {
      ...(o.ffmpegPath ? { ffmpegPath: o.ffmpegPath } : {}),
      ...(o.maxShortSide ? { maxShortSide: o.maxShortSide } : {}),
      ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
      ...(o.batchClips !== undefined ? { batchClips: o.batchClips } : {}),
    };
  }

  private async loadOne(sample: VideoSample, request: ViewRequest): Promise<Outcome> {
    const cached = this.infoCache.get(sample.path);
    const options: LoadViewsOptions = {
      ...this.jobOptions(),
      ...(cached ? { info: cached } : {}),
      ...(sample.timeStart !== undefined && sample.timeEnd !== undefined
        ? { segment: { start: sample.timeStart, end: sample.timeEnd } }
        : {}),
    };
    const result = await this.pool.load(sample.path, request, { options });
    return result.ok
      ? {
          ok: true,
          views: result.views,
          info: result.info,
          substitutedIndices: result.substitutedIndices,
          decoderErrors: result.decoderErrors,
        }
      : { ok: false, reason: result.reason };
  }

  /** Sample order of an epoch (a seeded shuffle when shuffling). */
  order(epoch: number): number[] {
    const order = this.samples.map((_, i) => i);
    const shuffle = this.options.shuffle ?? this.options.views.mode === 'train';
    if (shuffle) new SeededRandom(hashString(`epoch:${epoch}`, this.options.seed ?? 0)).shuffle(order);
    return order;
  }

  private requestFor(epoch: number, sampleIndex: number): ViewRequest {
    const views = this.options.views;
    if (views.mode === 'test') return { mode: 'test', config: views.config };
    return { mode: 'train', config: views.config, seed: clipViewSeed(this.options.seed ?? 0, epoch, sampleIndex) };
  }

  /**
   * Yields the batches of one epoch in a deterministic order (given `seed` and `epoch`), each sample's views
   * drawn from its own seed, so results do not depend on which decode finishes first.
   */
  async *epoch(epoch = 0): AsyncGenerator<VideoBatch, EpochReport, undefined> {
    if (this.closed) throw new ConfigError('VideoLoader.epoch: the loader was closed; create a new one.');
    if (this.epochRunning) {
      throw new ConfigError('VideoLoader.epoch: another epoch of this loader is still running; finish (or break out of) it first.');
    }
    this.epochRunning = true;
    const started = performance.now();
    const order = this.order(epoch);
    const { batchSize } = this.options;
    const results = new Map<number, Outcome>();
    const wakers: (() => void)[] = [];
    const skipped: SkippedVideo[] = [];
    const damaged: DamagedVideo[] = [];
    let substitutedFrames = 0;
    let nextDispatch = 0;
    let nextTake = 0;
    let numLoaded = 0;
    let numBatches = 0;
    const onWarning = this.options.onWarning ?? ((s: SkippedVideo) => console.warn(`[lss-data] skipping ${s.path}: ${s.reason}`));
    const pump = () => {
      while (nextDispatch < order.length && this.inFlight < this.concurrency && this.inFlight + this.buffered < this.pendingBound) {
        const position = nextDispatch++;
        const sampleIndex = order[position]!;
        const sample = this.samples[sampleIndex]!;
        this.inFlight++;
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        this.maxPending = Math.max(this.maxPending, this.inFlight + this.buffered);
        this.loadOne(sample, this.requestFor(epoch, sampleIndex)).then(
          (outcome) => {
            if (outcome.ok) this.infoCache.set(sample.path, outcome.info);
            this.inFlight--;
            this.buffered++;
            results.set(position, outcome);
            for (const wake of wakers.splice(0)) wake();
          },
          (error: unknown) => {
            this.inFlight--;
            this.buffered++;
            results.set(position, { ok: false, reason: error instanceof Error ? error.message : String(error) });
            for (const wake of wakers.splice(0)) wake();
          },
        );
      }
    };
    try {
      while (nextTake < order.length) {
        const perSample: HostVideo[][] = [];
        const batchSamples: VideoSample[] = [];
        while (perSample.length < batchSize && nextTake < order.length) {
          pump();
          const outcome = results.get(nextTake);
          if (!outcome) {
            await new Promise<void>((resolve) => wakers.push(resolve));
            continue;
          }
          results.delete(nextTake);
          this.buffered--;
          const sampleIndex = order[nextTake]!;
          const sample = this.samples[sampleIndex]!;
          nextTake++;
          if (outcome.ok) {
            perSample.push(outcome.views);
            batchSamples.push(sample);
            numLoaded++;
            if (outcome.substitutedIndices.length > 0 || outcome.decoderErrors.length > 0) {
              substitutedFrames += outcome.substitutedIndices.length;
              damaged.push({
                path: sample.path,
                sampleIndex,
                epoch,
                substitutedIndices: outcome.substitutedIndices,
                decoderErrors: outcome.decoderErrors,
              });
            }
          } else {
            const skip: SkippedVideo = { path: sample.path, reason: outcome.reason, sampleIndex, epoch };
            skipped.push(skip);
            onWarning(skip);
          }
        }
        pump();
        if (perSample.length === 0) break;
        if (perSample.length < batchSize && this.options.dropLast) break;
        numBatches++;
        yield collateBatch(perSample, batchSamples, this.options.views.mode === 'train' ? this.options.views.config.numGlobalViews : 0);
      }
    } finally {
      // Abandoned early (break in the consumer): let in-flight work finish in the background, then forget it.
      if (nextTake < order.length) {
        const stillRunning = this.inFlight;
        if (stillRunning > 0) {
          await new Promise<void>((resolve) => {
            const check = () => (this.inFlight === 0 ? resolve() : wakers.push(check));
            check();
          });
        }
        this.buffered -= results.size;
        results.clear();
      }
      this.epochRunning = false;
    }
    const report: EpochReport = {
      epoch,
      numSamples: order.length,
      numLoaded,
      numSkipped: skipped.length,
      skipped,
      substitutedFrames,
      damaged,
      numBatches,
      seconds: (performance.now() - started) / 1000,
    };
    this.lastReport = report;
    if (this.options.onEpochEnd) this.options.onEpochEnd(report);
    else if (report.numSkipped > 0 || report.damaged.length > 0) console.warn(`[lss-data] ${formatEpochReport(report)}`);
    return report;
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool.close();
  }
}
