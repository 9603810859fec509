/**
 * Test helpers: small video files written with ffmpeg into a temporary folder. Tests use the
 * `@ffmpeg-installer/ffmpeg` binary when it is installed (the one CI has), else whatever `resolveFfmpeg` finds.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbFrames } from '../../types.js';
import { encodeVideo, installerFfmpegPath, resolveFfmpeg } from '../ffmpeg.js';

/** The ffmpeg the tests use. */
export const TEST_FFMPEG: string = installerFfmpegPath() ?? resolveFfmpeg().path;

export { makeTempDir } from './temp.js';

/**
 * Frames whose content encodes their index: the left half is gray level `16 * (i % 16) + 8`, the right half
 * `16 * floor(i / 16) + 8`. Flat patches survive lossy codecs within a few levels.
 * Shape `[numFrames, height, width, 3]`.
 */
export function indexPatternFrames(numFrames: number, width: number, height: number): RgbFrames {
  const data = new Uint8Array(numFrames * height * width * 3);
  for (let i = 0; i < numFrames; i++) {
    const a = 16 * (i % 16) + 8;
    const b = 16 * Math.floor(i / 16) + 8;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = ((i * height + y) * width + x) * 3;
        const v = x < width / 2 ? a : b;
        data[o] = v;
        data[o + 1] = v;
        data[o + 2] = v;
      }
    }
  }
  return { data, shape: [numFrames, height, width, 3] };
}

/** Reads back the index encoded by {@link indexPatternFrames} from frame `k` of decoded frames (centre of each half). */
export function readFrameIndex(frames: RgbFrames, k: number): number {
  const [, H, W] = frames.shape;
  const at = (x: number, y: number) => frames.data[((k * H + y) * W + x) * 3 + 1]!;
  const a = Math.round((at(Math.floor(W / 4), Math.floor(H / 2)) - 8) / 16);
  const b = Math.round((at(Math.floor((3 * W) / 4), Math.floor(H / 2)) - 8) / 16);
  return b * 16 + a + 0; // + 0 turns -0 into 0
}

/** Writes an index-pattern video with the given codec; returns its path. */
export async function writeIndexVideo(dir: string, name: string, codec: 'h264' | 'xvid' | 'mpeg4' | 'vp9', numFrames = 100, fps = 25): Promise<string> {
  const path = join(dir, name);
  await encodeVideo(indexPatternFrames(numFrames, 64, 48), path, { codec, fps, ffmpegPath: TEST_FFMPEG, gopSize: 25 });
  return path;
}

/** The four kinds of bad file the loader and `check` must skip and report, plus a truncated AVI. */
export interface BadFiles {
  /** An MP4 cut in half (its moov atom, written last, is gone). */
  readonly truncatedMp4: string;
  /** An AVI cut to 40% (its frame index and most frames are gone). */
  readonly truncatedAvi: string;
  readonly zeroBytes: string;
  /** An MP4 with only an audio track. */
  readonly audioOnly: string;
  /** A text file renamed `.mp4`. */
  readonly textAsMp4: string;
}

export async function writeBadFiles(dir: string): Promise<BadFiles> {
  const good = await writeIndexVideo(dir, 'source-good.mp4', 'h264', 50);
  const bytes = readFileSync(good);
  const truncatedMp4 = join(dir, 'truncated.mp4');
  writeFileSync(truncatedMp4, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const goodAvi = await writeIndexVideo(dir, 'source-good.avi', 'xvid', 100);
  const aviBytes = readFileSync(goodAvi);
  const truncatedAvi = join(dir, 'truncated.avi');
  writeFileSync(truncatedAvi, aviBytes.subarray(0, Math.floor(aviBytes.length * 0.4)));
  const zeroBytes = join(dir, 'empty.mp4');
  writeFileSync(zeroBytes, '');
  const textAsMp4 = join(dir, 'notes.mp4');
  writeFileSync(textAsMp4, 'This is a text file, not a video.\nIt was renamed to .mp4 by mistake.\n');
  const audioOnly = join(dir, 'audio-only.mp4');
  const result = spawnSync(TEST_FFMPEG, ['-hide_banner', '-v', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=1', '-c:a', 'aac', audioOnly]);
  if (result.status !== 0) throw new Error(`could not write the audio-only test file: ${result.stderr.toString()}`);
  return { truncatedMp4, truncatedAvi, zeroBytes, audioOnly, textAsMp4 };
}
