import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type EvalReport, makeReport, writeReport } from '@lss/eval';
import { describe, expect, it } from 'vitest';
import {
  DEMO_PROTOCOLS,
  type DemoRow,
  demoReading,
  demoStartLines,
  demoTable,
  pairedDifference,
  readWrittenTable,
  tableFromRunFolder,
} from './demo-report.js';

const classNames = Array.from({ length: 12 }, (_, i) => `Class${i}`);
function report(protocol: EvalReport['protocol'], top1: readonly number[]): EvalReport {
  return makeReport({
    protocol,
    dataset: { name: 'ucf101', classNames },
    model: { kind: 'clip', path: '/m', hash: 'abc', label: 'm' },
    settings: {},
    splits: top1.map((t, i) => ({ split: String(i + 1), numTest: 24, top1: t, top5: 50, confusion: [] })),
  });
}
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

  it('reads the paired per-split difference: improved / no change / worse by its spread', () => {
    const base = rows[0]!.reports['zero-shot'];
    const d = pairedDifference(rows[1]!.reports['zero-shot'], base);
    expect(d.mean).toBeCloseTo(11, 6);
    expect(d.std).toBeCloseTo(Math.sqrt(((10 - 11) ** 2 + (10 - 11) ** 2 + (13 - 11) ** 2) / 2), 6);
    expect(demoReading(rows[1]!.reports['zero-shot'], base, 'frozen')).toMatch(
      /: improved, \+11\.0 ± 1\.7 points \(paired over 3 splits\)/,
    );
    expect(demoReading(base, rows[1]!.reports['zero-shot'], 'x')).toMatch(/: worse, -11\.0/);
    expect(demoReading(report('zero-shot', [31, 30, 26]), base, 'frozen')).toMatch(/no change/);
  });
});

describe('demo start lines', () => {
  it('name the resolved backend once (never the unresolved auto)', () => {
    const lines = demoStartLines({ name: 'torch', tfjsVersion: '4.22.0', device: 'cpu', threads: 2 }, '/tmp/demo');
    expect(lines).toEqual(['demo: backend torch (device cpu, 2 threads)', 'LSS demo: work dir /tmp/demo']);
    expect(lines.join('\n')).not.toMatch(/auto/);
  });
});
