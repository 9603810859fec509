/**
 * Bad options and bad paths are rejected up front with a message that names what was received, what is expected and
 * how to fix it (found by a fresh-user trial: several used to be silently ignored, surface as "unreadable video" for
 * every sample, or arrive as a raw TypeError / RangeError).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError, DataError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import type { VideoSample } from '../types.js';
import { SVT_VIEW_CONFIG, TEST_VIEW_CONFIG_4X3, type TestViewConfig } from '../views.js';
import { makeTempDir, TEST_FFMPEG, writeIndexVideo } from './__fixtures__/videos.js';
import { DecodeBatcher } from './decode-batcher.js';
import { decodeFrames, probeVideo } from './ffmpeg.js';
import { VideoLoader, type VideoLoaderOptions } from './loader.js';
import { ViewWorkerPool } from './pool.js';
import { readUcf101 } from './readers.js';

const SAMPLES: VideoSample[] = [{ path: '/nowhere/a.mp4', label: 0, className: 'a' }];
const TRAIN = { mode: 'train', config: SVT_VIEW_CONFIG } as const;

function loaderError(options: Partial<VideoLoaderOptions>): unknown {
  try {
    new VideoLoader({ dataset: SAMPLES, batchSize: 1, views: TRAIN, numWorkers: 0, ...options } as VideoLoaderOptions);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('VideoLoader checks its options when it is created', () => {
  it('batchClips: an integer >= 1, said with the default and what 1 means', () => {
    for (const bad of [0, -1, 2.5, '4']) {
      const error = loaderError({ batchClips: bad as number });
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(
        /^VideoLoader: batchClips must be an integer >= 1 \(clips per ffmpeg process; 1 = a process per clip, default 4\); received /,
      );
      expect((error as Error).message).toContain(`received ${JSON.stringify(bad)}.`);
    }
    expect(loaderError({ batchClips: 1 })).toBeUndefined();
    expect(() => new DecodeBatcher({ maxClips: 0 })).toThrow(ConfigError);
    expect(() => new DecodeBatcher({ maxClips: 0 })).toThrow(/DecodeBatcher: maxClips must be an integer >= 1/);
  });

  it('views: a missing views, an unknown mode or a bad test config is a ConfigError, not a skipped video per sample', () => {
    expect(loaderError({ views: undefined })).toBeInstanceOf(ConfigError);
    expect((loaderError({ views: undefined }) as Error).message).toMatch(/views must be \{ mode: 'train'.*received undefined\. E\.g\./);
    expect((loaderError({ views: { mode: 'eval', config: SVT_VIEW_CONFIG } as never }) as Error).message).toMatch(
      /received \{"mode":"eval"/,
    );
    expect((loaderError({ views: { mode: 'test' } as never }) as Error).message).toMatch(/views must be/);
    const badTest: TestViewConfig = { ...TEST_VIEW_CONFIG_4X3, numClips: 0 };
    expect((loaderError({ views: { mode: 'test', config: badTest } }) as Error).message).toMatch(
      /TestViewConfig\.numClips must be an integer >= 1; received 0/,
    );
    expect(loaderError({ views: { mode: 'test', config: TEST_VIEW_CONFIG_4X3 } })).toBeUndefined();
  });

  it('an empty or missing dataset is a ConfigError that points at the reader and videosDir', () => {
    const empty = loaderError({ dataset: [] });
    expect(empty).toBeInstanceOf(ConfigError);
    expect((empty as Error).message).toMatch(/has no samples.*check its videosDir/);
    expect((loaderError({ dataset: undefined as never }) as Error).message).toMatch(/dataset must be an array.*received undefined/);
  });

  it('ViewWorkerPool.load checks batchClips too', async () => {
    const pool = new ViewWorkerPool(0);
    try {
      await expect(pool.load('/nowhere/a.mp4', TRAIN_REQUEST, { options: { batchClips: 0 } })).rejects.toThrow(
        /ViewWorkerPool\.load: batchClips must be an integer >= 1/,
      );
    } finally {
      await pool.close();
    }
  });
});

const TRAIN_REQUEST = { mode: 'train', config: SVT_VIEW_CONFIG, seed: 1 } as const;

describe('decode options and paths: the error says what to do', () => {
  it('missing file (relative: the folder it was resolved from), folder named like a video, non-integer or out-of-range index, bad sizes, timeout', async () => {
    const dir = makeTempDir('option-errors');
    const rel = relative(process.cwd(), join(dir, 'nope.mp4'));
    await expect(probeVideo(rel, { ffmpegPath: TEST_FFMPEG })).rejects.toThrow(
      new RegExp(
        `^Video not found: ${rel.replaceAll('.', '\\.')}\\. Check the path \\(relative to ${process.cwd().replaceAll('.', '\\.')}\\) or the dataset's videos folder`,
      ),
    );
    mkdirSync(join(dir, 'folder.mp4'));
    await expect(probeVideo(join(dir, 'folder.mp4'), { ffmpegPath: TEST_FFMPEG })).rejects.toThrow(
      /Not a file: .*folder\.mp4 is a folder; expected a video file/,
    );
    writeFileSync(join(dir, 'notes.avi'), 'not a video\n');
    await expect(probeVideo(join(dir, 'notes.avi'), { ffmpegPath: TEST_FFMPEG })).rejects.toThrow(
      /not a video: re-download it, re-encode it with ffmpeg, or remove it from the dataset/,
    );
    const path = await writeIndexVideo(dir, 'a.mp4', 'h264', 32);
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    const decode = (indices: number[], extra: object = {}) => decodeFrames(path, indices, { ffmpegPath: TEST_FFMPEG, info, ...extra });
    await expect(decode([1.5])).rejects.toThrow(/frame indices must be integers \(0 = the first decoded frame\); received 1\.5/);
    await expect(decode([1000])).rejects.toThrow(/frame index 1000 is outside \[0, 32\) .* which has 32 frames .*sampleFrameIndices/);
    await expect(decode([0], { outputSize: { width: -1, height: 30 } })).rejects.toThrow(ConfigError);
    await expect(decode([0], { outputSize: { width: -1, height: 30 } })).rejects.toThrow(/outputSize must be positive integers/);
    await expect(decode([0], { maxShortSide: 0 })).rejects.toThrow(/maxShortSide must be an integer >= 1 .*received 0/);
    const slow = await writeIndexVideo(dir, 'long.mp4', 'h264', 250);
    const slowInfo = await probeVideo(slow, { ffmpegPath: TEST_FFMPEG });
    const timedOut = await decodeFrames(slow, [249], { ffmpegPath: TEST_FFMPEG, info: slowInfo, timeoutMs: 1 }).catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(DataError);
    expect((timedOut as Error).message).toMatch(/timed out decoding .*long\.mp4 \(after 1 ms\)\. .*raise timeoutMs \(now 1\)/);
  });

  it('a reader whose listed videos are all missing warns at once (a wrong videosDir), with the files it looked for', () => {
    const dir = makeTempDir('all-missing');
    mkdirSync(join(dir, 'ann'));
    writeFileSync(join(dir, 'ann', 'classInd.txt'), '1 Archery\n2 Bowling\n');
    writeFileSync(join(dir, 'ann', 'trainlist01.txt'), 'Archery/v_Archery_g01_c01.avi 1\nBowling/v_Bowling_g01_c01.avi 2\n');
    const warnings: string[] = [];
    const ds = readUcf101({
      videosDir: join(dir, 'wrong'),
      annotationsDir: join(dir, 'ann'),
      split: 1,
      subset: 'train',
      onWarning: (m) => warnings.push(m),
    });
    expect(ds.samples).toHaveLength(0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/2 listed video\(s\) not found on disk \(0 found\).*Check the videos directory/s);
    expect(warnings[0]).toContain(join(dir, 'wrong', 'Archery', 'v_Archery_g01_c01.avi'));
  });
});
