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

/** One-sided significance level of the demo's chance and difference checks. */
export const DEMO_ALPHA = 0.05;

/** `P(X >= k)` for `X ~ Binomial(n, p)`, summed exactly in log space (n up to a few thousand). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (!Number.isInteger(n) || n < 0 || !Number.isInteger(k)) {
    throw new Error(`binomialUpperTail: k and n must be integers with n >= 0; received k = ${k}, n = ${n}.`);
  }
  if (!(p >= 0 && p <= 1)) throw new Error(`binomialUpperTail: p must be a probability in [0, 1]; received ${p}.`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p === 0) return 0;
  if (p === 1) return 1;
  const logFactorial = (m: number) => {
    let s = 0;
    for (let i = 2; i <= m; i++) s += Math.log(i);
    return s;
  };
  const lnN = logFactorial(n);
  let tail = 0;
  for (let i = k; i <= n; i++) {
    tail += Math.exp(lnN - logFactorial(i) - logFactorial(n - i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
  }
  return Math.min(1, tail);
}

/** Correct test videos and test videos of a report, pooled over its splits (the splits' test sets are disjoint). */
export function pooledCounts(report: EvalReport): { correct: number; total: number } {
  let correct = 0;
  let total = 0;
  for (const s of report.splits) {
    correct += Math.round((s.top1 * s.numTest) / 100);
    total += s.numTest;
  }
  return { correct, total };
}

/** The chance check of one report: is its pooled top-1 beyond what guessing among its classes gives? */
export interface ChanceCheck {
  /** Percent: 100 / number of classes. */
  readonly chance: number;
  readonly correct: number;
  readonly total: number;
  /** One-sided exact binomial p-value of `correct` or more under guessing. */
  readonly pValue: number;
  /** Percent: the smallest pooled top-1 that counts as above chance for this many test videos. */
  readonly threshold: number;
  readonly aboveChance: boolean;
}

/**
 * The rule for "above chance": the pooled number of correct test videos over the splits, `k` of `n`, must be
 * unlikely under guessing among `K` classes, `P(Binomial(n, 1/K) >= k) < 0.05` (one-sided exact binomial test).
 */
export function chanceCheck(report: EvalReport, alpha = DEMO_ALPHA): ChanceCheck {
  const numClasses = report.dataset.classNames.length;
  if (numClasses < 2) throw new Error(`chanceCheck: a report needs at least 2 classes; received ${numClasses}.`);
  const p = 1 / numClasses;
  const { correct, total } = pooledCounts(report);
  const pValue = binomialUpperTail(correct, total, p);
  let needed = Math.ceil(total * p);
  while (needed <= total && binomialUpperTail(needed, total, p) >= alpha) needed++;
  return {
    chance: 100 * p,
    correct,
    total,
    pValue,
    threshold: total > 0 ? (100 * needed) / total : Number.POSITIVE_INFINITY,
    aboveChance: pValue < alpha,
  };
}

/** Verdict of `after` against `before` on one protocol. */
export type DemoVerdict = 'improved' | 'worse' | 'no measurable effect' | 'at chance';

export interface DemoComparison {
  readonly verdict: DemoVerdict;
  /** Paired per-split difference `after - before`, points. */
  readonly difference: { readonly mean: number; readonly std: number; readonly n: number };
  /** Points: 2 standard errors of the difference of the two pooled proportions (binomial noise of the test videos). */
  readonly noiseMargin: number;
  readonly after: ChanceCheck;
  readonly before: ChanceCheck;
}

/**
 * The rule of the reading. A difference counts only when its paired mean over splits exceeds both its spread
 * (the sample std of the per-split differences) and the binomial noise of the test videos (2 standard errors of
 * the difference of two proportions over the pooled test videos, `2 sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n)`),
 * and the better row is above chance ({@link chanceCheck}). Otherwise: "at chance" when neither row is above
 * chance, "no measurable effect" when one is.
 */
