import { ConfigError, SeededRandom } from '@lss/core';
import { renderStill } from '@lss/data';
import { describe, expect, it } from 'vitest';
import { type AppearanceAugmentation, augmentAppearance, stillMatte, validateAppearance } from './clip-augment.js';

const S = 32;
const still = (label: number, seed: number) => renderStill({ label, size: S, seed }).data;
const plain: AppearanceAugmentation = { probability: 1, minScale: 1, maxNoise: 0, maxTexture: 0 };

/** Rows (y) that hold a figure pixel (matte > 0.5) in a `[S, S]` matte. */
function figureRows(alpha: Float32Array): number[] {
  const rows: number[] = [];
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if ((alpha[y * S + x] as number) > 0.5 && !rows.includes(y)) rows.push(y);
  return rows;
}

describe('stillMatte', () => {
  it('recomposes the still from its background and figure colours (within rounding)', () => {
    for (const label of [0, 6, 8]) {
      const img = still(label, 11 + label);
      const alpha = stillMatte(img, S);
      const bg = [img[0], img[1], img[2]] as number[];
      // The figure colour: a pixel of full coverage.
      let fgIndex = -1;
      alpha.forEach((a, i) => {
        if (a === 1 && fgIndex < 0) fgIndex = i;
      });
      expect(fgIndex).toBeGreaterThanOrEqual(0);
      const fg = [img[3 * fgIndex], img[3 * fgIndex + 1], img[3 * fgIndex + 2]] as number[];
      let worst = 0;
      for (let i = 0; i < S * S; i++) {
        for (let c = 0; c < 3; c++) {
          const a = alpha[i] as number;
          const v = (bg[c] as number) * (1 - a) + (fg[c] as number) * a;
          worst = Math.max(worst, Math.abs(v - (img[3 * i + c] as number)));
        }
      }
      expect(worst).toBeLessThanOrEqual(1.5);
      expect(alpha[0]).toBe(0);
      expect(alpha.filter((a) => a > 0.5).length).toBeGreaterThan(20); // a figure, not a speck
    }
  });

  it('is all zero for a plain image', () => {
    expect(Array.from(stillMatte(new Uint8Array(S * S * 3).fill(200), S)).every((a) => a === 0)).toBe(true);
  });
});

describe('augmentAppearance', () => {
  it('is a function of the still and the generator state', () => {
    const img = still(3, 5);
    const a = new Float32Array(S * S * 3);
    const b = new Float32Array(S * S * 3);
    const opts: AppearanceAugmentation = { probability: 1, minScale: 0.6, maxNoise: 10, maxTexture: 24 };
    augmentAppearance(img, S, new SeededRandom(9), opts, { dx: 1, dy: -2, flip: true }, a, 0);
    augmentAppearance(img, S, new SeededRandom(9), opts, { dx: 1, dy: -2, flip: true }, b, 0);
    expect(b).toEqual(a);
    augmentAppearance(img, S, new SeededRandom(10), opts, { dx: 1, dy: -2, flip: true }, b, 0);
    expect(b).not.toEqual(a);
    expect(a.every((v) => v >= 0 && v <= 255)).toBe(true);
  });

  it('keeps the figure where it was and changes its look (no scale, shift, noise or texture)', () => {
    const img = still(6, 21);
    const alpha = stillMatte(img, S);
    const out = new Float32Array(S * S * 3);
    augmentAppearance(img, S, new SeededRandom(4), plain, { dx: 0, dy: 0, flip: false }, out, 0);
    // The output's own matte (its background is one or two flat tones): the figure's pixels have one colour
    // that contrasts with the background by >= 80 levels on some channel, where the still's matte is 1.
    const full = [...alpha.keys()].filter((i) => alpha[i] === 1);
    const fg = [out[3 * (full[0] as number)], out[3 * (full[0] as number) + 1], out[3 * (full[0] as number) + 2]] as number[];
    for (const i of full) for (let c = 0; c < 3; c++) expect(out[3 * i + c]).toBeCloseTo(fg[c] as number, 3);
    const corner = [out[0], out[1], out[2]] as number[];
    expect(Math.max(...fg.map((v, c) => Math.abs(v - (corner[c] as number))))).toBeGreaterThanOrEqual(80);
    // The look changed: not the still's background colour.
    expect(corner).not.toEqual([img[0], img[1], img[2]]);
  });

  it('scales the figure about its feet', () => {
    const img = still(0, 2);
    const tall = figureRows(stillMatte(img, S));
    const out = new Float32Array(S * S * 3);
    const half: AppearanceAugmentation = { probability: 1, minScale: 0.5, maxNoise: 0, maxTexture: 0 };
    // minScale 0.5 draws a scale in [0.5, 1]; find the drawn scale's effect through the figure's height.
    augmentAppearance(img, S, new SeededRandom(1), half, { dx: 0, dy: 0, flip: false }, out, 0);
    const rng = new SeededRandom(1);
    const scale = 0.5 + 0.5 * rng.uniform();
    // Figure pixels of the output: those that differ from both background tones (its top-left and bottom-left
    // corners) by > 40 levels; the figure's colour contrasts with both by >= 80.
    const tones = [
      [out[0], out[1], out[2]],
      [out[3 * (S - 1) * S], out[3 * (S - 1) * S + 1], out[3 * (S - 1) * S + 2]],
    ] as number[][];
    const rows: number[] = [];
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const o = 3 * (y * S + x);
        const far = tones.every((t) => Math.max(...[0, 1, 2].map((c) => Math.abs((out[o + c] as number) - (t[c] as number)))) > 40);
        if (far && !rows.includes(y)) rows.push(y);
      }
    }
    const height = (r: number[]) => Math.max(...r) - Math.min(...r) + 1;
    expect(height(rows)).toBeGreaterThanOrEqual(Math.floor(height(tall) * scale) - 2);
    expect(height(rows)).toBeLessThanOrEqual(Math.ceil(height(tall) * scale) + 2);
    expect(Math.max(...rows)).toBeGreaterThanOrEqual(Math.max(...tall) - 2); // the feet stay on the ground line
  });
});

describe('validateAppearance', () => {
  it('names the bad field', () => {
    expect(() => validateAppearance({ ...plain, probability: 1.5 })).toThrow(ConfigError);
    expect(() => validateAppearance({ ...plain, minScale: 0 })).toThrow(/appearance\.minScale .*received 0/);
    expect(() => validateAppearance({ ...plain, maxNoise: -1 })).toThrow(/maxNoise/);
    expect(validateAppearance(plain)).toBe(plain);
  });
});
