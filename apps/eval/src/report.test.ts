import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { zeroShotViewSets } from './evaluate.js';
import {
  compareReports,
  confusionToSvg,
  type EvalReport,
  makeReport,
  readReport,
  reportToMarkdown,
  viewVariant,
  writeReport,
} from './report.js';

const confusion = [
  [2, 0],
  [1, 1],
];
function fixedReport(label: string, top1: [number, number, number]): EvalReport {
  return makeReport({
    protocol: 'zero-shot',
    dataset: { name: 'ucf101', classNames: ['ApplyEyeMakeup', 'Archery'] },
    model: { kind: label === 'clip' ? 'clip' : 'checkpoint', path: `/m/${label}`, hash: 'abc123', label },
    settings: { views: '4x3', numFrames: 8 },
    promptSet: { templates: ['{}', 'a video of a person {}.'], source: 'built-in default' },
    splits: top1.map((t, i) => ({ split: String(i + 1), numTest: 4, top1: t, top5: 100, confusion })),
    createdAt: '2026-01-01T00:00:00.000Z',
  });
}

describe('reports', () => {
  it('print the per-split numbers, the mean ± sample std, settings and prompt set', () => {
    const report = fixedReport('clip', [73.4, 74.6, 74.0]);
    expect(report.summary.top1.mean).toBeCloseTo(74, 10);
    expect(report.summary.top1.std).toBeCloseTo(0.6, 10);
    const md = reportToMarkdown(report);
    expect(md).toContain('| 1 | 4 | 73.4 | 100.0 |');
    expect(md).toContain('**74.0 ± 0.6**');
    expect(md).toContain('**100.0 ± 0.0**');
    expect(md).toContain('sample standard deviation over splits (denominator n - 1)');
    expect(md).toContain('`a video of a person {}.`');
    expect(md).toContain('| views | 4x3 |');
  });

  it('zero-shot reports 1 x 1 and 4 x 3 by default (SPEC section 5); other test views get their own table', () => {
    const resolved = { numClips: 1, numCrops: 1, numFrames: 8, size: 224 };
    expect(zeroShotViewSets(resolved, undefined).map((v) => [v.numClips, v.numCrops])).toEqual([
      [1, 1],
      [4, 3],
    ]);
    expect(zeroShotViewSets(resolved, { numFrames: 8 }).map((v) => [v.numClips, v.numCrops])).toEqual([
      [1, 1],
      [4, 3],
    ]);
    expect(zeroShotViewSets({ ...resolved, numClips: 2 }, { numClips: 2 })).toEqual([{ ...resolved, numClips: 2 }]);
    const base = fixedReport('clip', [73.4, 74.6, 74.0]);
    const both: EvalReport = {
      ...base,
      otherTestViews: [
        viewVariant(
          '4 clip(s) × 3 crop(s), 8 frames, 224 px',
          base.splits.map((x) => ({ ...x, top1: x.top1 + 1 })),
        ),
      ],
    };
    const md = reportToMarkdown(both);
    expect(md).toContain('## Test views 4 clip(s) × 3 crop(s), 8 frames, 224 px');
    expect(md).toContain('| 1 | 4 | 74.4 | 100.0 |');
    expect(md).toContain('**75.0 ± 0.6**');
  });

  it('escape class names in the SVG (entities escapeUTF8: & < > " \')', () => {
    const svg = confusionToSvg(confusion, [`Tom & Jerry's <run>`, 'say "hi"'], 'a < b');
    expect(svg).toContain('Tom &amp; Jerry&apos;s &lt;run&gt;');
    expect(svg).toContain('say &quot;hi&quot;');
    expect(svg).not.toContain('<run>');
  });

  it('are written as JSON, Markdown and SVG and read back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-eval-report-'));
    try {
      const files = writeReport(dir, fixedReport('clip', [73.4, 74.6, 74.0]));
      expect(files.confusion).toHaveLength(3);
      const svg = readFileSync(files.confusion[0] as string, 'utf8');
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
      // 2x2 cells; the diagonal of row 0 is full (dark), row 1 half.
      expect(svg.match(/<rect x=/g)).toHaveLength(4);
      expect(svg).toContain('ApplyEyeMakeup → ApplyEyeMakeup: 2');
      expect(readReport(files.json).summary.top1.numSplits).toBe(3);
      expect(() => readReport(files.markdown)).toThrow(/Cannot read report/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('compare puts reports side by side with the difference to the first', () => {
    const md = compareReports([fixedReport('clip', [73.4, 74.6, 74.0]), fixedReport('lss', [80, 81, 82])], ['frozen CLIP', 'LSS']);
    expect(md).toContain(
      '| frozen CLIP | clip (clip) | ucf101 | zero-shot | 73.4 | 74.6 | 74.0 | 74.0 ± 0.6 | 100.0 ± 0.0 | (reference) |',
    );
    expect(md).toContain('| LSS | lss (checkpoint) | ucf101 | zero-shot | 80.0 | 81.0 | 82.0 | 81.0 ± 1.0 | 100.0 ± 0.0 | +7.0 |');
  });
});
