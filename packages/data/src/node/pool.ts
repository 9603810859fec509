/**
 * A pool of worker threads that decode and render the views of one video per job: the ffmpeg decode runs as a
 * subprocess and the view rendering (crops, augmentations, pure JS) in the worker thread, so neither blocks the
 * caller's event loop (where the model steps). Each job's result depends only on the file and the request (its
 * seed), never on which worker ran it, so results are the same for any number of workers.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ConfigError, DataError } from '@lss/core';
import type { HostVideo, VideoInfo } from '../types.js';
import { type CachedFramesOptions, type LoadViewsOptions, ThreadViewLoader, type ViewRequest } from './clip-views.js';
import { checkBatchClips } from './decode-batcher.js';
import type { WorkerJob, WorkerResult } from './worker.js';

/** What one job gave: the views, or why the video could not be used. */
export type ViewOutcome =
  | {
      readonly ok: true;
      /** One `[T, S, S, 3]` view per plan, in plan order. */
      readonly views: HostVideo[];
      readonly info: VideoInfo;
      /** Requested frames the stream did not deliver, each replaced by a copy of the last decoded frame. */
      readonly missingFrames: number;
      /** The frame indices that were substituted (see `missingFrames`). */
      readonly substitutedIndices: readonly number[];
      /** Error lines the decoder printed (damaged data, concealed errors); empty when clean. */
      readonly decoderErrors: readonly string[];
      /** Worker thread id that ran the job (0: the calling thread). */
      readonly thread: number;
    }
  | {
      readonly ok: false;
      readonly reason: string;
      /** True when the video itself cannot be read (a `DataError`: missing, empty, corrupt, truncated); false for other failures (a worker thread that died, a bug). */
      readonly dataError: boolean;
    };

/** Options of one {@link ViewWorkerPool.load} call besides the path and request. */
export interface PoolJob {
  readonly options?: LoadViewsOptions;
  /**
   * Decode the whole video once (short side at most `maxShortSide`) and keep its frames in the worker, rendering
   * later requests from memory (small datasets; train views only). Jobs with the same `affinity` go to the same
   * worker, so each video is decoded and kept once.
   */
  readonly cacheFrames?: CachedFramesOptions;
  /** Worker choice for `cacheFrames` jobs (e.g. the sample index); other jobs go to the least busy worker. */
  readonly affinity?: number;
}

interface PoolWorker {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  /** Ids of the jobs posted to this worker and not answered yet. */
  readonly jobs: Set<number>;
  busy: number;
  dead: boolean;
}

/**
 * How to start the worker next to this module. In dist it is `worker.js`. From source (vitest, tsx) it is
 * `worker.ts`, which a worker thread can only load after registering tsx's loader in that thread, so the worker
 * starts from a small bootstrap that registers tsx and then imports the `.ts` entry. Returns undefined when running
 * from source without tsx installed (the pool then renders in the calling thread).
 */
