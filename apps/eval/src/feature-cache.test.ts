import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
