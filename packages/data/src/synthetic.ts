/**
 * Synthetic action videos rendered in JS: one moving or changing shape per video, one action class per motion
 * pattern. Pure and deterministic under a seed; `@lss/data/node`'s `generateSyntheticDataset` encodes them with
 * ffmpeg into a UCF-101-style dataset.
 */
import { ConfigError, SeededRandom } from '@lss/core';
import type { RgbFrames } from './types.js';

/** The motion patterns, in class order. Class `k` of a synthetic dataset is `SYNTHETIC_MOTIONS[k]`. */
export const SYNTHETIC_MOTIONS = [
  'MoveLeft',
  'MoveRight',
  'Rotate',
  'Grow',
  'Bounce',
  'Blink',
  'Shrink',
  'MoveUp',
  'MoveDown',
  'RotateBack',
] as const;

export type SyntheticMotion = (typeof SYNTHETIC_MOTIONS)[number];

/** Options of {@link renderSyntheticVideo}. */
export interface SyntheticVideoOptions {
  readonly motion: SyntheticMotion;
  readonly width: number;
  readonly height: number;
  readonly numFrames: number;
  /** Seed of the appearance (shape, colours, start position, speed). */
  readonly seed: number | string;
}

type ShapeKind = 'circle' | 'square' | 'triangle';

/**
 * Renders one synthetic clip.
 *
 * Output shape: `[numFrames, height, width, 3]` uint8 RGB.
 *
 * @example
 * const clip = renderSyntheticVideo({ motion: 'Rotate', width: 64, height: 48, numFrames: 32, seed: 1 });
 */
export function renderSyntheticVideo(options: SyntheticVideoOptions): RgbFrames {
  const { motion, width: W, height: H, numFrames: T } = options;
  if (!SYNTHETIC_MOTIONS.includes(motion)) {
    throw new ConfigError(`renderSyntheticVideo: unknown motion "${motion}"; expected one of ${SYNTHETIC_MOTIONS.join(', ')}.`);
  }
  for (const [name, v, min] of [
    ['width', W, 8],
    ['height', H, 8],
    ['numFrames', T, 2],
  ] as const) {
    if (!Number.isInteger(v) || v < min)
      throw new ConfigError(`renderSyntheticVideo: ${name} must be an integer >= ${min}; received ${v}.`);
  }
  const rng = new SeededRandom(options.seed);
  const kinds: ShapeKind[] = ['circle', 'square', 'triangle'];
  const kind = kinds[rng.int(3)]!;
  const fg = [rng.range(0.55, 1), rng.range(0.2, 1), rng.range(0.1, 0.9)].map((c) => Math.round(c * 255));
  rng.shuffle(fg);
  const bgA = [rng.range(0, 0.35), rng.range(0, 0.35), rng.range(0, 0.35)].map((c) => c * 255);
  const bgB = [rng.range(0, 0.35), rng.range(0, 0.35), rng.range(0, 0.35)].map((c) => c * 255);
  const side = Math.min(W, H);
  const baseRadius = side * rng.range(0.16, 0.24);
  const speed = rng.range(0.6, 1.0); // fraction of the travel range covered over the clip
  const cx0 = W * rng.range(0.35, 0.65);
  const cy0 = H * rng.range(0.35, 0.65);
  const angle0 = rng.range(0, Math.PI * 2);
  const blinkPeriod = 4 + rng.int(5); // frames per on/off half-cycle
  const data = new Uint8Array(T * H * W * 3);
  for (let t = 0; t < T; t++) {
    const p = t / (T - 1); // progress in [0, 1]
    let cx = cx0;
    let cy = cy0;
    let radius = baseRadius;
    let angle = angle0;
    let visible = true;
    const travelX = (W - 2 * baseRadius) * speed;
    const travelY = (H - 2 * baseRadius) * speed;
    switch (motion) {
      case 'MoveLeft':
        cx = W / 2 + travelX * (0.5 - p);
        break;
      case 'MoveRight':
        cx = W / 2 + travelX * (p - 0.5);
        break;
      case 'MoveUp':
        cy = H / 2 + travelY * (0.5 - p);
        break;
      case 'MoveDown':
        cy = H / 2 + travelY * (p - 0.5);
        break;
      case 'Rotate':
        angle = angle0 + p * Math.PI * 2 * speed;
        break;
      case 'RotateBack':
        angle = angle0 - p * Math.PI * 2 * speed;
        break;
      case 'Grow':
        radius = baseRadius * (0.4 + 1.0 * p);
        break;
      case 'Shrink':
        radius = baseRadius * (1.4 - 1.0 * p);
        break;
      case 'Bounce':
        cy = H - baseRadius - Math.abs(Math.sin(p * Math.PI * 2 * (1 + speed))) * (H - 2 * baseRadius) * 0.9;
        break;
      case 'Blink':
        visible = Math.floor(t / blinkPeriod) % 2 === 0;
        break;
    }
    const cos = Math.cos(-angle);
    const sin = Math.sin(-angle);
    const frame = t * H * W * 3;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const o = frame + (y * W + x) * 3;
        const g = (x + y) / (W + H);
        let inside = false;
        if (visible) {
          const dx = x + 0.5 - cx;
          const dy = y + 0.5 - cy;
          const u = (dx * cos - dy * sin) / radius;
          const v = (dx * sin + dy * cos) / radius;
          if (kind === 'circle') inside = u * u + v * v <= 1;
          else if (kind === 'square') inside = Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8;
          else inside = v <= 0.6 && v >= -1 + 1.6 * Math.abs(u) * 1.15; // apex at v = -1
          // Rotation of a circle is invisible: mark it with a notch so every motion shows in the pixels.
          if (kind === 'circle' && inside && u > 0.35 && Math.abs(v) < 0.25) inside = false;
        }
        if (inside) {
          data[o] = fg[0]!;
          data[o + 1] = fg[1]!;
          data[o + 2] = fg[2]!;
        } else {
          data[o] = bgA[0]! * (1 - g) + bgB[0]! * g;
          data[o + 1] = bgA[1]! * (1 - g) + bgB[1]! * g;
          data[o + 2] = bgA[2]! * (1 - g) + bgB[2]! * g;
        }
      }
    }
  }
  return { data, shape: [T, H, W, 3] };
}
