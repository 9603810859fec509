/**
 * The demo's table and its one-line reading, built only from eval reports (`@lss/eval` `EvalReport`), so the
 * printed table is by construction the table of the reports written to the run folder (`tableFromRunFolder`
 * re-reads them; a test checks both agree).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BackendInfo, describeBackend } from '@lss/core';
import { type EvalReport, readReport } from '@lss/eval';

/** The demo's first lines: the backend as resolved (`auto` is never printed as if it were one), then the work dir. */
export function demoStartLines(backend: BackendInfo, workDir: string): string[] {
  return [`demo: ${describeBackend(backend)}`, `LSS demo: work dir ${workDir}`];
}

/** The protocols of a demo row, in column order. */
export const DEMO_PROTOCOLS = ['zero-shot', 'linear-probe', 'knn'] as const;
export type DemoProtocol = (typeof DEMO_PROTOCOLS)[number];

/** One row: a model and its three reports (each over the same splits). */
export interface DemoRow {
  readonly model: string;
  /** Sub-folder of the run folder holding `<protocol>/report.json`. */
  readonly folder: string;
  readonly reports: Readonly<Record<DemoProtocol, EvalReport>>;
}

const HEADERS: Record<DemoProtocol, string> = {
  'zero-shot': 'zero-shot top-1 %',
  'linear-probe': 'linear probe top-1 %',
  knn: 'k-NN top-1 %',
};

/** `mean ± std` of a report's top-1 over its splits (sample std, as `@lss/eval`). */
export function cell(report: EvalReport): string {
  return `${report.summary.top1.mean.toFixed(1)} ± ${report.summary.top1.std.toFixed(1)}`;
}

/** A Markdown table of the rows, plus a chance row (100 / number of classes). */
export function demoTable(rows: readonly DemoRow[]): string {
  const numClasses = rows[0]?.reports['zero-shot'].dataset.classNames.length ?? 0;
  const header = ['model', ...DEMO_PROTOCOLS.map((p) => HEADERS[p])];
  const body = rows.map((r) => [r.model, ...DEMO_PROTOCOLS.map((p) => cell(r.reports[p]))]);
  const chance = (100 / Math.max(1, numClasses)).toFixed(1);
  body.push([`chance (${numClasses} classes)`, chance, chance, chance]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] as number)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

/** Per-split top-1 of a report, in split order. */
export function splitTop1(report: EvalReport): number[] {
  return report.splits.map((s) => s.top1);
}

/** Mean and sample std of paired per-split differences `after - before` (same split names required). */
export function pairedDifference(after: EvalReport, before: EvalReport): { mean: number; std: number; n: number } {
  const b = new Map(before.splits.map((s) => [s.split, s.top1]));
  const d = after.splits.filter((s) => b.has(s.split)).map((s) => s.top1 - (b.get(s.split) as number));
  const n = d.length;
  const mean = d.reduce((a, x) => a + x, 0) / Math.max(1, n);
  const std = n > 1 ? Math.sqrt(d.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

/**
 * The one-line reading: LSS after training against a baseline on zero-shot top-1, as the paired difference
 * over splits. "improved" / "worse" only when the mean difference exceeds its spread (one sample std of the
 * per-split differences); "no change" otherwise.
 */
export function demoReading(after: EvalReport, before: EvalReport, baselineName: string): string {
  const { mean, std, n } = pairedDifference(after, before);
  const size = `${mean >= 0 ? '+' : ''}${mean.toFixed(1)} ± ${std.toFixed(1)} points (paired over ${n} splits)`;
  const verdict = Math.abs(mean) <= std || mean === 0 ? 'no change (the difference is within its spread)' : mean > 0 ? 'improved' : 'worse';
  return `reading: LSS training vs ${baselineName}, zero-shot top-1: ${verdict}, ${size}.`;
}

/** Re-reads the rows' reports from the run folder and rebuilds the table (what a reader of the folder sees). */
export function tableFromRunFolder(runDir: string, rows: readonly Pick<DemoRow, 'model' | 'folder'>[]): string {
  const loaded: DemoRow[] = rows.map((r) => {
    const reports = {} as Record<DemoProtocol, EvalReport>;
    for (const p of DEMO_PROTOCOLS) {
      const file = join(runDir, r.folder, p, 'report.json');
      if (!existsSync(file)) throw new Error(`${file} is missing; the demo writes one report per row and protocol.`);
      reports[p] = readReport(file);
    }
    return { ...r, reports };
  });
  return demoTable(loaded);
}

/** The `table.md` of a run folder (written by the demo). */
export function readWrittenTable(runDir: string): string {
  const text = readFileSync(join(runDir, 'table.md'), 'utf8');
  const start = text.indexOf('| model');
  const end = text.indexOf('\n\n', start);
  return text.slice(start, end === -1 ? undefined : end).trimEnd();
}
