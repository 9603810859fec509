import { describe, expect, it } from 'vitest';
import type { VideoInfo } from '../types.js';
import { makeTempDir, TEST_FFMPEG, writeIndexVideo } from './__fixtures__/videos.js';
import { loadVideoViews, segmentFrames } from './clip-views.js';

const INFO: VideoInfo = { width: 64, height: 48, fps: 25, duration: 4, startTime: 0, numFrames: 100, frameCountExact: true, codec: 'h264' };

describe('segmentFrames (Kinetics time_start/time_end)', () => {
  it('samples the annotated segment of an untrimmed file, the whole of a trimmed one', () => {
    expect(segmentFrames(INFO, { start: 2, end: 3 })).toEqual({ offset: 50, numFrames: 25 });
    expect(segmentFrames(INFO)).toEqual({ offset: 0, numFrames: 100 });
    // A trimmed 10 s clip annotated 45-55 is 10 s long: used whole.
    expect(segmentFrames({ ...INFO, duration: 10, numFrames: 250 }, { start: 45, end: 55 })).toEqual({ offset: 0, numFrames: 250 });
    // A file shorter than its segment is a trimmed clip: used whole.
    expect(segmentFrames(INFO, { start: 30, end: 40 })).toEqual({ offset: 0, numFrames: 100 });
    // A segment past the end of a long file is clamped to its last frame.
    expect(segmentFrames({ ...INFO, duration: 60, numFrames: 1500 }, { start: 70, end: 80 })).toEqual({ offset: 1499, numFrames: 1 });
  });

  it('loadVideoViews decodes only inside the segment', async () => {
    const path = await writeIndexVideo(makeTempDir('segment'), 'long.mp4', 'h264');
    const loaded = await loadVideoViews(
      path,
      { mode: 'test', config: { numClips: 2, numCrops: 1, numFrames: 4, size: 32, normalize: false } },
      { ffmpegPath: TEST_FFMPEG, segment: { start: 2, end: 3 } },
    );
    // 25 frames from 50: segments of 6.25 frames, clip offsets 0.25 and 0.75.
    expect(loaded.plans.map((p) => p.frameIndices)).toEqual([
      [51, 57, 64, 70],
      [54, 60, 67, 73],
    ]);
    expect(loaded.views.map((v) => v.shape)).toEqual([
      [4, 32, 32, 3],
      [4, 32, 32, 3],
    ]);
    // The right half of an index frame encodes floor(i / 16): 3 for frames 48-63, 4 for 64-79; the crop is the centre
    // 48x48 of 64x48, so output column 31 lies in the right half.
    const level = (v: number, t: number) => (loaded.views[v]?.data[((t * 32 + 16) * 32 + 31) * 3] ?? Number.NaN) * 255;
    expect(Math.round((level(0, 0) - 8) / 16)).toBe(3);
    expect(Math.round((level(0, 3) - 8) / 16)).toBe(4);
  });
});
