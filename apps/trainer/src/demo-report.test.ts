import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EvalReport, makeReport, writeReport } from '@lss/eval';
import { describe, expect, it } from 'vitest';
import {
  binomialUpperTail,
  chanceCheck,
  chanceLines,
  compareReports,
  DEMO_PROTOCOLS,
  type DemoRow,
  demoReading,
  demoStartLines,
  demoTable,
  demoTimeLine,
  pairedDifference,
  readWrittenTable,
  tableFromRunFolder,
} from './demo-report.js';

const classNames = Array.from({ length: 12 }, (_, i) => `Class${i}`);
function report(protocol: EvalReport['protocol'], top1: readonly number[], numTest = 48): EvalReport {
  return makeReport({
    protocol,
    dataset: { name: 'ucf101', classNames },
    model: { kind: 'clip', path: '/m', hash: 'abc', label: 'm' },
    settings: {},
    splits: top1.map((t, i) => ({ split: String(i + 1), numTest, top1: t, top5: 50, confusion: [] })),
  });
}
/** Top-1 % of `correct` of `numTest` test videos per split (the demo world: 48 test videos per split). */
const pcts = (correct: readonly number[], numTest = 48) => correct.map((k) => (100 * k) / numTest);
function row(model: string, folder: string, zs: number[], probe: number[], knn: number[]): DemoRow {
  return {
    model,
    folder,
    reports: { 'zero-shot': report('zero-shot', zs), 'linear-probe': report('linear-probe', probe), knn: report('knn', knn) },
  };
}

describe('the demo table and reading', () => {
  const rows = [
    row('frozen image CLIP', 'frozen-clip', [30, 35, 25], [40, 45, 50], [38, 40, 42]),
    row('LSS trained', 'lss-trained', [40, 45, 38], [41, 44, 52], [39, 41, 40]),
  ];

  it('prints what the written reports say: the table re-read from the run folder equals the in-memory table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-table-'));
    for (const r of rows) for (const p of DEMO_PROTOCOLS) writeReport(join(dir, r.folder, p), r.reports[p]);
    const printed = demoTable(rows);
    expect(tableFromRunFolder(dir, rows)).toBe(printed);
    writeFileSync(join(dir, 'table.md'), `${printed}\n\nreading: ...\n`);
    expect(readWrittenTable(dir)).toBe(printed);
    // Mean ± sample std over the splits, and a chance row for 12 classes.
    expect(printed).toContain('| 30.0 ± 5.0');
    expect(printed).toContain('41.0 ± 3.6');
    expect(printed).toMatch(/chance \(12 classes\)\s*\| 8\.3/);
    // A report changed on disk changes the re-read table (the check can fail).
    writeReport(join(dir, 'lss-trained', 'knn'), report('knn', [90, 90, 90]));
    expect(tableFromRunFolder(dir, rows)).not.toBe(printed);
  });

  it('measures the paired per-split difference', () => {
    const base = rows[0]!.reports['zero-shot'];
    const d = pairedDifference(rows[1]!.reports['zero-shot'], base);
    expect(d.mean).toBeCloseTo(11, 6);
    expect(d.std).toBeCloseTo(Math.sqrt(((10 - 11) ** 2 + (10 - 11) ** 2 + (13 - 11) ** 2) / 2), 6);
  });
});

