/**
 * Worker-thread entry of the loader's pool: decodes and renders the views of one video per message and sends the
 * view buffers back as transferables (no copy). One worker can have several videos in flight, since most of a
 * decode is spent waiting for the ffmpeg subprocess.
 */
import { parentPort, threadId } from 'node:worker_threads';
import { type LoadViewsOptions, loadVideoViews, type ViewRequest } from './clip-views.js';

/** Message from the pool to a worker. */
export interface WorkerJob {
  readonly id: number;
  readonly path: string;
  readonly request: ViewRequest;
  readonly options: LoadViewsOptions;
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
  | { readonly id: number; readonly ok: false; readonly message: string };

if (parentPort) {
  const port = parentPort;
  // Tell the pool the message handler is installed (the bootstrap may take a while to load TypeScript).
  queueMicrotask(() => port.postMessage({ ready: true }));
  port.on('message', (job: WorkerJob) => {
    loadVideoViews(job.path, job.request, job.options).then(
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
        port.postMessage({ id: job.id, ok: false, message } satisfies WorkerResult);
      },
    );
  });
}
