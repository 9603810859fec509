/**
 * Worker-thread entry of the view pool (`ViewWorkerPool`): decodes and renders the views of one video per message
 * and sends the view buffers back as transferables (no copy). One worker can have several videos in flight, since
 * most of a decode is spent waiting for the ffmpeg subprocess. With `cacheFrames`, whole decoded videos are kept in
 * this thread and later views of them rendered from memory.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { DataError } from '@lss/core';
import { type CachedFramesOptions, type LoadViewsOptions, ThreadViewLoader, type ViewRequest } from './clip-views.js';

/** Message from the pool to a worker. */
export interface WorkerJob {
  readonly id: number;
  readonly path: string;
  readonly request: ViewRequest;
  readonly options: LoadViewsOptions;
  /** Decode the whole video once and keep it in this thread (train views only). */
  readonly cacheFrames?: CachedFramesOptions;
}

/** Message from a worker to the pool. */
export type WorkerResult =
  | {
      readonly id: number;
      readonly ok: true;
      readonly views: { data: Float32Array; shape: number[] }[];
      readonly info: import('../types.js').VideoInfo;
      readonly missingFrames: number;
      readonly substitutedIndices: readonly number[];
      readonly decoderErrors: readonly string[];
      readonly threadId: number;
    }
  | {
      readonly id: number;
      readonly ok: false;
      readonly message: string;
      /** The video itself cannot be read (a `DataError`), as opposed to a failure of the worker. */
      readonly dataError: boolean;
    };

if (parentPort) {
  const port = parentPort;
  // Tell the pool the message handler is installed (the bootstrap may take a while to load TypeScript).
  queueMicrotask(() => port.postMessage({ ready: true }));
  // The frame cache, and jobs that arrive together sharing an ffmpeg process (see ThreadViewLoader).
  const loader = new ThreadViewLoader();
  port.on('message', (job: WorkerJob) => {
    loader.load(job.path, job.request, job.options, job.cacheFrames).then(
      (loaded) => {
        const views = loaded.views.map((v) => ({ data: v.data, shape: [...v.shape] }));
        const result: WorkerResult = {
          id: job.id,
          ok: true,
          views,
          info: loaded.info,
          missingFrames: loaded.missingFrames,
          substitutedIndices: loaded.substitutedIndices,
          decoderErrors: loaded.decoderErrors,
          threadId: threadId,
        };
        port.postMessage(
          result,
          views.map((v) => v.data.buffer as ArrayBuffer),
        );
      },
      (error: unknown) => {
        const message = error instanceof Error ? error.message : String(error);
        port.postMessage({ id: job.id, ok: false, message, dataError: error instanceof DataError } satisfies WorkerResult);
      },
    );
  });
}