export function compareReports(after: EvalReport, before: EvalReport): DemoComparison {
  const difference = pairedDifference(after, before);
  const a = chanceCheck(after);
  const b = chanceCheck(before);
  const n = Math.min(a.total, b.total);
  const p1 = a.correct / Math.max(1, a.total);
  const p2 = b.correct / Math.max(1, b.total);
  const noiseMargin = n > 0 ? 200 * Math.sqrt((p1 * (1 - p1)) / n + (p2 * (1 - p2)) / n) : Number.POSITIVE_INFINITY;
  const beyondNoise = Math.abs(difference.mean) > difference.std && Math.abs(difference.mean) > noiseMargin;
  let verdict: DemoVerdict;
  if (beyondNoise && difference.mean > 0 && a.aboveChance) verdict = 'improved';
  else if (beyondNoise && difference.mean < 0 && b.aboveChance) verdict = 'worse';
  else if (!a.aboveChance && !b.aboveChance) verdict = 'at chance';
  else verdict = 'no measurable effect';
  return { verdict, difference, noiseMargin, after: a, before: b };
}

const fixed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;

/**
 * The one-line reading of `after` against a baseline on one protocol (default zero-shot top-1), by the rule of
 * {@link compareReports}, with the numbers behind the verdict.
 */
export function demoReading(after: EvalReport, before: EvalReport, baselineName: string, protocol = 'zero-shot'): string {
  const c = compareReports(after, before);
  const { mean, std, n } = c.difference;
  const size = `${fixed(mean)} ± ${std.toFixed(1)} points paired over ${n} splits, binomial noise margin ${c.noiseMargin.toFixed(1)}`;
  const verdict =
    c.verdict === 'at chance'
      ? `at chance, no measurable effect (neither row is above chance: ${c.after.correct} and ${c.before.correct} of ${c.after.total} test videos correct, above chance needs >= ${c.after.threshold.toFixed(1)} %)`
      : c.verdict === 'no measurable effect'
        ? 'no measurable effect (the difference is within its spread or the binomial noise, or the better row is at chance)'
        : c.verdict;
  return `reading: LSS training vs ${baselineName}, ${protocol} top-1: ${verdict}; ${size}.`;
}

/** One line per row and protocol: above chance or not, by the rule of {@link chanceCheck}. */
export function chanceLines(rows: readonly DemoRow[]): string[] {
  const first = rows[0]?.reports['zero-shot'];
  if (!first) return [];
  const c = chanceCheck(first);
  const head = `chance ${c.chance.toFixed(1)} %; a cell counts as above chance when its correct test videos pooled over the splits (${c.total}) are unlikely under guessing, one-sided exact binomial p < ${DEMO_ALPHA} (here >= ${c.threshold.toFixed(1)} %):`;
  const body = rows.map((r) => {
    const cells = DEMO_PROTOCOLS.map((p) => {
      const k = chanceCheck(r.reports[p]);
      return `${p} ${k.aboveChance ? 'above chance' : 'at chance'} (${k.correct}/${k.total}, p ${k.pValue < 0.001 ? '< 0.001' : `= ${k.pValue.toFixed(3)}`})`;
    });
    return `  ${r.model}: ${cells.join(', ')}`;
  });
  return [head, ...body];
}

/** Seconds of the LSS runs phase, split into its two parts (they add up to about the phase's lap). */
export interface LssRunSeconds {
  /** Training of the 3 runs (one per split). */
  readonly training: number;
  /** Evaluation of the 3 trained towers. */
  readonly evaluation: number;
}

/**
 * The demo's time line: each phase in seconds, in order, the `'LSS runs'` phase followed by its parts in
 * parentheses (`LSS runs 179 s (training 171 s, eval of the trained towers 7 s)`), so no part reads as a phase of
 * its own or as a part of another part.
 */
export function demoTimeLine(phases: Readonly<Record<string, number>>, lssRuns?: LssRunSeconds): string {
  return Object.entries(phases)
    .map(([name, s]) => {
      const parts =
        name === 'LSS runs' && lssRuns
          ? ` (training ${lssRuns.training.toFixed(0)} s, eval of the trained towers ${lssRuns.evaluation.toFixed(0)} s)`
          : '';
      return `${name} ${s.toFixed(0)} s${parts}`;
    })
    .join(', ');
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
