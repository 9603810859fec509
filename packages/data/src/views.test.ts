import { ConfigError, SeededRandom } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { collateBatch, stackViews } from './batch.js';
import { resizedShortSide, roundHalfEven, sampleSvtTestIndices, sampleTestClipIndices, testCropBoxes } from './sampling.js';
import type { RgbFrames } from './types.js';
import {
  describeTestProtocol,
  framesNeeded,
  PEER_TEST_PROTOCOL,
  planTestViews,
  planTrainViews,
  renderView,
  SVT_VIEW_CONFIG,
  TEST_VIEW_CONFIG_1X1,
  TEST_VIEW_CONFIG_4X3,
  testProtocol,
  type ViewPlan,
} from './views.js';

const GEOMETRY = { width: 320, height: 240, numFrames: 250 };

function gradientFrames(frameIndices: readonly number[], H: number, W: number): RgbFrames {
  const data = new Uint8Array(frameIndices.length * H * W * 3);
  frameIndices.forEach((f, t) => {
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const o = ((t * H + y) * W + x) * 3;
        data[o] = (x * 255) / (W - 1);
        data[o + 1] = (y * 255) / (H - 1);
        data[o + 2] = f % 256;
      }
  });
  return { data, shape: [frameIndices.length, H, W, 3] };
}

describe('planTrainViews (SVT: 2 global x 8 frames at 224 over the whole clip, 8 local x 8 frames at 96 over a short span)', () => {
  const plans = planTrainViews(GEOMETRY, SVT_VIEW_CONFIG, new SeededRandom(7));

  it('has the spec counts, sizes and frames', () => {
    expect(plans.map((p) => p.kind)).toEqual([...Array(2).fill('global'), ...Array(8).fill('local')]);
    expect(plans.filter((p) => p.kind === 'global').every((p) => p.size === 224 && p.frameIndices.length === 8)).toBe(true);
    expect(plans.filter((p) => p.kind === 'local').every((p) => p.size === 96 && p.frameIndices.length === 8)).toBe(true);
  });

  it('global views take one frame from each eighth of the clip', () => {
    for (const plan of plans.filter((p) => p.kind === 'global')) {
      plan.frameIndices.forEach((f, i) => {
        expect(f).toBeGreaterThanOrEqual(Math.floor((i * 250) / 8));
        expect(f).toBeLessThan(Math.ceil(((i + 1) * 250) / 8));
      });
    }
  });

  it('local views stay inside a span of localSpanFraction of the clip', () => {
    const span = Math.round(250 * SVT_VIEW_CONFIG.localSpanFraction);
    for (const plan of plans.filter((p) => p.kind === 'local')) {
      const first = plan.frameIndices[0]!;
      const last = plan.frameIndices[plan.frameIndices.length - 1]!;
      expect(last - first).toBeLessThan(span);
      expect(last).toBeLessThan(250);
    }
  });

  it('crops have the configured area fractions; augmentations are drawn', () => {
    for (const plan of plans) {
      const area = (plan.crop.width * plan.crop.height) / (320 * 240);
      const [lo, hi] = plan.kind === 'global' ? SVT_VIEW_CONFIG.globalScale : SVT_VIEW_CONFIG.localScale;
      expect(area).toBeGreaterThan(lo * 0.95);
      expect(area).toBeLessThanOrEqual(hi * 1.05);
    }
    // DINO: the first global view is always blurred, the first never solarised.
    expect(plans[0]?.augmentation?.blurSigma).toBeGreaterThanOrEqual(0.1);
    expect(plans[0]?.augmentation?.solarize).toBe(false);
  });

  it('is deterministic under a seed and differs across seeds', () => {
    expect(planTrainViews(GEOMETRY, SVT_VIEW_CONFIG, new SeededRandom(7))).toEqual(plans);
    expect(planTrainViews(GEOMETRY, SVT_VIEW_CONFIG, new SeededRandom(8))).not.toEqual(plans);
  });

  it('validates the config', () => {
    expect(() => planTrainViews(GEOMETRY, { ...SVT_VIEW_CONFIG, localSpanFraction: 0 }, new SeededRandom(1))).toThrow(
      /localSpanFraction must be in \(0, 1\]; received 0/,
    );
    expect(() => planTrainViews(GEOMETRY, { ...SVT_VIEW_CONFIG, flipProbability: 2 }, new SeededRandom(1))).toThrow(ConfigError);
  });
});

