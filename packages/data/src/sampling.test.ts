import { ConfigError, SeededRandom } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { randomResizedCropBox, sampleFrameIndices, sampleTestClipIndices, spatialCrops } from './sampling.js';

describe('sampleFrameIndices', () => {
  it('centre of each of T equal segments by default', () => {
    // segments of 25 frames: centres 12.5, 37.5, 62.5, 87.5 -> floor
    expect(sampleFrameIndices({ numFramesTotal: 100, numFrames: 4 })).toEqual([12, 37, 62, 87]);
    expect(sampleFrameIndices({ numFramesTotal: 250, numFrames: 8 })).toEqual([15, 46, 78, 109, 140, 171, 203, 234]);
  });

  it('random offsets stay inside their own segment and cover the whole clip', () => {
    const rng = new SeededRandom(3);
    for (let trial = 0; trial < 50; trial++) {
      const N = 10 + rng.int(300);
      const T = 1 + rng.int(16);
      const offsets = Array.from({ length: T }, () => rng.uniform());
      const idx = sampleFrameIndices({ numFramesTotal: N, numFrames: T, offset: offsets });
      idx.forEach((f, i) => {
        if (N >= T) {
          expect(f).toBeGreaterThanOrEqual(Math.floor((i * N) / T));
          expect(f).toBeLessThan(Math.ceil(((i + 1) * N) / T));
        }
        expect(f).toBeGreaterThanOrEqual(0);
        expect(f).toBeLessThan(N);
      });
      for (let i = 1; i < T; i++) expect(idx[i]!).toBeGreaterThanOrEqual(idx[i - 1]!);
    }
  });

  it('a span restricts frames to [start, start + length)', () => {
    expect(sampleFrameIndices({ numFramesTotal: 100, numFrames: 4, spanStart: 60, spanLength: 20 })).toEqual([62, 67, 72, 77]);
    expect(sampleFrameIndices({ numFramesTotal: 100, numFrames: 4, spanStart: 60, spanLength: 20, offset: 0 })).toEqual([60, 65, 70, 75]);
  });

  it('repeats frames when the clip is shorter than T', () => {
    expect(sampleFrameIndices({ numFramesTotal: 3, numFrames: 8 })).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    expect(sampleFrameIndices({ numFramesTotal: 1, numFrames: 4 })).toEqual([0, 0, 0, 0]);
  });

  it('rejects bad arguments with what was received', () => {
    expect(() => sampleFrameIndices({ numFramesTotal: 0, numFrames: 8 })).toThrow(/numFramesTotal must be an integer >= 1; received 0/);
    expect(() => sampleFrameIndices({ numFramesTotal: 10, numFrames: 2, spanStart: 8, spanLength: 5 })).toThrow(ConfigError);
    expect(() => sampleFrameIndices({ numFramesTotal: 10, numFrames: 2, offset: [0.1] })).toThrow(/2 entries; received 1/);
    expect(() => sampleFrameIndices({ numFramesTotal: 10, numFrames: 2, offset: 1 })).toThrow(/\[0, 1\)/);
  });
});

describe('sampleTestClipIndices', () => {
  it('K uniform clips interleave: clip k uses offset (k + 0.5) / K in every segment', () => {
    // N = 80, T = 8: segments of 10 frames; K = 4 offsets 0.125, 0.375, 0.625, 0.875 -> +1, +3, +6, +8
    const clips = [0, 1, 2, 3].map((k) => sampleTestClipIndices(80, 8, k, 4));
    expect(clips[0]).toEqual([1, 11, 21, 31, 41, 51, 61, 71]);
    expect(clips[1]).toEqual([3, 13, 23, 33, 43, 53, 63, 73]);
    expect(clips[2]).toEqual([6, 16, 26, 36, 46, 56, 66, 76]);
    expect(clips[3]).toEqual([8, 18, 28, 38, 48, 58, 68, 78]);
    // One clip is the centre sampling.
    expect(sampleTestClipIndices(80, 8, 0, 1)).toEqual(sampleFrameIndices({ numFramesTotal: 80, numFrames: 8 }));
    expect(() => sampleTestClipIndices(80, 8, 4, 4)).toThrow(/clipIndex 4, numClips 4/);
  });
});

describe('spatialCrops', () => {
  it('landscape: left, centre, right squares of the short side', () => {
    expect(spatialCrops(320, 240, 3)).toEqual([
      { x: 0, y: 0, width: 240, height: 240 },
      { x: 40, y: 0, width: 240, height: 240 },
      { x: 80, y: 0, width: 240, height: 240 },
    ]);
    expect(spatialCrops(320, 240, 1)).toEqual([{ x: 40, y: 0, width: 240, height: 240 }]);
  });

  it('portrait: top, centre, bottom', () => {
    expect(spatialCrops(240, 320, 3).map((b) => [b.x, b.y, b.width])).toEqual([
      [0, 0, 240],
      [0, 40, 240],
      [0, 80, 240],
    ]);
  });
});

describe('randomResizedCropBox', () => {
  it('area fraction and aspect ratio fall in range, inside the frame, deterministic under a seed', () => {
    const rng = new SeededRandom(11);
    for (let i = 0; i < 200; i++) {
      const box = randomResizedCropBox(320, 240, { scale: [0.4, 1], ratio: [3 / 4, 4 / 3] }, rng);
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(320);
      expect(box.y + box.height).toBeLessThanOrEqual(240);
      const area = (box.width * box.height) / (320 * 240);
      expect(area).toBeGreaterThan(0.38); // rounding to whole pixels
      expect(area).toBeLessThanOrEqual(1);
      expect(box.width / box.height).toBeGreaterThan(0.72);
      expect(box.width / box.height).toBeLessThan(1.38);
    }
    const a = randomResizedCropBox(320, 240, { scale: [0.05, 0.4], ratio: [3 / 4, 4 / 3] }, new SeededRandom(5));
    const b = randomResizedCropBox(320, 240, { scale: [0.05, 0.4], ratio: [3 / 4, 4 / 3] }, new SeededRandom(5));
    expect(a).toEqual(b);
  });

  it('falls back to a ratio-clamped centre crop when no try fits', () => {
    const alwaysHigh = { uniform: () => 0.999 };
    // scale 1 with a ratio far from the frame's never fits: fallback.
    const box = randomResizedCropBox(300, 100, { scale: [1, 1], ratio: [1, 1] }, alwaysHigh);
    expect(box).toEqual({ x: 100, y: 0, width: 100, height: 100 });
  });
});
