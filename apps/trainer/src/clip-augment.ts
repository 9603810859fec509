/**
 * Appearance augmentation for CLIP pretraining on the action world's stills: the figure is cut out of its
 * plain background (a matte computed from the background colour), scaled, recoloured and composited over a
 * random background (one or two tones, optional stripe texture), then Gaussian pixel noise is added.
 *
 * Why: the stills are one look (a dark figure, large, on a plain light background, no noise). A CLIP trained
 * on them alone does not recognise the same figure in another look (measured: chance on the world's videos,
 * see the model card). Colour, background, scale and noise jitter are the augmentation families of CLIP-style
 * recipes (SimCLR colour jitter, random resized crops, copy-paste / background swap); they act on the stills
 * only — the videos are never seen in pretraining and the video renderer is not called.
 */
import type { SeededRandom } from '@lss/core';
import { ConfigError } from '@lss/core';

/** Ranges of the appearance augmentation (part of the pretraining recipe and its model card). */
export interface AppearanceAugmentation {
  /** Probability that a still gets it; the rest keep their own look (shift and flip only). */
  readonly probability: number;
  /** Smallest figure scale, drawn uniformly in [minScale, 1]; the figure is scaled about its feet. */
  readonly minScale: number;
  /** Largest standard deviation of the additive Gaussian pixel noise, in 0-255 levels (drawn in [0, maxNoise]). */
  readonly maxNoise: number;
  /** Largest amplitude of the background's stripe texture, in 0-255 levels (drawn in [0, maxTexture]). */
  readonly maxTexture: number;
}

/** Checks the ranges; throws a ConfigError naming the bad field. */
export function validateAppearance(a: AppearanceAugmentation): AppearanceAugmentation {
  const bad = (field: string, got: number, want: string) =>
    new ConfigError(`appearance.${field} must be ${want}; received ${got}. Fix the pretraining recipe.`);
  if (!(a.probability >= 0 && a.probability <= 1)) throw bad('probability', a.probability, 'in [0, 1]');
  if (!(a.minScale > 0 && a.minScale <= 1)) throw bad('minScale', a.minScale, 'in (0, 1]');
  if (!(a.maxNoise >= 0 && a.maxNoise <= 64)) throw bad('maxNoise', a.maxNoise, 'in [0, 64] levels');
  if (!(a.maxTexture >= 0 && a.maxTexture <= 64)) throw bad('maxTexture', a.maxTexture, 'in [0, 64] levels');
  return a;
}

type Rgb = [number, number, number];

/**
 * Foreground matte of a still with a plain background: per pixel, the fraction of the way from the
 * background colour (the top-left pixel) to the figure colour (the pixel farthest from it), clamped to
 * [0, 1]. Exact for the world's anti-aliased two-colour stills.
 *
 * @param still `[S, S, 3]` uint8 RGB. Returns `[S, S]` in [0, 1].
 */
export function stillMatte(still: Uint8Array, S: number): Float32Array {
  const bg: Rgb = [still[0] as number, still[1] as number, still[2] as number];
  let far = 0;
  let fg: Rgb = bg;
  for (let i = 0; i < S * S; i++) {
    const d = (still[3 * i] as number) - bg[0];
    const e = (still[3 * i + 1] as number) - bg[1];
    const f = (still[3 * i + 2] as number) - bg[2];
    const n = d * d + e * e + f * f;
    if (n > far) {
      far = n;
      fg = [still[3 * i] as number, still[3 * i + 1] as number, still[3 * i + 2] as number];
    }
  }
  const alpha = new Float32Array(S * S);
  if (far === 0) return alpha;
  const dir = [fg[0] - bg[0], fg[1] - bg[1], fg[2] - bg[2]];
  for (let i = 0; i < S * S; i++) {
    let dot = 0;
    for (let c = 0; c < 3; c++) dot += ((still[3 * i + c] as number) - (bg[c] as number)) * (dir[c] as number);
    alpha[i] = Math.min(1, Math.max(0, dot / far));
  }
  return alpha;
}

/** Bilinear sample of an `[S, S]` map at continuous pixel-centre coordinates; 0 outside. */
function sample(map: Float32Array, S: number, u: number, v: number): number {
  const x = u - 0.5;
  const y = v - 0.5;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const at = (xi: number, yi: number) => (xi < 0 || yi < 0 || xi >= S || yi >= S ? 0 : (map[yi * S + xi] as number));
  return (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
}

const contrast = (a: Rgb, b: Rgb) => Math.max(Math.abs(a[0] - b[0]), Math.abs(a[1] - b[1]), Math.abs(a[2] - b[2]));

/**
 * One augmented still: `[S, S, 3]` float32 in 0-255 levels (clamped), written to `out` at `offset`.
 * Draws from `rng` in a fixed order, so the result is a function of the still and the generator state.
 *
 * @param dx, dy translation in pixels (after scaling); `flip` mirrors horizontally.
 */
export function augmentAppearance(
  still: Uint8Array,
  S: number,
  rng: SeededRandom,
  a: AppearanceAugmentation,
  geometry: { readonly dx: number; readonly dy: number; readonly flip: boolean },
  out: Float32Array,
  offset: number,
): void {
  const alpha = stillMatte(still, S);
  const scale = a.minScale + (1 - a.minScale) * rng.uniform();
  const tone = (): Rgb => [rng.range(20, 235), rng.range(20, 235), rng.range(20, 235)];
  const top = tone();
  const bottom = rng.bernoulli(0.5) ? tone() : top;
  const horizon = rng.range(0.4, 0.9);
  const amp = a.maxTexture * rng.uniform();
  const freq = rng.range(2, 8);
  const angle = rng.range(0, Math.PI);
  const phase = rng.range(0, 2 * Math.PI);
  let fg: Rgb = [rng.range(0, 255), rng.range(0, 255), rng.range(0, 255)];
  for (let tries = 0; tries < 8 && Math.min(contrast(fg, top), contrast(fg, bottom)) < 80; tries++)
    fg = [rng.range(0, 255), rng.range(0, 255), rng.range(0, 255)];
  if (Math.min(contrast(fg, top), contrast(fg, bottom)) < 80) fg = top[0] + top[1] + top[2] < 384 ? [250, 250, 250] : [5, 5, 5];
  const noise = a.maxNoise * rng.uniform();
  const ax = S / 2;
  const ay = 0.92 * S;
  const ca = Math.cos(angle);
  const sa = Math.sin(angle);
  for (let y = 0; y < S; y++) {
    for (let x = 0; x < S; x++) {
      const cx = (geometry.flip ? S - 1 - x : x) + 0.5; // mirrored output column
      const cy = y + 0.5;
      const m = sample(alpha, S, ax + (cx - ax - geometry.dx) / scale, ay + (cy - ay - geometry.dy) / scale);
      const base = cy / S < horizon ? top : bottom;
      const tex = amp * Math.sin((2 * Math.PI * freq * (cx * ca + cy * sa)) / S + phase);
      const o = offset + (y * S + x) * 3;
      for (let c = 0; c < 3; c++) {
        const v = ((base[c] as number) + tex) * (1 - m) + (fg[c] as number) * m + (noise > 0 ? rng.normal(0, noise) : 0);
        out[o + c] = Math.min(255, Math.max(0, v));
      }
    }
  }
}