describe('planTestViews (clips x crops)', () => {
  it('4 x 3: clip-major, uniform clips, left/centre/right crops at integer offsets of the resized frame', () => {
    const plans = planTestViews(GEOMETRY, TEST_VIEW_CONFIG_4X3);
    expect(plans).toHaveLength(12);
    // torchvision Resize(224) of 320x240: 298x224 (int(224 * 320 / 240) = 298, not 299).
    const crops = testCropBoxes(298, 224, 224, 3);
    plans.forEach((plan, v) => {
      const clip = Math.floor(v / 3);
      expect(plan.frameIndices).toEqual(sampleTestClipIndices(250, 8, clip, 4));
      expect(plan.crop).toEqual(crops[v % 3]);
      expect([plan.sourceWidth, plan.sourceHeight]).toEqual([298, 224]);
      expect(plan.augmentation).toBeNull();
      expect(plan.normalization).toBe('clip');
    });
    expect(plans.map((p) => p.crop.x).slice(0, 3)).toEqual([0, 37, 74]);
  });

  it("CLIP's centre crop: torchvision's resize rule and CenterCrop offsets (Python round, halves to even)", () => {
    expect(resizedShortSide(320, 240, 224)).toEqual({ width: 298, height: 224 });
    expect(resizedShortSide(240, 320, 224)).toEqual({ width: 224, height: 298 });
    expect(resizedShortSide(1280, 720, 224)).toEqual({ width: 398, height: 224 });
    expect(resizedShortSide(320, 240, 256)).toEqual({ width: 341, height: 256 });
    expect([0.5, 1.5, 2.5, 37.5, -0.5, 3.2].map(roundHalfEven)).toEqual([0, 2, 2, 38, -0, 3]);
    // 299 - 224 = 75 -> offset round(37.5) = 38, as torchvision's CenterCrop.
    expect(testCropBoxes(299, 224, 224, 1)).toEqual([{ x: 38, y: 0, width: 224, height: 224 }]);
    const [one] = planTestViews(GEOMETRY, TEST_VIEW_CONFIG_1X1);
    expect(one).toMatchObject({ sourceWidth: 298, sourceHeight: 224, crop: { x: 37, y: 0, width: 224, height: 224 } });
  });

  it('peer protocol: resize 256, crop 224, ImageNet mean/std; SVT test sampler; the report line says all of it', () => {
    const config = { ...TEST_VIEW_CONFIG_1X1, ...PEER_TEST_PROTOCOL, sampler: 'svt' as const };
    const [plan] = planTestViews({ ...GEOMETRY, fps: 25 }, config);
    expect(plan).toMatchObject({
      sourceWidth: 341,
      sourceHeight: 256,
      crop: { x: 58, y: 16, width: 224, height: 224 },
      normalization: 'imagenet',
    });
    // 8 frames 32 apart at 30 fps from the start: at 25 fps, floor(k * 32 * 25 / 30); the 250-frame video is long enough.
    expect(plan!.frameIndices).toEqual([0, 26, 53, 80, 106, 133, 160, 186]);
    expect(sampleSvtTestIndices(100, 30)).toEqual([0, 32, 64, 96, 99, 99, 99, 99]);
    expect(() => planTestViews(GEOMETRY, config)).toThrow(/fps must be > 0/);
    expect(() => planTestViews({ ...GEOMETRY, fps: 25 }, { ...config, numClips: 2 })).toThrow(/one clip from the start/);
    expect(() => planTestViews(GEOMETRY, { ...TEST_VIEW_CONFIG_1X1, cropFraction: 1.5 })).toThrow(/cropFraction must be in \(0, 1\]/);
    expect(describeTestProtocol(TEST_VIEW_CONFIG_4X3)).toBe(
      'uniform sampler, 4 clip(s) x 3 crop(s) of 8 frames, short side 224 (bicubic), crop 224 (fraction 1), CLIP mean/std',
    );
    expect(describeTestProtocol(config)).toBe(
      'SVT sampler (32 apart at 30 fps from the start), 1 clip(s) x 1 crop(s) of 8 frames, short side 256 (bicubic), crop 224 (fraction 0.875), ImageNet mean/std',
    );
    expect(testProtocol(config)).toEqual({
      sampler: 'svt',
      numClips: 1,
      numCrops: 1,
      numFrames: 8,
      resizeShortSide: 256,
      cropSize: 224,
      cropFraction: 0.875,
      interpolation: 'bicubic',
      normalization: 'imagenet',
    });
  });
});

