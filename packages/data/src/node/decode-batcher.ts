/**
 * Several clips per ffmpeg process: decode requests made at about the same time (the jobs a loader worker receives
 * in one burst) are gathered and decoded by one process ({@link decodeClips}), so the process start-up is paid once
 * per group instead of once per clip.
 */
import { ConfigError } from '@lss/core';
import { type DecodedFrames, type DecodeOptions, decodeClips } from './ffmpeg.js';

/**
 * Clips one loader worker decodes per ffmpeg process by default (`batchClips` of `VideoLoader`, `ViewWorkerPool`
 * jobs and the trainer's view workers). A group holds the jobs a worker has in flight at once, so it is also bounded
 * by that: 2 per worker in `VideoLoader` by default (groups of 1-2 clips), more in the trainer's view workers. Measured with `pnpm --filter @lss/data bench` (VideoLoader test view, 2
 * workers x 2 in flight, 8 clips, quiet 2-core VM): batchClips 4 vs 1 gave +4 %, +19 % and +17 % clips/s (medians of
 * three runs, 2026-11-29 23:49, 2026-11-30 00:23 and 02:22 UTC) and 11 % less CPU per clip; the frames are the same.
 */
export const DEFAULT_BATCH_CLIPS = 4;

/**
 * Throws `ConfigError` unless `batchClips` is an integer >= 1 (`who` names the API in the message). Returns it.
 */
export function checkBatchClips(batchClips: unknown, who: string, name = 'batchClips'): number {
  if (typeof batchClips !== 'number' || !Number.isInteger(batchClips) || batchClips < 1) {
    throw new ConfigError(
      `${who}: ${name} must be an integer >= 1 (clips per ffmpeg process; 1 = a process per clip, default ${DEFAULT_BATCH_CLIPS}); received ${JSON.stringify(batchClips)}.`,
    );
  }
  return batchClips;
}

/** Options of {@link DecodeBatcher}. */
export interface DecodeBatcherOptions {
  /** Most clips one ffmpeg process decodes (default {@link DEFAULT_BATCH_CLIPS}); 1 turns batching off. */
  readonly maxClips?: number;
}

interface Pending {
  readonly path: string;
  readonly indices: readonly number[];
  readonly options: DecodeOptions;
  readonly resolve: (value: DecodedFrames) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Gathers `decode` calls made in the same turn of the event loop (flushed on `setImmediate`, or as soon as
 * `maxClips` are waiting) into groups of the same ffmpeg binary and timeout, each decoded by one ffmpeg process.
 * Each call resolves with what `decodeFrames(path, indices, options)` would give, or rejects with its own error.
 */
export class DecodeBatcher {
  readonly maxClips: number;
  private readonly groups = new Map<string, Pending[]>();
  private scheduled = false;

  constructor(options: DecodeBatcherOptions = {}) {
    this.maxClips = checkBatchClips(options.maxClips ?? DEFAULT_BATCH_CLIPS, 'DecodeBatcher', 'maxClips');
  }

  /** Decodes `indices` of `path` (see `decodeFrames`), possibly in one process with other clips requested meanwhile. */
  decode(path: string, indices: readonly number[], options: DecodeOptions = {}): Promise<DecodedFrames> {
    return new Promise((resolve, reject) => {
      const key = `${options.ffmpegPath ?? ''}\0${options.timeoutMs ?? ''}`;
      let group = this.groups.get(key);
      if (!group) {
        group = [];
        this.groups.set(key, group);
      }
      group.push({ path, indices, options, resolve, reject });
      if (group.length >= this.maxClips) {
        this.groups.delete(key);
        this.run(group);
      } else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const groups = [...this.groups.values()];
    this.groups.clear();
    for (const group of groups) this.run(group);
  }

  private run(group: Pending[]): void {
    const first = group[0]!.options;
    const shared = {
      ...(first.ffmpegPath ? { ffmpegPath: first.ffmpegPath } : {}),
      ...(first.timeoutMs ? { timeoutMs: first.timeoutMs } : {}),
    };
    decodeClips(
      group.map((p) => ({ path: p.path, indices: p.indices, options: p.options })),
      shared,
    ).then(
      (results) =>
        results.forEach((r, k) => {
          const p = group[k]!;
          if (r.status === 'fulfilled') p.resolve(r.value);
          else p.reject(r.reason);
        }),
      (error: unknown) => {
        for (const p of group) p.reject(error);
      },
    );
  }
}
