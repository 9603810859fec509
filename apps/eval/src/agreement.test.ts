import { ConfigError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { predictionAgreement } from './agreement.js';
import { evaluateKnn } from './evaluate.js';
import { type EvalReport, makeReport, type SplitResult } from './report.js';
import { indexViewLoader, LOOKUP_VIEWS, listSplitDataset, lookupEvalModel } from './test-helpers.js';

const classNames = ['Waving', 'Clapping', 'Bowing'];
// Test labels of every split: 6 videos, two per class.
const labels = [0, 0, 1, 1, 2, 2];

/** A split whose predictions are given; top-1 and the confusion matrix are computed from them and `labels`. */
function split(name: string, predictions: number[], skipped = 0): SplitResult {
  const confusion = classNames.map(() => classNames.map(() => 0));
  let hits = 0;
  predictions.forEach((p, i) => {
    const y = labels[i] as number;
    (confusion[y] as number[])[p] = ((confusion[y] as number[])[p] as number) + 1;
    if (p === y) hits++;
  });
  return {
    split: name,
    numTest: predictions.length,
    top1: (100 * hits) / predictions.length,
    top5: 100,
    confusion,
    predictions,
    ...(skipped > 0 ? { skipped: [{ subset: 'test' as const, path: `/v/bad${skipped}.avi`, reason: 'no moov atom' }] } : {}),
  };
}

function report(label: string, splits: SplitResult[], protocol: 'zero-shot' | 'linear-probe' = 'zero-shot'): EvalReport {
  return makeReport({
    protocol,
    dataset: { name: 'ucf101', classNames },
    model: { kind: 'clip', path: `/m/${label}`, hash: 'abc', label },
    settings: {},
    splits,
  });
}

describe('predictionAgreement', () => {
  it('counts the same top-1 predictions video by video, per split, with the top-1 change and chance', () => {
    const fp32 = report('fp32', [split('1', [0, 0, 1, 1, 2, 2]), split('2', [0, 1, 1, 1, 2, 0]), split('3', [2, 2, 2, 2, 2, 2])]);
    // Split 1: 2 flips (one right -> wrong, one right -> wrong); split 2: 2 flips that cancel out in top-1
    // (video 1 wrong -> right, video 2 right -> wrong); split 3: all equal.
    const int8 = report('int8', [split('1', [0, 1, 1, 1, 2, 0]), split('2', [0, 0, 0, 1, 2, 0]), split('3', [2, 2, 2, 2, 2, 2])]);
    const a = predictionAgreement(fp32, int8);
    expect(a.splits.map((s) => [s.split, s.numTest, s.numAgree])).toEqual([
      ['1', 6, 4],
      ['2', 6, 4],
      ['3', 6, 6],
    ]);
    expect(a.splits[0]?.agreement).toBeCloseTo(200 / 3, 10);
    expect(a.splits.map((s) => s.referenceTop1)).toEqual([100, (100 * 4) / 6, (100 * 2) / 6]);
    [-(100 * 2) / 6, 0, 0].forEach((d, k) => expect(a.splits[k]?.deltaTop1).toBeCloseTo(d, 10));
    // Mean ± sample std over the three splits.
    expect(a.agreement.mean).toBeCloseTo((200 / 3 + 200 / 3 + 100) / 3, 10);
    expect(a.agreement.std).toBeCloseTo(Math.sqrt((2 * (100 / 3 / 3) ** 2 + (200 / 3 / 3) ** 2) / 2), 10);
    expect(a.deltaTop1.mean).toBeCloseTo(-100 / 9, 10);
    expect(a.chance).toBeCloseTo(100 / 3, 10);
    expect([a.reference, a.candidate, a.protocol, a.numClasses]).toEqual(['fp32', 'int8', 'zero-shot', 3]);
    // Same reports: everything agrees.
    expect(predictionAgreement(fp32, fp32).agreement).toEqual({ mean: 100, std: 0, numSplits: 3 });
  });

  it('refuses reports that cannot be compared video by video, naming why', () => {
    const a = report('a', [split('1', [0, 0, 1, 1, 2, 2])]);
    const cases: [EvalReport, RegExp][] = [
      [report('b', [split('1', [0, 0, 1, 1, 2, 2])], 'linear-probe'), /protocols differ \(zero-shot vs linear-probe\)/],
      [report('b', [split('2', [0, 0, 1, 1, 2, 2])]), /splits differ \(\[1\] vs \[2\]\)/],
      [report('b', [split('1', [0, 0, 1, 1, 2])]), /split 1 has 6 vs 5 test videos/],
      [report('b', [split('1', [0, 0, 1, 1, 2, 2], 1)]), /0 vs 1 skipped/],
      [
        report('b', [{ ...split('1', [0, 0, 1, 1, 2, 2]), predictions: undefined }]),
        /candidate report \(b, zero-shot\) has no per-video predictions/,
      ],
      [report('b', [{ ...split('1', [0, 0, 1, 1, 2, 2]), predictions: [0, 1] }]), /has 2 predictions for 6 test videos/],
      [
        { ...report('b', [split('1', [0, 0, 1, 1, 2, 2])]), dataset: { name: 'ucf101', classNames: ['x', 'y', 'z'] } },
        /class names differ/,
      ],
    ];
    for (const [b, message] of cases) {
      expect(() => predictionAgreement(a, b)).toThrow(ConfigError);
      expect(() => predictionAgreement(a, b)).toThrow(message);
    }
  });
});

describe('reports record the per-video predictions that their confusion matrix counts', () => {
  it('k-NN through the whole protocol (fake model): one prediction per test video, consistent with top-1 and the confusion', async () => {
    // Features: two clusters along the axes; the test videos' feature is their class axis except
    // video 4, which points at class 0 (a wrong prediction).
    const dim = 2;
    const trainLabels = [0, 0, 0, 1, 1, 1];
    const testLabels = [0, 1, 1, 0, 1];
    const feature = (c: number) => (c === 0 ? [1, 0.1] : [0.1, 1]);
    const all = [...trainLabels.map(feature), ...testLabels.map((c, i) => feature(i === 4 ? 0 : c))];
    const r = await evaluateKnn({
      model: lookupEvalModel(all.flat(), dim),
      dataset: listSplitDataset(trainLabels, testLabels, ['a', 'b']),
      loadViews: indexViewLoader,
      views: LOOKUP_VIEWS,
      progress: false,
      k: 3,
    });
    const s = r.splits[0] as SplitResult;
    expect(s.predictions).toEqual([0, 1, 1, 0, 0]);
    expect(s.top1).toBeCloseTo(80, 10);
    // Column sums of the confusion matrix = how often each class was predicted.
    expect(s.confusion[0]?.map((_, c) => s.confusion.reduce((t, row) => t + (row[c] as number), 0))).toEqual([3, 2]);
  });
});