describe('the reading accounts for chance and noise', () => {
  it('binomial upper tail matches hand computations', () => {
    expect(binomialUpperTail(2, 3, 0.5)).toBeCloseTo(0.5, 12); // (3 + 1) / 8
    expect(binomialUpperTail(1, 2, 1 / 12)).toBeCloseTo(1 - (11 / 12) ** 2, 12);
    expect(binomialUpperTail(0, 10, 0.3)).toBe(1);
    expect(binomialUpperTail(11, 10, 0.3)).toBe(0);
    // sum_{i >= 16} C(144, i) (1/12)^i (11/12)^(144 - i), computed with Python's math.comb: 0.146015640...
    expect(binomialUpperTail(16, 144, 1 / 12)).toBeCloseTo(0.14601564020750304, 9);
    expect(() => binomialUpperTail(1.5, 10, 0.1)).toThrow(/integers.*received k = 1.5/);
    expect(() => binomialUpperTail(1, 10, 2)).toThrow(/probability.*received 2/);
  });

  it('a cell is above chance only beyond the one-sided binomial margin of its pooled test videos', () => {
    // 3 splits x 48 test videos, 12 classes: 19 of 144 correct is the first count with p < 0.05 (p 0.031; 18: 0.055).
    const at = chanceCheck(report('zero-shot', pcts([6, 6, 6])));
    expect(at.total).toBe(144);
    expect(at.correct).toBe(18);
    expect(at.aboveChance).toBe(false);
    expect(at.threshold).toBeCloseTo((100 * 19) / 144, 9);
    const above = chanceCheck(report('zero-shot', pcts([7, 6, 6])));
    expect(above.correct).toBe(19);
    expect(above.aboveChance).toBe(true);
    expect(above.pValue).toBeCloseTo(0.03099919452345452, 9);
  });

  it("demo2's case, 11.1 ± 1.2 after vs 5.6 ± 2.4 before with every row at chance, does NOT read improved", () => {
    const before = report('zero-shot', pcts([2, 4, 2])); // 5.6 ± 2.4
    const after = report('zero-shot', pcts([5, 6, 5])); // 11.1 ± 1.2
    const c = compareReports(after, before);
    // The old rule (paired mean beyond one std of the per-split differences) held: +5.6 ± 1.2 ...
    expect(c.difference.mean).toBeCloseTo(5.56, 2);
    expect(c.difference.mean).toBeGreaterThan(c.difference.std);
    // ... but 16 of 144 is within guessing (p 0.15), and 5.6 points is within the binomial noise of 144 videos.
    expect(c.after.aboveChance).toBe(false);
    expect(c.noiseMargin).toBeGreaterThan(c.difference.mean);
    expect(c.verdict).toBe('at chance');
    const line = demoReading(after, before, 'the frozen image CLIP');
    expect(line).not.toMatch(/improved/);
    expect(line).toMatch(
      /: at chance, no measurable effect \(neither row is above chance: 16 and 8 of 144 test videos correct, above chance needs >= 13\.2 %\)/,
    );
  });

  it('improved / worse need a paired difference beyond its spread and the binomial noise, and the better row above chance', () => {
    const frozen = report('zero-shot', pcts([10, 12, 11])); // 22.9 %: above chance
    const better = report('zero-shot', pcts([22, 24, 19])); // 45.1 %
    expect(compareReports(better, frozen).verdict).toBe('improved');
    expect(demoReading(better, frozen, 'frozen')).toMatch(
      /: improved; \+22\.2 ± 4\.8 points paired over 3 splits, binomial noise margin 10\.\d/,
    );
    expect(compareReports(frozen, better).verdict).toBe('worse');
    // Beyond the spread of the splits but within the binomial noise of 144 videos: no measurable effect.
    const slightly = report('zero-shot', pcts([13, 15, 14]));
    const s = compareReports(slightly, frozen);
    expect(s.difference.mean).toBeGreaterThan(s.difference.std);
    expect(s.difference.mean).toBeLessThan(s.noiseMargin);
    expect(s.verdict).toBe('no measurable effect');
    // Beyond the binomial noise on average but not beyond the spread of the splits: no measurable effect.
    const noisy = report('zero-shot', pcts([10, 30, 15]));
    const n = compareReports(noisy, frozen);
    expect(n.difference.mean).toBeGreaterThan(n.noiseMargin);
    expect(n.difference.mean).toBeLessThan(n.difference.std);
    expect(n.verdict).toBe('no measurable effect');
    // From chance to well above chance is an improvement (the baseline need not be above chance).
    const fromChance = compareReports(better, report('zero-shot', pcts([4, 4, 4])));
    expect(fromChance.before.aboveChance).toBe(false);
    expect(fromChance.verdict).toBe('improved');
    // A row at chance is never "improved", even with a difference beyond its spread and the binomial noise:
    // 18 of 144 (12.5 %, p 0.055) against 0 of 144.
    const atChance = compareReports(report('zero-shot', pcts([6, 6, 6])), report('zero-shot', pcts([0, 0, 0])));
    expect(atChance.difference.mean).toBeGreaterThan(Math.max(atChance.difference.std, atChance.noiseMargin));
    expect(atChance.after.aboveChance).toBe(false);
    expect(atChance.verdict).toBe('at chance');
  });

  it('states the chance rule and each cell', () => {
    const lines = chanceLines([row('frozen', 'f', pcts([2, 4, 2]), pcts([7, 6, 6]), pcts([4, 4, 4]))]);
    expect(lines[0]).toMatch(/chance 8\.3 %; .* pooled over the splits \(144\) .* p < 0\.05 \(here >= 13\.2 %\)/);
    expect(lines[1]).toBe(
      '  frozen: zero-shot at chance (8/144, p = 0.920), linear-probe above chance (19/144, p = 0.031), knn at chance (12/144, p = 0.543)',
    );
    const strong = chanceLines([row('trained', 't', pcts([20, 20, 20]), pcts([7, 6, 6]), pcts([4, 4, 4]))]);
    expect(strong[1]).toMatch(/^ {2}trained: zero-shot above chance \(60\/144, p < 0\.001\), linear-probe above chance/);
    expect(strong.join('\n')).not.toMatch(/p = </);
  });

  it('times each phase, the LSS runs with their two parts in parentheses', () => {
    const phases = { world: 8.2, 'frozen CLIP eval': 7, 'step-0 tower eval': 3, 'LSS runs': 179.4 };
    expect(demoTimeLine(phases, { training: 171.2, evaluation: 7.1 })).toBe(
      'world 8 s, frozen CLIP eval 7 s, step-0 tower eval 3 s, LSS runs 179 s (training 171 s, eval of the trained towers 7 s)',
    );
    expect(demoTimeLine({ world: 8 })).toBe('world 8 s');
  });
});

describe('demo start lines', () => {
  it('name the resolved backend once (never the unresolved auto)', () => {
    const lines = demoStartLines({ name: 'torch', tfjsVersion: '4.22.0', device: 'cpu', threads: 2 }, '/tmp/demo');
    expect(lines).toEqual(['demo: backend torch (device cpu, 2 threads)', 'LSS demo: work dir /tmp/demo']);
    expect(lines.join('\n')).not.toMatch(/auto/);
  });
});
