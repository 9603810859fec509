/**
 * Tiny presets for tests (`@lss/backbone/testing`): seconds on the cpu backend.
 */
import { type ClipConfig, type TextConfig, type VisionConfig, validateClipConfig, validateVisionConfig } from '../config.js';

/** The architecture of `fixtures/clip-tiny` (vision 64 wide, 1 head; text 32 wide, 2 heads; E = 32). */
export const TINY_CLIP_CONFIG: ClipConfig = validateClipConfig({
  embedDim: 32,
  vision: {
    imageSize: 32,
    patchSize: 8,
    width: 64,
    layers: 2,
    heads: 1,
    mlpDim: 256,
    embedDim: 32,
    temporal: true,
    numFrames: 8,
    activation: 'quick_gelu',
    layerNormEps: 1e-5,
  },
  text: {
    contextLength: 77,
    vocabSize: 49408,
    width: 32,
    layers: 2,
    heads: 2,
    mlpDim: 128,
    embedDim: 32,
    activation: 'quick_gelu',
    layerNormEps: 1e-5,
  },
} satisfies ClipConfig);

/** A tiny video tower: 16 px frames, 8 px patches (4 tokens/frame), width 32, 2 heads, 2 blocks, 4 frames. */
export const TINY_VIDEO_VIT: VisionConfig = validateVisionConfig({
  imageSize: 16,
  patchSize: 8,
  width: 32,
  layers: 2,
  heads: 2,
  mlpDim: 64,
  embedDim: 16,
  temporal: true,
  numFrames: 4,
  activation: 'quick_gelu',
  layerNormEps: 1e-5,
});

/** {@link TINY_VIDEO_VIT} with overrides. */
export function tinyVideoVit(overrides: Partial<VisionConfig> = {}): VisionConfig {
  return validateVisionConfig({ ...TINY_VIDEO_VIT, ...overrides });
}

/** A tiny text config. */
export const TINY_TEXT: TextConfig = TINY_CLIP_CONFIG.text;
