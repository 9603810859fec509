/**
 * `check`: scans a dataset folder and lists the videos a loader would skip (empty, unreadable, no video stream,
 * truncated, undecodable), so they can be re-downloaded before training instead of discovered mid-epoch.
 */
import { statSync } from 'node:fs';
import { DataError } from '@lss/core';
import type { VideoInfo } from '../types.js';
import { decodeFrames, probeVideo } from './ffmpeg.js';
import { listVideoFiles } from './readers.js';

/** Result of checking one file. */
export interface VideoCheck {
  readonly path: string;
  readonly ok: boolean;
  /** Why the file is bad (absent when ok). */
  readonly reason?: string;
  readonly info?: VideoInfo;
}

/** Options of {@link checkVideoFile} and {@link checkDataset}. */
export interface CheckOptions {
  readonly ffmpegPath?: string;
  /** Files checked at once (default 2). */
  readonly concurrency?: number;
  /**
   * Flag a stream holding fewer than this fraction of the frames its header duration implies (default 0.9),
   * the signature of a truncated AVI or WebM.
   */
  readonly minFrameFraction?: number;
  readonly timeoutMs?: number;
  /** Called after each file. */
  readonly onProgress?: (check: VideoCheck, done: number, total: number) => void;
}

/**
 * Checks one video: non-empty, readable by ffmpeg, has a video stream, frame count consistent with the header
 * duration, and its first, middle and last frames decode.
 */
export async function checkVideoFile(path: string, options: CheckOptions = {}): Promise<VideoCheck> {
  const ffmpeg = options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {};
  try {
    if (statSync(path).size === 0) return { path, ok: false, reason: 'empty file (0 bytes)' };
    const info = await probeVideo(path, {
      ...ffmpeg,
      countFrames: true,
      minFrameFraction: options.minFrameFraction ?? 0.9,
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
    const last = info.numFrames - 1;
    const indices = [...new Set([0, Math.floor(last / 2), last])];
    await decodeFrames(path, indices, { ...ffmpeg, info, maxMissingFrames: 0, maxShortSide: 64 });
    return { path, ok: true, info };
  } catch (error) {
    const reason = error instanceof DataError || error instanceof Error ? error.message : String(error);
    return { path, ok: false, reason };
  }
}

/** Summary of {@link checkDataset}. */
export interface DatasetCheck {
  readonly root: string;
  readonly numFiles: number;
  readonly numOk: number;
  readonly bad: readonly VideoCheck[];
}

/** Checks every video file under `root` (recursive), `concurrency` at a time. */
export async function checkDataset(root: string, options: CheckOptions = {}): Promise<DatasetCheck> {
  const files = listVideoFiles(root);
  const results: VideoCheck[] = new Array(files.length);
  let next = 0;
  let done = 0;
  const workers = Array.from({ length: Math.min(options.concurrency ?? 2, files.length) }, async () => {
    while (next < files.length) {
      const i = next++;
      const check = await checkVideoFile(files[i]!, options);
      results[i] = check;
      done++;
      options.onProgress?.(check, done, files.length);
    }
  });
  await Promise.all(workers);
  const bad = results.filter((r) => !r.ok);
  return { root, numFiles: files.length, numOk: files.length - bad.length, bad };
}
