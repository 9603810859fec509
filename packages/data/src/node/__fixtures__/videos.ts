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

/**
 * One kind of video file users have: a container, a codec, B-frames or not, complete, partial or missing
 * timestamps. `args` are ffmpeg output arguments (after the raw rgb24 input); `timestamps` says what its packets carry.
 */
export interface VideoKind {
  readonly name: string;
  readonly ext: string;
  readonly args: readonly string[];
  /** What the packets carry: every pts, only some (MPEG-PS), or none (AVI with B-frames, raw H.264). */
  readonly timestamps: 'all' | 'some' | 'none';
}

const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '12', '-pix_fmt', 'yuv420p', '-g', '12'];

/**
 * The kinds the frame-identity test generates: AVI with Xvid / DivX / MPEG-4 Part 2 (with and without B-frames),
 * H.264 and MJPEG; MP4, MKV, WebM, MOV, GIF; MPEG-PS and MPEG-TS; a raw H.264 elementary stream.
 */
export const VIDEO_KINDS: readonly VideoKind[] = [
  { name: 'avi-xvid-bframes', ext: 'avi', args: ['-c:v', 'libxvid', '-q:v', '2', '-bf', '2', '-g', '12', '-vtag', 'XVID', '-pix_fmt', 'yuv420p'], timestamps: 'none' },
  { name: 'avi-xvid', ext: 'avi', args: ['-c:v', 'libxvid', '-q:v', '2', '-bf', '0', '-g', '12', '-vtag', 'XVID', '-pix_fmt', 'yuv420p'], timestamps: 'all' },
  { name: 'avi-divx-mpeg4-bframes', ext: 'avi', args: ['-c:v', 'mpeg4', '-q:v', '2', '-bf', '2', '-g', '12', '-vtag', 'DIVX', '-pix_fmt', 'yuv420p'], timestamps: 'none' },
  { name: 'avi-h264-bframes', ext: 'avi', args: [...X264, '-bf', '3'], timestamps: 'none' },
  { name: 'avi-mjpeg', ext: 'avi', args: ['-c:v', 'mjpeg', '-q:v', '2', '-pix_fmt', 'yuvj420p'], timestamps: 'all' },
  { name: 'mp4-h264-bframes', ext: 'mp4', args: [...X264, '-bf', '3'], timestamps: 'all' },
  { name: 'mp4-h264-no-bframes', ext: 'mp4', args: [...X264, '-bf', '0'], timestamps: 'all' },
  { name: 'mp4-mpeg4-bframes', ext: 'mp4', args: ['-c:v', 'mpeg4', '-q:v', '2', '-bf', '2', '-g', '12', '-pix_fmt', 'yuv420p'], timestamps: 'all' },
  { name: 'mkv-h264-bframes', ext: 'mkv', args: [...X264, '-bf', '3'], timestamps: 'all' },
  { name: 'webm-vp9', ext: 'webm', args: ['-c:v', 'libvpx-vp9', '-crf', '10', '-b:v', '0', '-deadline', 'realtime', '-cpu-used', '8', '-g', '12', '-pix_fmt', 'yuv420p'], timestamps: 'all' },
  { name: 'webm-vp8', ext: 'webm', args: ['-c:v', 'libvpx', '-crf', '4', '-b:v', '2M', '-g', '12', '-pix_fmt', 'yuv420p'], timestamps: 'all' },
  { name: 'mov-h264-bframes', ext: 'mov', args: [...X264, '-bf', '3'], timestamps: 'all' },
  { name: 'mov-mjpeg', ext: 'mov', args: ['-c:v', 'mjpeg', '-q:v', '2', '-pix_fmt', 'yuvj420p'], timestamps: 'all' },
  { name: 'gif', ext: 'gif', args: ['-vf', 'split[a][b];[a]palettegen=stats_mode=full[p];[b][p]paletteuse=dither=none'], timestamps: 'all' },
  { name: 'mpg-mpeg2-bframes', ext: 'mpg', args: ['-c:v', 'mpeg2video', '-q:v', '2', '-bf', '2', '-g', '12', '-pix_fmt', 'yuv420p'], timestamps: 'some' },
  { name: 'ts-h264-bframes', ext: 'ts', args: [...X264, '-bf', '3'], timestamps: 'all' },
  { name: 'h264-raw-stream', ext: 'h264', args: [...X264, '-bf', '3', '-f', 'h264'], timestamps: 'none' },
];

/** Writes `numFrames` index-pattern frames (64x48, 25 fps) as the given kind; returns its path. */
export function writeKindVideo(dir: string, kind: VideoKind, numFrames = 60): string {
  const path = join(dir, `${kind.name}.${kind.ext}`);
  const frames = indexPatternFrames(numFrames, 64, 48);
  const args = ['-hide_banner', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '64x48', '-r', '25', '-i', 'pipe:0'];
  const result = spawnSync(TEST_FFMPEG, [...args, ...kind.args, path], { input: Buffer.from(frames.data.buffer) });
  if (result.status !== 0) throw new Error(`ffmpeg could not write ${kind.name}: ${result.stderr.toString()}`);
  return path;
}
