import { describe, expect, it } from 'vitest';
import { renderSyntheticVideo, type SYNTHETIC_MOTIONS } from './synthetic.js';

function centroid(clip: ReturnType<typeof renderSyntheticVideo>, t: number): { x: number; y: number; area: number } {
  const [, H, W] = clip.shape;
  // The background is dark (< 0.35 * 255 per channel, gradient); the shape has one channel above 0.55 * 255.
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++) {
      const o = ((t * H + y) * W + x) * 3;
      if (Math.max(clip.data[o]!, clip.data[o + 1]!, clip.data[o + 2]!) > 0.5 * 255) {
        sx += x;
        sy += y;
        n++;
      }
    }
  return { x: sx / Math.max(1, n), y: sy / Math.max(1, n), area: n };
}

describe('renderSyntheticVideo', () => {
  const opts = { width: 64, height: 48, numFrames: 16 } as const;

  it('is deterministic under a seed; seeds change the appearance', () => {
    const a = renderSyntheticVideo({ ...opts, motion: 'Rotate', seed: 3 });
    expect(a.shape).toEqual([16, 48, 64, 3]);
    expect(renderSyntheticVideo({ ...opts, motion: 'Rotate', seed: 3 }).data).toEqual(a.data);
    expect(renderSyntheticVideo({ ...opts, motion: 'Rotate', seed: 4 }).data).not.toEqual(a.data);
  });

  it('each motion does what its name says', () => {
    for (const seed of [1, 2, 3]) {
      const first = (m: (typeof SYNTHETIC_MOTIONS)[number]) => centroid(renderSyntheticVideo({ ...opts, motion: m, seed }), 0);
      const last = (m: (typeof SYNTHETIC_MOTIONS)[number]) => centroid(renderSyntheticVideo({ ...opts, motion: m, seed }), 15);
      expect(last('MoveRight').x - first('MoveRight').x).toBeGreaterThan(10);
      expect(first('MoveLeft').x - last('MoveLeft').x).toBeGreaterThan(10);
      expect(last('MoveDown').y - first('MoveDown').y).toBeGreaterThan(5);
      expect(first('MoveUp').y - last('MoveUp').y).toBeGreaterThan(5);
      expect(last('Grow').area).toBeGreaterThan(2 * first('Grow').area);
      expect(first('Shrink').area).toBeGreaterThan(2 * last('Shrink').area);
      const blink = renderSyntheticVideo({ ...opts, motion: 'Blink', seed });
      const areas = Array.from({ length: 16 }, (_, t) => centroid(blink, t).area);
      expect(Math.min(...areas)).toBe(0);
      expect(Math.max(...areas)).toBeGreaterThan(20);
      // Rotation moves pixels although the centroid stays put.
      const rot = renderSyntheticVideo({ ...opts, motion: 'Rotate', seed });
      const frameBytes = 48 * 64 * 3;
      let changed = 0;
      for (let i = 0; i < frameBytes; i++) if (rot.data[i] !== rot.data[8 * frameBytes + i]) changed++;
      expect(changed).toBeGreaterThan(30);
    }
  });

  it('validates its options', () => {
    expect(() => renderSyntheticVideo({ ...opts, motion: 'Fly' as 'Rotate', seed: 1 })).toThrow(/unknown motion "Fly"/);
    expect(() => renderSyntheticVideo({ ...opts, width: 4, motion: 'Rotate', seed: 1 })).toThrow(/width must be an integer >= 8/);
  });
});
