/**
 * Pure image augmentations on host arrays (DINO/SVT recipe: random resized crop, horizontal flip, colour jitter,
 * grayscale, Gaussian blur, solarisation; torchvision `transforms.functional` semantics), plus CLIP normalisation.
 *
 * Every function works on a video view of shape `[T, H, W, 3]`, channels-last, row-major, values in [0, 1]
 * (except {@link normalizeClip}'s output). Functions named `*InPlace` mutate their input and return it; the same
 * parameters are applied to every frame, so a view stays temporally consistent, as in SVT.
 */
import { ConfigError, ShapeError } from '@lss/core';
import type { CropBox } from './sampling.js';
import type { RgbFrames } from './types.js';

/** CLIP's image mean (RGB), as in openai/CLIP `_transform`. */
export const CLIP_IMAGE_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
/** CLIP's image standard deviation (RGB). */
export const CLIP_IMAGE_STD = [0.26862954, 0.26130258, 0.27577711] as const;
/** ImageNet per-channel mean (torchvision models; ViFi-CLIP and X-CLIP train with it). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
/** ImageNet per-channel standard deviation. */
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** ITU-R 601-2 luma weights, as PIL's `convert('L')` and torchvision's `rgb_to_grayscale`. */
const LUMA_R = 0.299;
const LUMA_G = 0.587;
const LUMA_B = 0.114;

function checkView(data: Float32Array, shape: readonly number[], name: string): [number, number, number] {
  if (shape.length !== 4 || shape[3] !== 3) {
    throw new ShapeError(`${name}: expected a view of shape [T, H, W, 3]; received [${shape.join(', ')}].`);
  }
  const [T, H, W] = shape as [number, number, number, number];
  if (data.length !== T * H * W * 3) {
    throw new ShapeError(`${name}: data has ${data.length} values but shape [${shape.join(', ')}] needs ${T * H * W * 3}.`);
  }
  return [T, H, W];
}

/**
 * Crops `box` (source pixels) from the chosen frames and resizes it to `outHeight x outWidth` with bilinear
 * interpolation (half-pixel centres, as `align_corners=False`), optionally mirrored, scaling values to [0, 1].
 *
 * Input shape: `frames.shape = [N, H, W, 3]` uint8. Output shape: `[frameSlots.length, outHeight, outWidth, 3]`.
 * When shrinking by more than 2x, each output pixel averages a grid of bilinear taps (a cheap antialias).
 * @param frameSlots which of the N decoded frames to use, in output order.
 */
export function cropResizeFrames(
  frames: RgbFrames,
  frameSlots: readonly number[],
  box: CropBox,
  outHeight: number,
  outWidth: number,
  flip = false,
): Float32Array {
  const [N, H, W] = frames.shape;
  if (frames.data.length !== N * H * W * 3) {
    throw new ShapeError(
      `cropResizeFrames: frames data has ${frames.data.length} bytes; shape [${frames.shape.join(', ')}] needs ${N * H * W * 3}.`,
    );
  }
  if (!(box.width > 0 && box.height > 0)) throw new ConfigError(`cropResizeFrames: empty crop box ${JSON.stringify(box)}.`);
  const T = frameSlots.length;
  const out = new Float32Array(T * outHeight * outWidth * 3);
  const sy = box.height / outHeight;
  const sx = box.width / outWidth;
  // Taps per output pixel along each axis (1 unless shrinking by more than 2x).
  const ty = Math.max(1, Math.round(sy / 2));
  const tx = Math.max(1, Math.round(sx / 2));
  const inv = 1 / (255 * ty * tx);
  // Precompute horizontal sample positions.
  const xCount = outWidth * tx;
  const x0s = new Int32Array(xCount);
  const x1s = new Int32Array(xCount);
  const fxs = new Float32Array(xCount);
  for (let ox = 0; ox < outWidth; ox++) {
    const srcOx = flip ? outWidth - 1 - ox : ox;
    for (let k = 0; k < tx; k++) {
      const pos = box.x + (srcOx + (k + 0.5) / tx) * sx - 0.5;
      const p = Math.min(Math.max(pos, 0), W - 1);
      const x0 = Math.floor(p);
      const j = ox * tx + k;
      x0s[j] = x0 * 3;
      x1s[j] = Math.min(x0 + 1, W - 1) * 3;
      fxs[j] = p - x0;
    }
  }
  const data = frames.data;
  for (let t = 0; t < T; t++) {
    const slot = frameSlots[t]!;
    if (!(slot >= 0 && slot < N)) throw new ShapeError(`cropResizeFrames: frame slot ${slot} is outside [0, ${N}).`);
    const frameBase = slot * H * W * 3;
    const outFrame = t * outHeight * outWidth * 3;
    for (let oy = 0; oy < outHeight; oy++) {
      const outRow = outFrame + oy * outWidth * 3;
      for (let ky = 0; ky < ty; ky++) {
        const pos = box.y + (oy + (ky + 0.5) / ty) * sy - 0.5;
        const p = Math.min(Math.max(pos, 0), H - 1);
        const y0 = Math.floor(p);
        const fy = p - y0;
        const row0 = frameBase + y0 * W * 3;
        const row1 = frameBase + Math.min(y0 + 1, H - 1) * W * 3;
        for (let ox = 0; ox < outWidth; ox++) {
          let r = 0;
          let g = 0;
          let b = 0;
          for (let k = 0; k < tx; k++) {
            const j = ox * tx + k;
            const a0 = row0 + x0s[j]!;
            const a1 = row0 + x1s[j]!;
            const b0 = row1 + x0s[j]!;
            const b1 = row1 + x1s[j]!;
            const fx = fxs[j]!;
            const w00 = (1 - fx) * (1 - fy);
            const w01 = fx * (1 - fy);
            const w10 = (1 - fx) * fy;
            const w11 = fx * fy;
            r += data[a0]! * w00 + data[a1]! * w01 + data[b0]! * w10 + data[b1]! * w11;
            g += data[a0 + 1]! * w00 + data[a1 + 1]! * w01 + data[b0 + 1]! * w10 + data[b1 + 1]! * w11;
            b += data[a0 + 2]! * w00 + data[a1 + 2]! * w01 + data[b0 + 2]! * w10 + data[b1 + 2]! * w11;
          }
          const o = outRow + ox * 3;
          out[o] = out[o]! + r * inv;
          out[o + 1] = out[o + 1]! + g * inv;
          out[o + 2] = out[o + 2]! + b * inv;
        }
      }
    }
  }
  return out;
}

