import { SeededRandom } from '@lss/core';
import { describe, expect, it } from 'vitest';
import {
  adjustBrightnessInPlace,
  adjustContrastInPlace,
  adjustHueInPlace,
  adjustSaturationInPlace,
  CLIP_IMAGE_MEAN,
  CLIP_IMAGE_STD,
  cropResizeFrames,
  gaussianBlurInPlace,
  gaussianKernel1d,
  grayscaleInPlace,
  normalizeClip,
  solarizeInPlace,
} from './augment.js';
import type { RgbFrames } from './types.js';

function randomFrames(T: number, H: number, W: number, seed = 1): RgbFrames {
  const rng = new SeededRandom(seed);
  const data = new Uint8Array(T * H * W * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.int(256);
  return { data, shape: [T, H, W, 3] };
}

describe('cropResizeFrames', () => {
  it('a full-frame box at the same size is the identity (scaled to [0, 1])', () => {
    const frames = randomFrames(2, 6, 8);
    const out = cropResizeFrames(frames, [0, 1], { x: 0, y: 0, width: 8, height: 6 }, 6, 8);
    expect(out.length).toBe(2 * 6 * 8 * 3);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBeCloseTo(frames.data[i]! / 255, 6);
  });

  it('crops the right pixels, picks frames by slot, and flips columns', () => {
    const frames = randomFrames(3, 6, 8);
    const at = (t: number, y: number, x: number, c: number) => frames.data[((t * 6 + y) * 8 + x) * 3 + c]! / 255;
    const out = cropResizeFrames(frames, [2], { x: 3, y: 1, width: 4, height: 2 }, 2, 4);
    expect(out[0]).toBeCloseTo(at(2, 1, 3, 0), 6);
    expect(out[(1 * 4 + 3) * 3 + 2]).toBeCloseTo(at(2, 2, 6, 2), 6);
    const flipped = cropResizeFrames(frames, [2], { x: 3, y: 1, width: 4, height: 2 }, 2, 4, true);
    expect(flipped[0]).toBeCloseTo(at(2, 1, 6, 0), 6);
    expect(flipped[(1 * 4 + 3) * 3 + 1]).toBeCloseTo(at(2, 2, 3, 1), 6);
  });

  it('halving averages 2x2 blocks (bilinear at half-pixel centres)', () => {
    const frames = randomFrames(1, 4, 4);
    const out = cropResizeFrames(frames, [0], { x: 0, y: 0, width: 4, height: 4 }, 2, 2);
    const px = (y: number, x: number, c: number) => frames.data[(y * 4 + x) * 3 + c]!;
    const expected = (px(0, 0, 0) + px(0, 1, 0) + px(1, 0, 0) + px(1, 1, 0)) / 4 / 255;
    expect(out[0]).toBeCloseTo(expected, 5);
  });

  it('shrinking by 4x antialiases: a 1-pixel checkerboard becomes flat gray', () => {
    const data = new Uint8Array(16 * 16 * 3);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) data.fill((x + y) % 2 ? 255 : 0, (y * 16 + x) * 3, (y * 16 + x) * 3 + 3);
    const out = cropResizeFrames({ data, shape: [1, 16, 16, 3] }, [0], { x: 0, y: 0, width: 16, height: 16 }, 4, 4);
    for (const v of out) expect(v).toBeCloseTo(0.5, 1);
  });
});

describe('colour operations (torchvision semantics)', () => {
  it('brightness multiplies and clamps', () => {
    const out = adjustBrightnessInPlace(Float32Array.from([0.2, 0.6, 0.9]), 1.5);
    expect(out[0]).toBeCloseTo(0.3, 6);
    expect(out[1]).toBeCloseTo(0.9, 6);
    expect(out[2]).toBe(1);
  });

  it('contrast blends with the frame mean luma; factor 0 gives a flat mean image', () => {
    const data = Float32Array.from([0, 0, 0, 1, 1, 1]); // one frame of 1x2 pixels: black, white
    adjustContrastInPlace(data, [1, 1, 2, 3], 0);
    for (const v of data) expect(v).toBeCloseTo(0.5, 6);
  });

  it('saturation 0 equals grayscale; factor 1 is the identity', () => {
    const a = Float32Array.from([0.9, 0.2, 0.1, 0.3, 0.6, 0.8]);
    const b = Float32Array.from(a);
    adjustSaturationInPlace(a, 0);
    grayscaleInPlace(b);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 6);
    const c = Float32Array.from([0.9, 0.2, 0.1]);
    adjustSaturationInPlace(c, 1);
    expect(c[0]).toBeCloseTo(0.9, 6);
    expect(b[0]).toBeCloseTo(0.299 * 0.9 + 0.587 * 0.2 + 0.114 * 0.1, 6);
  });

  it('hue shift of 1/3 turns red into green and green into blue; gray is unchanged', () => {
    const data = Float32Array.from([1, 0, 0, 0, 1, 0, 0.5, 0.5, 0.5]);
    adjustHueInPlace(data, 1 / 3);
    const r = [...data].map((v) => Number(v.toFixed(5)));
    expect(r).toEqual([0, 1, 0, 0, 0, 1, 0.5, 0.5, 0.5]);
    expect(() => adjustHueInPlace(data, 0.7)).toThrow(/\[-0.5, 0.5\]/);
  });

  it('solarize inverts values at or above the threshold', () => {
    expect([...solarizeInPlace(Float32Array.from([0.25, 0.5, 0.75]))]).toEqual([0.25, 0.5, 0.25]);
  });

  it('Gaussian blur keeps a flat image, spreads an impulse and preserves its mass', () => {
    const kernel = gaussianKernel1d(1);
    expect(kernel.length).toBe(7);
    expect(kernel.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const flat = new Float32Array(1 * 9 * 9 * 3).fill(0.4);
    gaussianBlurInPlace(flat, [1, 9, 9, 3], 1.5);
    for (const v of flat) expect(v).toBeCloseTo(0.4, 5);
    const impulse = new Float32Array(1 * 15 * 15 * 3);
    impulse[(7 * 15 + 7) * 3] = 1;
    gaussianBlurInPlace(impulse, [1, 15, 15, 3], 1);
    let sum = 0;
    for (let i = 0; i < impulse.length; i += 3) sum += impulse[i]!;
    expect(sum).toBeCloseTo(1, 5);
    expect(impulse[(7 * 15 + 7) * 3]).toBeCloseTo(kernel[3]! * kernel[3]!, 6);
    expect(impulse[(7 * 15 + 8) * 3]).toBeCloseTo(kernel[3]! * kernel[4]!, 6);
  });

  it('CLIP normalisation uses the CLIP mean and std', () => {
    const data = Float32Array.from([CLIP_IMAGE_MEAN[0], CLIP_IMAGE_MEAN[1], CLIP_IMAGE_MEAN[2], 1, 1, 1]);
    normalizeClip(data);
    expect(data[0]).toBeCloseTo(0, 6);
    expect(data[2]).toBeCloseTo(0, 6);
    expect(data[3]).toBeCloseTo((1 - 0.48145466) / 0.26862954, 5);
    expect(data[5]).toBeCloseTo((1 - 0.40821073) / 0.27577711, 5);
    expect(CLIP_IMAGE_STD).toEqual([0.26862954, 0.26130258, 0.27577711]);
  });
});
