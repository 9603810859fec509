/**
 * Writes a synthetic action dataset of real video files in the UCF-101 layout: `UCF-101/<Class>/v_<Class>_gXX_c01.<ext>`
 * plus `ucfTrainTestlist/{classInd.txt, trainlist0{1,2,3}.txt, testlist0{1,2,3}.txt}` (CRLF, as the official files).
 * Frames are rendered in JS ({@link renderSyntheticVideo}) and piped as rgb24 into ffmpeg. Deterministic under `seed`.
 */
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, hashString } from '@lss/core';
import { renderSyntheticVideo, SYNTHETIC_MOTIONS } from '../synthetic.js';
import { type EncodeCodec, encodeVideo, type FfmpegBinary, parseEncodeCodec, resolveFfmpeg } from './ffmpeg.js';

/** Options of {@link generateSyntheticDataset}. */
export interface SyntheticDatasetOptions {
  /** Output folder (created). */
  readonly dir: string;
  /** Number of classes, 1 to 10 (one motion pattern each, {@link SYNTHETIC_MOTIONS} order). */
  readonly numClasses: number;
  /** Videos per class (>= 3 so that each of the three splits has a test video). */
  readonly videosPerClass: number;
  /** Frame width (even), default 64. */
  readonly width?: number;
  /** Frame height (even), default 48. */
  readonly height?: number;
  /** Frames per video, default 32. */
  readonly numFrames?: number;
  /** Frames per second, default 25. */
  readonly fps?: number;
  /** Codec; container follows it: xvid/mpeg4 -> .avi (UCF-101's), h264 -> .mp4, vp9 -> .webm. Default 'xvid'. */
  readonly codec?: EncodeCodec;
  readonly seed?: number;
  /** Parallel ffmpeg encoders, default 2. */
  readonly concurrency?: number;
  readonly ffmpegPath?: string;
}

/** What {@link generateSyntheticDataset} wrote. */
export interface SyntheticDataset {
  /** Pass these to `readUcf101({ videosDir, annotationsDir, split, subset })`. */
  readonly videosDir: string;
  readonly annotationsDir: string;
  readonly classNames: readonly string[];
  /** Every video written, class-major. */
  readonly files: readonly string[];
  readonly ffmpeg: FfmpegBinary;
}

/** File extension for each codec. */
export function containerFor(codec: EncodeCodec): string {
  return codec === 'h264' ? '.mp4' : codec === 'vp9' ? '.webm' : '.avi';
}

async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  });
  await Promise.all(runners);
}

/**
 * Returns the path that keeps `dir` from being a folder: `dir` itself or its nearest existing ancestor when that is
 * a file (not a directory); `undefined` when `dir` is a folder or can be created as one.
 */
export function fileBlockingFolder(dir: string): string | undefined {
  let path = resolve(dir);
  while (!existsSync(path)) {
    const parent = dirname(path);
    if (parent === path) return undefined;
    path = parent;
  }
  return statSync(path).isDirectory() ? undefined : path;
}

/**
 * Generates a synthetic UCF-101-style dataset. Video `v` of a class is group `g(v+1)`; split `k` tests the
 * groups with `(g - 1) % 3 === k - 1` and trains on the rest, as UCF-101 splits by group.
 *
 * @example
 * const ds = await generateSyntheticDataset({ dir: '/tmp/synth', numClasses: 4, videosPerClass: 6 });
 * const train = readUcf101({ videosDir: ds.videosDir, annotationsDir: ds.annotationsDir, split: 1, subset: 'train' });
 */
export async function generateSyntheticDataset(options: SyntheticDatasetOptions): Promise<SyntheticDataset> {
  const { numClasses, videosPerClass } = options;
  if (typeof options.dir !== 'string' || options.dir === '') {
    throw new ConfigError(
      `generateSyntheticDataset: dir must be the output folder's path (a non-empty string); received ${JSON.stringify(options.dir)}. E.g. { dir: '/tmp/synth', numClasses: 4, videosPerClass: 6 }.`,
    );
  }
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > SYNTHETIC_MOTIONS.length) {
    throw new ConfigError(
      `generateSyntheticDataset: numClasses must be an integer in [1, ${SYNTHETIC_MOTIONS.length}]; received ${numClasses}.`,
    );
  }
  if (!Number.isInteger(videosPerClass) || videosPerClass < 3) {
    throw new ConfigError(
      `generateSyntheticDataset: videosPerClass must be an integer >= 3 (one test video per split); received ${videosPerClass}.`,
    );
  }
  const blocking = fileBlockingFolder(options.dir);
  if (blocking !== undefined) {
    throw new ConfigError(
      `generateSyntheticDataset: the output folder ${options.dir} cannot be created: ${blocking} is an existing file; ` +
        'expected a folder (created when missing). Pass another dir, or move that file away.',
    );
  }
  const width = options.width ?? 64;
  const height = options.height ?? 48;
  const numFrames = options.numFrames ?? 32;
  const fps = options.fps ?? 25;
  const codec = parseEncodeCodec(options.codec ?? 'xvid');
  const seed = options.seed ?? 0;
  const ffmpeg = options.ffmpegPath ? resolveFfmpeg({ ffmpegPath: options.ffmpegPath }) : resolveFfmpeg();
  const videosDir = join(options.dir, 'UCF-101');
  const annotationsDir = join(options.dir, 'ucfTrainTestlist');
  mkdirSync(annotationsDir, { recursive: true });
  const classNames = SYNTHETIC_MOTIONS.slice(0, numClasses);
  const ext = containerFor(codec);
  const jobs: { className: string; label: number; group: number; relative: string }[] = [];
  classNames.forEach((className, label) => {
    mkdirSync(join(videosDir, className), { recursive: true });
    for (let v = 0; v < videosPerClass; v++) {
      const group = v + 1;
      const name = `v_${className}_g${String(group).padStart(2, '0')}_c01${ext}`;
      jobs.push({ className, label, group, relative: `${className}/${name}` });
    }
  });
  await runPool(jobs, options.concurrency ?? 2, async (job) => {
    const frames = renderSyntheticVideo({
      motion: job.className as (typeof SYNTHETIC_MOTIONS)[number],
      width,
      height,
      numFrames,
      seed: hashString(job.relative, seed),
    });
    await encodeVideo(frames, join(videosDir, job.relative), { codec, fps, ffmpegPath: ffmpeg.path, gopSize: 12 });
  });
  const crlf = (rows: string[]) => `${rows.join('\r\n')}\r\n`;
  writeFileSync(join(annotationsDir, 'classInd.txt'), crlf(classNames.map((n, i) => `${i + 1} ${n}`)));
  for (const split of [1, 2, 3]) {
    const isTest = (group: number) => (group - 1) % 3 === split - 1;
    writeFileSync(
      join(annotationsDir, `trainlist0${split}.txt`),
      crlf(jobs.filter((j) => !isTest(j.group)).map((j) => `${j.relative} ${j.label + 1}`)),
    );
    writeFileSync(join(annotationsDir, `testlist0${split}.txt`), crlf(jobs.filter((j) => isTest(j.group)).map((j) => j.relative)));
  }
  return { videosDir, annotationsDir, classNames, files: jobs.map((j) => join(videosDir, j.relative)), ffmpeg };
}