function clamp01(x: number): number {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/** Multiplies every value by `factor` and clamps to [0, 1] (torchvision `adjust_brightness`). Shape `[T, H, W, 3]`. */
export function adjustBrightnessInPlace(data: Float32Array, factor: number): Float32Array {
  for (let i = 0; i < data.length; i++) data[i] = clamp01(data[i]! * factor);
  return data;
}

/**
 * Blends each frame with its mean luma: `factor * x + (1 - factor) * mean` (torchvision `adjust_contrast`, whose
 * mean is taken per image; here per frame). Shape `[T, H, W, 3]`.
 */
export function adjustContrastInPlace(data: Float32Array, shape: readonly number[], factor: number): Float32Array {
  const [T, H, W] = checkView(data, shape, 'adjustContrastInPlace');
  const frameSize = H * W * 3;
  for (let t = 0; t < T; t++) {
    const base = t * frameSize;
    let sum = 0;
    for (let i = base; i < base + frameSize; i += 3) sum += LUMA_R * data[i]! + LUMA_G * data[i + 1]! + LUMA_B * data[i + 2]!;
    const mean = sum / (H * W);
    const shift = (1 - factor) * mean;
    for (let i = base; i < base + frameSize; i++) data[i] = clamp01(factor * data[i]! + shift);
  }
  return data;
}

/** Blends each pixel with its luma: `factor * x + (1 - factor) * gray` (torchvision `adjust_saturation`). */
export function adjustSaturationInPlace(data: Float32Array, factor: number): Float32Array {
  for (let i = 0; i < data.length; i += 3) {
    const gray = (1 - factor) * (LUMA_R * data[i]! + LUMA_G * data[i + 1]! + LUMA_B * data[i + 2]!);
    data[i] = clamp01(factor * data[i]! + gray);
    data[i + 1] = clamp01(factor * data[i + 1]! + gray);
    data[i + 2] = clamp01(factor * data[i + 2]! + gray);
  }
  return data;
}

/** Rotates hue by `shift` turns (in [-0.5, 0.5]) through HSV (torchvision `adjust_hue`). Shape `[..., 3]`. */
export function adjustHueInPlace(data: Float32Array, shift: number): Float32Array {
  if (!(shift >= -0.5 && shift <= 0.5)) throw new ConfigError(`adjustHueInPlace: shift must be in [-0.5, 0.5]; received ${shift}.`);
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i]!;
    const g = data[i + 1]!;
    const b = data[i + 2]!;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const delta = max - min;
    if (delta === 0) continue; // gray pixel: hue undefined, unchanged
    let h: number;
    if (max === r) h = ((g - b) / delta) % 6;
    else if (max === g) h = (b - r) / delta + 2;
    else h = (r - g) / delta + 4;
    h = h / 6 + shift;
    h -= Math.floor(h);
    const s = delta / max;
    const v = max;
    const h6 = h * 6;
    const sector = Math.floor(h6) % 6;
    const f = h6 - Math.floor(h6);
    const p = v * (1 - s);
    const q = v * (1 - s * f);
    const u = v * (1 - s * (1 - f));
    // Scalars, not array destructuring: this loop runs once per pixel.
    let R: number;
    let G: number;
    let B: number;
    switch (sector) {
      case 0:
        R = v;
        G = u;
        B = p;
        break;
      case 1:
        R = q;
        G = v;
        B = p;
        break;
      case 2:
        R = p;
        G = v;
        B = u;
        break;
      case 3:
        R = p;
        G = q;
        B = v;
        break;
      case 4:
        R = u;
        G = p;
        B = v;
        break;
      default:
        R = v;
        G = p;
        B = q;
    }
    data[i] = R;
    data[i + 1] = G;
    data[i + 2] = B;
  }
  return data;
}