function workerEntry(): { code: string | URL; eval: boolean; execArgv: string[] } | undefined {
  const here = import.meta.url;
  if (!here.endsWith('.ts')) {
    // The bundler may move this code into a shared chunk one folder up: look in both places.
    const url = [new URL('./worker.js', here), new URL('./node/worker.js', here)].find((u) => existsSync(fileURLToPath(u)));
    return url ? { code: url, eval: false, execArgv: [] } : undefined;
  }
  const target = new URL('./worker.ts', here).href;
  for (const base of [here, pathToFileURL(`${process.cwd()}/`).href]) {
    try {
      const cjs = createRequire(base).resolve('tsx/esm/api');
      const api = pathToFileURL(cjs.replace(/index\.cjs$/, 'index.mjs')).href;
      const code = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); })`;
      return { code, eval: true, execArgv: ['--conditions=@lss/source'] };
    } catch {
      // try the next base
    }
  }
  return undefined;
}

/**
 * Worker threads rendering views. `numWorkers = 0` runs every job in the calling thread (same results).
 *
 * @example
 * const pool = new ViewWorkerPool(2);
 * const r = await pool.load('/data/v.avi', { mode: 'train', config: SVT_VIEW_CONFIG, seed: 7 });
 * if (r.ok) console.log(r.views.length); else console.warn(r.reason);
 * await pool.close();
 */
export class ViewWorkerPool {
  readonly numWorkers: number;
  /** Jobs completed per worker thread id (0 = calling thread). */
  readonly jobsPerWorker = new Map<number, number>();
  private workers: PoolWorker[] | undefined;
  private readonly waiting = new Map<number, (r: WorkerResult) => void>();
  /** Loads jobs in the calling thread when there are no workers (or they cannot start). */
  private readonly local = new ThreadViewLoader();
  private nextJobId = 1;
  private closed = false;

  constructor(numWorkers: number) {
    if (!Number.isInteger(numWorkers) || numWorkers < 0) {
      throw new ConfigError(`numWorkers must be an integer >= 0; received ${numWorkers}. 0 renders views in the calling thread.`);
    }
    this.numWorkers = numWorkers;
  }

  private startWorkers(): PoolWorker[] {
    if (this.workers) return this.workers;
    const entry = workerEntry();
    if (!entry) {
      console.warn('[lss-data] worker entry not found (TypeScript source without tsx?): rendering views in the calling thread.');
      this.workers = [];
      return this.workers;
    }
    this.workers = Array.from({ length: this.numWorkers }, () => this.spawnWorker(entry));
    return this.workers;
  }

  /** Starts one worker thread. If it dies, its outstanding jobs fail (not a data error) and a fresh worker replaces it. */
  private spawnWorker(entry: NonNullable<ReturnType<typeof workerEntry>>): PoolWorker {
    const worker = new Worker(entry.code, { eval: entry.eval, execArgv: entry.execArgv });
    let markReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
    const pw: PoolWorker = { worker, busy: 0, ready, jobs: new Set(), dead: false };
    let started = false;
    worker.on('message', (result: WorkerResult | { ready: true }) => {
      if ('ready' in result) {
        started = true;
        markReady();
        return;
      }
      pw.jobs.delete(result.id);
      const resolve = this.waiting.get(result.id);
      if (resolve) {
        this.waiting.delete(result.id);
        resolve(result);
      }
    });
    const fail = (message: string) => {
      if (pw.dead) return;
      pw.dead = true;
      markReady();
      for (const id of pw.jobs) {
        const resolve = this.waiting.get(id);
        this.waiting.delete(id);
        resolve?.({ id, ok: false, message, dataError: false });
      }
      pw.jobs.clear();
      if (!started) {
        // It never started (e.g. no TypeScript loader): do not retry; jobs fall back to the calling thread.
        console.warn(`[lss-data] a loader worker thread failed to start (${message}); rendering in the calling thread.`);
        return;
      }
      if (!this.closed && this.workers) {
        const index = this.workers.indexOf(pw);
        if (index >= 0) this.workers[index] = this.spawnWorker(entry);
      }
    };
    worker.on('error', (error) => fail(`worker thread failed: ${error.message}`));
    worker.on('exit', (code) => fail(`worker thread exited with code ${code}`));
    worker.unref();
    return pw;
  }

  private count(thread: number): void {
    this.jobsPerWorker.set(thread, (this.jobsPerWorker.get(thread) ?? 0) + 1);
  }

  private async loadInThread(path: string, request: ViewRequest, job: PoolJob): Promise<ViewOutcome> {
    try {
      const loaded = await this.local.load(path, request, job.options, job.cacheFrames);
      this.count(0);
      return {
        ok: true,
        views: loaded.views,
        info: loaded.info,
        missingFrames: loaded.missingFrames,
        substitutedIndices: loaded.substitutedIndices,
        decoderErrors: loaded.decoderErrors,
        thread: 0,
      };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error), dataError: error instanceof DataError };
    }
  }

  /** Decodes and renders the views of one video in a worker thread (or the calling thread when there are none). */
  async load(path: string, request: ViewRequest, job: PoolJob = {}): Promise<ViewOutcome> {
    if (this.closed) throw new ConfigError('ViewWorkerPool.load: the pool was closed; create a new one.');
    if (job.options?.batchClips !== undefined) checkBatchClips(job.options.batchClips, 'ViewWorkerPool.load');
    const all = this.numWorkers === 0 ? [] : this.startWorkers();
    const live = all.filter((w) => !w.dead);
    if (live.length === 0) return this.loadInThread(path, request, job);
    const target =
      job.cacheFrames && job.affinity !== undefined
        ? (all[job.affinity % all.length] as PoolWorker)
        : live.reduce((best, w) => (w.busy < best.busy ? w : best), live[0] as PoolWorker);
    if (target.dead) return this.loadInThread(path, request, job);
    const id = this.nextJobId++;
    target.busy++;
    target.worker.ref(); // keep the process alive while this worker has jobs; unref'd again when idle
    try {
      await target.ready;
      if (target.dead) return await this.loadInThread(path, request, job);
      const result = await new Promise<WorkerResult>((resolve) => {
        this.waiting.set(id, resolve);
        target.jobs.add(id);
        const message: WorkerJob = {
          id,
          path,
          request,
          options: job.options ?? {},
          ...(job.cacheFrames ? { cacheFrames: job.cacheFrames } : {}),
        };
        target.worker.postMessage(message);
      });
      if (!result.ok) return { ok: false, reason: result.message, dataError: result.dataError };
      this.count(result.threadId);
      return {
        ok: true,
        views: result.views,
        info: result.info,
        missingFrames: result.missingFrames,
        substitutedIndices: result.substitutedIndices,
        decoderErrors: result.decoderErrors,
        thread: result.threadId,
      };
    } finally {
      target.busy--;
      if (target.busy === 0) target.worker.unref();
    }
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers ?? [];
    this.workers = undefined;
    this.local.clear();
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}
