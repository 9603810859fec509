/**
 * `check`: scans a dataset folder and lists the videos a loader would skip (empty, unreadable, no video stream,
 * truncated, undecodable), so they can be re-downloaded before training instead of discovered mid-epoch.
 */
import { existsSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import { ConfigError, DataError } from '@lss/core';
import type { SkippedFile, VideoInfo } from '../types.js';
import { probeVideo, scanVideoFrames } from './ffmpeg.js';
import { listVideoEntries, VIDEO_EXTENSIONS } from './readers.js';

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
  /** Files checked at once: an integer >= 1 (default 2); anything else throws `ConfigError`. */
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
    if (stat.size === 0) return { path, ok: false, reason: 'empty file (0 bytes). Re-download or remove it.' };
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
  /** Bad videos, with the reason; includes entries named like videos that are not files (a fifo, a directory). */
  readonly bad: readonly VideoCheck[];
  /** Other entries under `root` that are not videos (another extension, a link to a directory), with the reason. */
  readonly skipped: readonly SkippedFile[];
}

/**
 * Extensions of the annotation and text files a dataset folder holds next to its videos (UCF-101's
 * `ucfTrainTestlist/*.txt`, Kinetics' CSV, a README): `lss-data check` counts these in one line instead of one
 * `SKIPPED` line each.
 */
export const ANNOTATION_EXTENSIONS: readonly string[] = ['.txt', '.csv', '.json', '.md', '.yaml', '.yml', '.xml'];

/** Whether `path` is named like an annotation/text file ({@link ANNOTATION_EXTENSIONS}, case-insensitive). */
export function isAnnotationFile(path: string): boolean {
  return ANNOTATION_EXTENSIONS.includes(extname(path).toLowerCase());
}

/**
 * Checks every video file under `root` (recursive; `root` may be one file), `concurrency` at a time. Entries named
 * like videos that are not regular files are bad with their reason; other non-video entries are listed in `skipped`.
 *
 * @throws ConfigError when `options.concurrency` is not an integer >= 1 (0 would check nothing).
 * @throws DataError when `root` does not exist.
 */
export async function checkDataset(root: string, options: CheckOptions = {}): Promise<DatasetCheck> {
  const concurrency = options.concurrency ?? 2;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new ConfigError(
      `checkDataset: concurrency (files checked at once) must be an integer >= 1; received ${concurrency}. ` +
        'Pass e.g. { concurrency: 2 }, or omit it for the default 2.',
    );
  }
  if (!existsSync(root)) throw new DataError(`Folder not found: ${root}. Pass the dataset folder (or one video file).`, { file: root });
  const entries = statSync(root).isDirectory() ? listVideoEntries(root) : { files: [root], skipped: [] };
  const files = entries.files.sort();
  const isVideoName = (p: string) => VIDEO_EXTENSIONS.includes(extname(p).toLowerCase());
  const oddVideos = entries.skipped.filter((f) => isVideoName(f.path));
  const skipped = entries.skipped.filter((f) => !isVideoName(f.path));
  const results: VideoCheck[] = new Array(files.length);
  let next = 0;
  let done = 0;
  const total = files.length + oddVideos.length;
  for (const odd of oddVideos) {
    const check = { path: odd.path, ok: false, reason: odd.reason };
    done++;
    options.onProgress?.(check, done, total);
  }
  const workers = Array.from({ length: Math.min(concurrency, files.length) }, async () => {
    while (next < files.length) {
      const i = next++;
      const check = await checkVideoFile(files[i]!, options);
      results[i] = check;
      done++;
      options.onProgress?.(check, done, total);
    }
  });
  await Promise.all(workers);
  const bad = [...oddVideos.map((o) => ({ path: o.path, ok: false, reason: o.reason })), ...results.filter((r) => !r.ok)];
  // Counted from the checks that ran, so a file no worker reached can never count as ok.
  const numOk = results.filter((r) => r?.ok).length;
  return { root, numFiles: total, numOk, bad, skipped };
}
