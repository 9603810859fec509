/**
 * `check`: scans a dataset folder and lists the videos a loader would skip (empty, unreadable, no video stream,
 * truncated, undecodable), so they can be re-downloaded before training instead of discovered mid-epoch.
 */
import { statSync } from 'node:fs';
import { DataError } from '@lss/core';
import type { VideoInfo } from '../types.js';
import { probeVideo, scanVideoFrames } from './ffmpeg.js';
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
  /**
   * Decode every frame of each video (default true), so a file with damaged or missing frames is caught: a cut-off
   * AVI whose last packets are corrupt, a stream that ends before its packet count. `false` decodes nothing beyond
   * the probe (faster, catches only unreadable files and short streams).
   */
  readonly fullDecode?: boolean;
  /** Called after each file. */
  readonly onProgress?: (check: VideoCheck, done: number, total: number) => void;
}

/**
 * Checks one video: non-empty, readable by ffmpeg, has a video stream, frame count consistent with the header
 * duration, no packet flagged corrupt by the demuxer, and (unless `fullDecode: false`) every frame decodes without
 * a decoder error and the decoder outputs as many frames as the stream has packets.
 */
export async function checkVideoFile(path: string, options: CheckOptions = {}): Promise<VideoCheck> {
  const ffmpeg = options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {};
  const timeout = options.timeoutMs ? { timeoutMs: options.timeoutMs } : {};
  try {
    const stat = statSync(path);
    if (stat.isFIFO())
      return { path, ok: false, reason: 'a named pipe (fifo), not a regular file: a video must be a file that can be read twice' };
    if (stat.isDirectory()) return { path, ok: false, reason: 'a directory named like a video file, not a video' };
    if (!stat.isFile()) return { path, ok: false, reason: 'not a regular file (socket or device)' };
    if (stat.size === 0) return { path, ok: false, reason: 'empty file (0 bytes)' };
    const info = await probeVideo(path, { ...ffmpeg, ...timeout, countFrames: true, minFrameFraction: options.minFrameFraction ?? 0.9 });
    if (info.corruptPackets) {
      return {
        path,
        ok: false,
        info,
        reason: `damaged or truncated: the demuxer flagged ${info.corruptPackets} of ${info.numFrames} video packet(s) corrupt (a file cut off while downloading or copying). Re-download it.`,
      };
    }
    if (options.fullDecode !== false) {
      const scan = await scanVideoFrames(path, { ...ffmpeg, ...timeout });
      if (scan.decodedFrames < info.numFrames) {
        return {
          path,
          ok: false,
          info,
          reason: `truncated or damaged: the stream has ${info.numFrames} frames but only ${scan.decodedFrames} decode${scan.errors.length ? ` (${scan.errors[0]})` : ''}. Re-download it.`,
        };
      }
      if (scan.errors.length > 0) {
        return {
          path,
          ok: false,
          info,
          reason: `damaged: decoding all ${scan.decodedFrames} frames printed ${scan.errors.length} error(s), first: ${scan.errors[0]}. Re-download or re-encode it.`,
        };
      }
    }
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
