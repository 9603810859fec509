import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError } from '@lss/core';
import { afterEach, describe, expect, it } from 'vitest';
import { extractFeatures, type FeatureModel, type FeatureSample, featureCacheKey, type ViewLoader } from './feature-cache.js';

const views = { numClips: 2, numCrops: 1, numFrames: 2, size: 4 };
// A fake model: the feature of a view is [mean pixel, number of views in the call, 1].
const encoded: number[] = [];
const model: FeatureModel = {
  kind: 'clip',
  path: '/fake',
  hash: 'f'.repeat(64),
  label: 'fake',
  embedDim: 3,
  imageSize: 4,
  async encodeViews(v) {
    const n = v.shape[0] as number;
    encoded.push(n);
    const per = v.data.length / n;
    const out = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) {
      out[i * 3] = v.data.subarray(i * per, (i + 1) * per).reduce((a, b) => a + b, 0) / per;
      out[i * 3 + 2] = 1;
    }
    return out;
  },
};
const samples: FeatureSample[] = Array.from({ length: 10 }, (_, i) => ({ path: `/videos/v${i}.mp4`, label: i % 3 }));
const videoValue = (path: string, clip: number) => Number(/v(\d+)/.exec(path)?.[1]) * 10 + clip;
const loadViews: ViewLoader = async (s, v) => {
  const per = v.numFrames * v.size * v.size * 3;
  const data = new Float32Array(v.numClips * v.numCrops * per);
  for (let c = 0; c < v.numClips * v.numCrops; c++) data.fill(videoValue(s.path, c), c * per, (c + 1) * per);
  return { data, shape: [v.numClips * v.numCrops, v.numFrames, v.size, v.size, 3] };
};

let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  encoded.length = 0;
});