/** Replaces each pixel by its luma in all three channels (torchvision `rgb_to_grayscale(num_output_channels=3)`). */
export function grayscaleInPlace(data: Float32Array): Float32Array {
  for (let i = 0; i < data.length; i += 3) {
    const gray = LUMA_R * data[i]! + LUMA_G * data[i + 1]! + LUMA_B * data[i + 2]!;
    data[i] = gray;
    data[i + 1] = gray;
    data[i + 2] = gray;
  }
  return data;
}

/** Normalised 1-D Gaussian kernel with radius `ceil(3 * sigma)`. */
export function gaussianKernel1d(sigma: number): Float32Array {
  if (!(sigma > 0)) throw new ConfigError(`gaussianKernel1d: sigma must be > 0; received ${sigma}.`);
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    kernel[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] = kernel[i]! / sum;
  return kernel;
}

/**
 * Separable Gaussian blur of every frame with standard deviation `sigma` (output pixels), edges clamped
 * (DINO's `GaussianBlur(p, radius_min=0.1, radius_max=2.0)`). Shape `[T, H, W, 3]`.
 */
export function gaussianBlurInPlace(data: Float32Array, shape: readonly number[], sigma: number): Float32Array {
  const [T, H, W] = checkView(data, shape, 'gaussianBlurInPlace');
  const kernel = gaussianKernel1d(sigma);
  const radius = (kernel.length - 1) / 2;
  const tmp = new Float32Array(H * W * 3);
  const frameSize = H * W * 3;
  for (let t = 0; t < T; t++) {
    const base = t * frameSize;
    // Horizontal pass: data -> tmp.
    for (let y = 0; y < H; y++) {
      const row = base + y * W * 3;
      for (let x = 0; x < W; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = x + k < 0 ? 0 : x + k >= W ? W - 1 : x + k;
          const w = kernel[k + radius]!;
          const i = row + xx * 3;
          r += data[i]! * w;
          g += data[i + 1]! * w;
          b += data[i + 2]! * w;
        }
        const o = (y * W + x) * 3;
        tmp[o] = r;
        tmp[o + 1] = g;
        tmp[o + 2] = b;
      }
    }
    // Vertical pass: tmp -> data.
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = -radius; k <= radius; k++) {
          const yy = y + k < 0 ? 0 : y + k >= H ? H - 1 : y + k;
          const w = kernel[k + radius]!;
          const i = (yy * W + x) * 3;
          r += tmp[i]! * w;
          g += tmp[i + 1]! * w;
          b += tmp[i + 2]! * w;
        }
        const o = base + (y * W + x) * 3;
        data[o] = r;
        data[o + 1] = g;
        data[o + 2] = b;
      }
    }
  }
  return data;
}

/** Inverts values at or above `threshold`: `x >= threshold ? 1 - x : x` (PIL `ImageOps.solarize(img, 128)`). */
export function solarizeInPlace(data: Float32Array, threshold = 0.5): Float32Array {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v >= threshold) data[i] = 1 - v;
  }
  return data;
}

/** Per-channel `(x - mean) / std` over a channels-last array (default CLIP statistics). */
export function normalizeInPlace(
  data: Float32Array,
  mean: readonly number[] = CLIP_IMAGE_MEAN,
  std: readonly number[] = CLIP_IMAGE_STD,
): Float32Array {
  if (mean.length !== 3 || std.length !== 3) {
    throw new ConfigError(`normalizeInPlace: mean and std need 3 entries (RGB); received ${mean.length} and ${std.length}.`);
  }
  const [m0, m1, m2] = mean as [number, number, number];
  const i0 = 1 / (std[0] as number);
  const i1 = 1 / (std[1] as number);
  const i2 = 1 / (std[2] as number);
  for (let i = 0; i < data.length; i += 3) {
    data[i] = (data[i]! - m0) * i0;
    data[i + 1] = (data[i + 1]! - m1) * i1;
    data[i + 2] = (data[i + 2]! - m2) * i2;
  }
  return data;
}

/** CLIP normalisation of a `[..., 3]` array in [0, 1] (mean 0.48145466, 0.4578275, 0.40821073; std 0.26862954, 0.26130258, 0.27577711). */
export function normalizeClip(data: Float32Array): Float32Array {
  return normalizeInPlace(data, CLIP_IMAGE_MEAN, CLIP_IMAGE_STD);
}
