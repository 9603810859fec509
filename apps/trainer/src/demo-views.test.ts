import { DataError } from '@lss/core';
import type { HostViews, ViewLoader } from '@lss/eval';
import { describe, expect, it } from 'vitest';
import { memoizedViewLoader } from './demo-views.js';

const views = { numClips: 1, numCrops: 1, numFrames: 4, size: 32 };

describe('memoizedViewLoader', () => {
  it('decodes each (video, views) once and returns the same pixels after that', async () => {
    const calls: string[] = [];
    const inner: ViewLoader = async (sample, v) => {
      calls.push(`${sample.path}:${v.numFrames}`);
      if (sample.path.endsWith('bad.avi')) throw new DataError(`${sample.path}: truncated`);
      return { data: new Float32Array([calls.length]), shape: [1, 1, 1, 1, 1] } satisfies HostViews;
    };
    const load = memoizedViewLoader(inner);
    const a = await load({ path: '/w/a.avi', label: 0 }, views);
    const again = await load({ path: '/w/a.avi', label: 0 }, { ...views });
    expect(again).toBe(a);
    const b = await load({ path: '/w/b.avi', label: 1 }, views);
    expect(b.data[0]).toBe(2);
    const a8 = await load({ path: '/w/a.avi', label: 0 }, { ...views, numFrames: 8 });
    expect(a8).not.toBe(a);
    await expect(load({ path: '/w/bad.avi', label: 0 }, views)).rejects.toThrow(DataError);
    await expect(load({ path: '/w/bad.avi', label: 0 }, views)).rejects.toThrow(/bad\.avi: truncated/);
    expect(calls).toEqual(['/w/a.avi:4', '/w/b.avi:4', '/w/a.avi:8', '/w/bad.avi:4']);
    expect(load.decoded()).toBe(4);
  });
});
