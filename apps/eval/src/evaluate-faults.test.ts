import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OutputError, WeightsError } from '@lss/core';
import { mountSupport, mountTmpfs } from '@lss/testing';
import { describe, expect, it } from 'vitest';
import { evaluateKnn, evaluateLinearProbe } from './evaluate.js';
import type { ViewLoader } from './feature-cache.js';
import type { EvalModel } from './model.js';
import { indexViewLoader, LOOKUP_VIEWS, listSplitDataset, lookupEvalModel } from './test-helpers.js';

// The DINO reference input of knn.test.ts, fed through the whole protocol: a fake model returns the
// stored feature of each video (the loader writes the video's index into its pixels).
const ref = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'dino-knn.json'), 'utf8')) as {
  dim: number;
  numClasses: number;
  train: { features: number[]; labels: number[] };
  test: { features: number[]; labels: number[] };
  results: { k: number; top1: number; top5: number }[];
};
const nTrain = ref.train.labels.length;
const allFeatures = [...ref.train.features, ...ref.test.features];

const fakeModel = (transform?: (v: number, video: number) => number): EvalModel =>
  lookupEvalModel(allFeatures, ref.dim, {
    path: '/runs/diverged/checkpoint',
    label: 'diverged-step-300',
    ...(transform ? { transform } : {}),
  });
const loadViews = indexViewLoader;
const dataset = listSplitDataset(
  ref.train.labels,
  ref.test.labels,
  Array.from({ length: ref.numClasses }, (_, c) => `class${c}`),
);
const common = { dataset, loadViews, views: LOOKUP_VIEWS, progress: false } as const;

describe('lss-eval knn: top-5 as DINO knn_classifier', () => {
  for (const { k, top1, top5 } of ref.results.filter((r) => r.k <= 2)) {
    it(`k = ${k}: the report's top-5 is DINO's ${top5} % (was 100 % with 4 classes)`, async () => {
      const report = await evaluateKnn({ ...common, model: fakeModel(), k });
      expect(report.splits[0]?.top1).toBeCloseTo(top1, 6);
      expect(report.splits[0]?.top5).toBeCloseTo(top5, 6);
    });
  }
});

describe('non-finite features are an error naming how many videos and which model', () => {
  const nanFor = (bad: Set<number>) => fakeModel((v, video) => (bad.has(video) ? Number.NaN : v));

  it('k-NN on an all-NaN model', async () => {
    const all = new Set(Array.from({ length: allFeatures.length / ref.dim }, (_, i) => i));
    const run = evaluateKnn({ ...common, model: nanFor(all), k: 3 });
    await expect(run).rejects.toThrow(WeightsError);
    await expect(evaluateKnn({ ...common, model: nanFor(all), k: 3 })).rejects.toThrow(
      /diverged-step-300 \(\/runs\/diverged\/checkpoint\) gave non-finite features .* for 24 of 24 videos of split all train/,
    );
  });

  it('linear probe with a few NaN / Infinity test videos', async () => {
    const model = fakeModel((v, video) => (video === nTrain + 2 ? Number.NaN : video === nTrain + 5 ? Number.POSITIVE_INFINITY : v));
    await expect(evaluateLinearProbe({ ...common, model })).rejects.toThrow(
      /for 2 of 40 videos of split all test \(e\.g\. \/videos\/v26, \/videos\/v29\)/,
    );
  });
});

const support = mountSupport();
describe.skipIf(!support.ok)(`--out on a read-only place${support.ok ? '' : ` (SKIPPED: ${support.why})`}`, () => {
  it('fails before any feature is extracted, naming the folder and the real cause (read-only)', async () => {
    const ro = mountTmpfs({ sizeKiB: 64, readOnly: true });
    let loads = 0;
    const counting: ViewLoader = async (s, v) => {
      loads++;
      return loadViews(s, v);
    };
    try {
      const outDir = join(ro.path, 'reports', 'knn');
      const run = evaluateKnn({ ...common, loadViews: counting, model: fakeModel(), k: 3, outDir });
      await expect(run).rejects.toThrow(OutputError);
      await expect(evaluateKnn({ ...common, loadViews: counting, model: fakeModel(), k: 3, outDir })).rejects.toThrow(
        `Cannot write the report folder ${outDir}: the file system is read-only (EROFS)`,
      );
      expect(loads).toBe(0);
    } finally {
      ro.unmount();
    }
  });
});