describe('renderView', () => {
  it('renders [T, S, S, 3], crops the planned box, mirrors when flipped, then normalises', () => {
    const plan: ViewPlan = {
      kind: 'test',
      frameIndices: [10, 20],
      crop: { x: 80, y: 0, width: 240, height: 240 },
      sourceWidth: 320,
      sourceHeight: 240,
      size: 8,
      augmentation: null,
      normalize: false,
    };
    // Decoded at half resolution: the box is rescaled.
    const decoded = [10, 20, 30];
    const frames = gradientFrames(decoded, 120, 160);
    const view = renderView(frames, decoded, plan);
    expect(view.shape).toEqual([2, 8, 8, 3]);
    // Right crop: red (x gradient) starts near x = 40/159 of the decoded frame.
    expect(view.data[0]).toBeGreaterThan(0.25);
    expect(view.data[0]).toBeLessThan(0.3);
    expect(view.data[(7 * 8 + 7) * 3]).toBeGreaterThan(0.95);
    // Frame order follows the plan: blue carries the frame index.
    expect(view.data[2]).toBeCloseTo(10 / 255, 3);
    expect(view.data[8 * 8 * 3 + 2]).toBeCloseTo(20 / 255, 3);
    const flipped = renderView(frames, decoded, {
      ...plan,
      augmentation: { flip: true, colorJitter: null, grayscale: false, blurSigma: 0, solarize: false },
    });
    expect(flipped.data[0]).toBeCloseTo(view.data[7 * 3]!, 5);
    const normalized = renderView(frames, decoded, { ...plan, normalize: true });
    expect(normalized.data[0]).toBeCloseTo((view.data[0]! - 0.48145466) / 0.26862954, 4);
    expect(() => renderView(frames, [10, 30, 40], plan)).toThrow(/frame 20 is not among the decoded frames/);
  });

  it('training views are really augmented (blur, solarisation, grayscale change the pixels)', () => {
    const decoded = [0, 1, 2, 3];
    const frames = gradientFrames(decoded, 32, 32);
    const base: ViewPlan = {
      kind: 'global',
      frameIndices: [0, 1, 2, 3],
      crop: { x: 0, y: 0, width: 32, height: 32 },
      sourceWidth: 32,
      sourceHeight: 32,
      size: 16,
      augmentation: { flip: false, colorJitter: null, grayscale: false, blurSigma: 0, solarize: false },
      normalize: false,
    };
    const plain = renderView(frames, decoded, base).data;
    const variants = [
      { blurSigma: 1.5 },
      { solarize: true },
      { grayscale: true },
      { colorJitter: { order: [0, 1, 2, 3], brightness: 1.3, contrast: 0.7, saturation: 1.2, hue: 0.05 } },
    ];
    for (const change of variants) {
      const out = renderView(frames, decoded, { ...base, augmentation: { ...base.augmentation!, ...change } }).data;
      let diff = 0;
      for (let i = 0; i < out.length; i++) diff = Math.max(diff, Math.abs(out[i]! - plain[i]!));
      expect(diff, JSON.stringify(change)).toBeGreaterThan(0.02);
    }
  });

  it('framesNeeded is the sorted union of all plans', () => {
    const plans = planTrainViews(GEOMETRY, SVT_VIEW_CONFIG, new SeededRandom(1));
    const needed = framesNeeded(plans);
    expect(needed).toEqual([...new Set(plans.flatMap((p) => p.frameIndices))].sort((a, b) => a - b));
  });
});

describe('batching', () => {
  it('stacks [T, H, W, 3] views into [B, T, H, W, 3] and collates per view position', () => {
    const v = (fill: number) => ({ data: new Float32Array(2 * 2 * 2 * 3).fill(fill), shape: [2, 2, 2, 3] });
    const stacked = stackViews([v(1), v(2), v(3)]);
    expect(stacked.shape).toEqual([3, 2, 2, 2, 3]);
    expect(stacked.data[24]).toBe(2);
    const samples = [
      { path: 'a', label: 4, className: 'x' },
      { path: 'b', label: 1, className: 'y' },
    ];
    const batch = collateBatch(
      [
        [v(1), v(5)],
        [v(2), v(6)],
      ],
      samples,
      1,
    );
    expect(batch.views.map((x) => x.shape)).toEqual([
      [2, 2, 2, 2, 3],
      [2, 2, 2, 2, 3],
    ]);
    expect(batch.views[1]!.data[24]).toBe(6);
    expect([...batch.labels]).toEqual([4, 1]);
    expect(() => stackViews([v(1), { data: new Float32Array(3), shape: [1, 1, 1, 3] }])).toThrow(/view 1 has shape \[1, 1, 1, 3\]/);
  });
});