describe('feature extraction with a cache', () => {
  it('returns [N, V, D] features in sample order', async () => {
    const r = await extractFeatures({ model, samples, views, loadViews, progressLabel: null });
    expect([r.numVideos, r.numViews, r.dim]).toEqual([10, 2, 3]);
    expect(r.data[(7 * 2 + 1) * 3]).toBe(71); // video 7, clip 1
    expect(Array.from(r.labels.slice(0, 4))).toEqual([0, 1, 2, 0]);
    expect(encoded).toEqual([8, 8, 4]); // 4 videos x 2 views per call
  });

  it('resumes after an interruption and reuses the cache across splits', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lss-eval-cache-'));
    let calls = 0;
    const crashing: ViewLoader = async (s, v) => {
      if (++calls > 6) throw new Error('simulated crash');
      return loadViews(s, v);
    };
    await expect(
      extractFeatures({ model, samples, views, loadViews: crashing, cacheDir: dir, shardSize: 3, batchVideos: 1, progressLabel: null }),
    ).rejects.toThrow('simulated crash');
    const { key } = featureCacheKey(model, views);
    expect(readdirSync(join(dir, key)).filter((f) => f.endsWith('.safetensors'))).toHaveLength(2); // two complete shards of 3
    encoded.length = 0;
    const r = await extractFeatures({ model, samples, views, loadViews, cacheDir: dir, shardSize: 3, batchVideos: 1, progressLabel: null });
    expect(r.fromCache).toBe(6);
    expect(r.extracted).toBe(4);
    expect(r.data[(9 * 2 + 1) * 3]).toBe(91);
    expect(r.data[(2 * 2 + 0) * 3]).toBe(20);
    // Another split over the same videos: nothing to compute.
    const again = await extractFeatures({ model, samples: samples.slice(2, 5), views, loadViews, cacheDir: dir, progressLabel: null });
    expect([again.fromCache, again.extracted]).toEqual([3, 0]);
    expect(again.data[0]).toBe(20);
  });

  it('keys the cache by model hash and views', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lss-eval-cache-'));
    await extractFeatures({ model, samples: samples.slice(0, 2), views, loadViews, cacheDir: dir, progressLabel: null });
    const other = await extractFeatures({
      model,
      samples: samples.slice(0, 2),
      views: { ...views, numClips: 1 },
      loadViews,
      cacheDir: dir,
      progressLabel: null,
    });
    expect(other.extracted).toBe(2);
    const otherModel = await extractFeatures({
      model: { ...model, hash: 'e'.repeat(64) },
      samples: samples.slice(0, 2),
      views,
      loadViews,
      cacheDir: dir,
      progressLabel: null,
    });
    expect(otherModel.extracted).toBe(2);
    expect(readdirSync(dir)).toHaveLength(3);
    expect(existsSync(join(dir, featureCacheKey(model, views).key, 'manifest.json'))).toBe(true);
  });

  it('rejects views of the wrong shape with the shapes in the message', async () => {
    const bad: ViewLoader = async () => ({ data: new Float32Array(2 * 2 * 4 * 4 * 3), shape: [1, 2, 2, 4, 4, 3] });
    await expect(extractFeatures({ model, samples: samples.slice(0, 1), views, loadViews: bad, progressLabel: null })).rejects.toThrow(
      /expected \[2, /,
    );
  });

  it('skips unreadable videos (DataError), reports them, leaves them out of the rows and of the cache', async () => {
    dir = mkdtempSync(join(tmpdir(), 'lss-eval-cache-'));
    const badPaths = new Set(['/videos/v3.mp4', '/videos/v8.mp4']);
    const flaky: ViewLoader = async (s, v) => {
      if (badPaths.has(s.path)) throw new DataError(`ffmpeg cannot read ${s.path} as a video: moov atom not found.`);
      return loadViews(s, v);
    };
    const seen: string[] = [];
    const r = await extractFeatures({
      model,
      samples,
      views,
      loadViews: flaky,
      cacheDir: dir,
      shardSize: 4,
      batchVideos: 3,
      maxBadFraction: 0.2,
      progressLabel: null,
      onSkip: (s) => seen.push(s.path),
    });
    expect(seen).toEqual(['/videos/v3.mp4', '/videos/v8.mp4']);
    expect(r.skipped.map((s) => s.path)).toEqual(seen);
    expect(r.skipped[0]?.reason).toContain('moov atom not found');
    expect(r.numVideos).toBe(8);
    expect(Array.from(r.sampleIndices)).toEqual([0, 1, 2, 4, 5, 6, 7, 9]);
    expect(Array.from(r.labels)).toEqual([0, 1, 2, 1, 2, 0, 1, 0]);
    expect(r.data[(3 * 2 + 1) * 3]).toBe(41); // row 3 is video 4, clip 1
    expect(r.data[(7 * 2 + 0) * 3]).toBe(90); // row 7 is video 9
    // The readable videos are cached; the bad ones are tried again (and now load).
    badPaths.clear();
    const again = await extractFeatures({ model, samples, views, loadViews: flaky, cacheDir: dir, shardSize: 4, progressLabel: null });
    expect([again.fromCache, again.extracted, again.skipped.length, again.numVideos]).toEqual([8, 2, 0, 10]);
  });

  it('stops with a DataError listing the videos once more than maxBadFraction are unreadable', async () => {
    const bad: ViewLoader = async (s, v) => {
      if (/v[0-2]\./.test(s.path)) throw new DataError(`Empty video file (0 bytes): ${s.path}.`);
      return loadViews(s, v);
    };
    // 3 of 10 bad: allowed at 0.3, not at the default 0.1 nor at 0.25.
    await expect(
      extractFeatures({ model, samples, views, loadViews: bad, progressLabel: null, maxBadFraction: 0.3 }),
    ).resolves.toMatchObject({
      numVideos: 7,
    });
    for (const maxBadFraction of [undefined, 0.25]) {
      const error = await extractFeatures({
        model,
        samples,
        views,
        loadViews: bad,
        progressLabel: 'split 1 test',
        progressStream: null,
        ...(maxBadFraction !== undefined ? { maxBadFraction } : {}),
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DataError);
      const message = (error as Error).message;
      expect(message).toMatch(/of 10 videos of split 1 test could not be read, more than the allowed (10|25) %/);
      expect(message).toContain('/videos/v0.mp4: Empty video file');
      expect(message).toContain('--max-bad-fraction');
    }
    await expect(extractFeatures({ model, samples, views, loadViews, progressLabel: null, maxBadFraction: 2 })).rejects.toThrow(
      /maxBadFraction must be a fraction in \[0, 1\]; received 2/,
    );
  });
});
