/**
 * Evaluation reports: one JSON document per run (every number, the settings and the prompt set), the
 * same as a Markdown table, a confusion-matrix picture (SVG) per split, and a side-by-side comparison
 * of several reports.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError } from '@lss/core';
import { ensureWritableDir, writeFileAtomic } from '@lss/core/node';
import { escapeUTF8 } from 'entities/escape'; // XML/SVG text and attributes: & < > " '
import { formatMeanStd, type MeanStd, meanStd, STD_DEFINITION } from './metrics.js';

export type Protocol = 'zero-shot' | 'zero-shot-transductive' | 'linear-probe' | 'linear-probe-sgd' | 'knn' | 'classify';

/** A listed video that could not be read and was left out of a split's features. */
export interface SkippedVideoEntry {
  readonly subset: 'train' | 'test';
  readonly path: string;
  readonly reason: string;
}

/** One evaluated split (an official split, K400's validation set, or 'all'). */
export interface SplitResult {
  readonly split: string;
  /** Training videos the probe / k-NN used (readable ones only). */
  readonly numTrain?: number;
  /** Test videos the metrics were computed on (readable ones only). */
  readonly numTest: number;
  /** Listed training videos left out because they could not be read. */
  readonly numTrainSkipped?: number;
  /** Listed test videos left out because they could not be read. */
  readonly numTestSkipped?: number;
  /** The videos left out, with the reason. */
  readonly skipped?: readonly SkippedVideoEntry[];
  /** Percent. */
  readonly top1: number;
  /** Percent. */
  readonly top5: number;
  /** Counts, `confusion[true][predicted]`. */
  readonly confusion: number[][];
  /**
   * Top-1 predicted class index of every test video the metrics used, in the order of the split's test list
   * (skipped videos left out): what `confusion` counts, per video, so that two reports on the same split can be
   * compared video by video (`predictionAgreement`). Absent in reports written before it was recorded.
   */
  readonly predictions?: readonly number[];
  /** Protocol-specific numbers: chosen C, iterations, ... */
  readonly details?: Readonly<Record<string, unknown>>;
}

export interface ReportModel {
  /** 'checkpoint': a trainer checkpoint (video tower); 'clip': frozen image CLIP with frame averaging. */
  readonly kind: 'checkpoint' | 'clip';
  readonly path: string;
  /** sha256 of the weights file(s), shortened. */
  readonly hash: string;
  /** A short name for tables. */
  readonly label: string;
}

export interface PromptSet {
  /** Templates with `{}` where the class name goes. */
  readonly templates: readonly string[];
  /** Where they came from (file path or 'built-in default'). */
  readonly source: string;
}

export interface EvalReport {
  readonly formatVersion: 1;
  readonly tool: 'lss-eval';
  readonly protocol: Protocol;
  readonly dataset: { readonly name: string; readonly root?: string; readonly classNames: readonly string[] };
  readonly model: ReportModel;
  /** Every setting that affects the numbers (views, k, T, C grid, backend, ...). */
  readonly settings: Readonly<Record<string, unknown>>;
  /** Prompt set used by zero-shot classifiers (absent for probes). */
  readonly promptSet?: PromptSet;
  readonly splits: readonly SplitResult[];
  readonly summary: { readonly top1: MeanStd; readonly top5: MeanStd; readonly std: string };
  /** The same protocol under other test views (zero-shot reports 1 x 1 in `splits` and 4 x 3 here by default, SPEC section 5). */
  readonly otherTestViews?: readonly ViewVariant[];
  readonly createdAt: string;
}

/** Results of a report's protocol under other test views. */
export interface ViewVariant {
  readonly testViews: string;
  readonly splits: readonly SplitResult[];
  readonly summary: { readonly top1: MeanStd; readonly top5: MeanStd };
}

/** A {@link ViewVariant} with its mean ± std over splits. */
export function viewVariant(testViews: string, splits: readonly SplitResult[]): ViewVariant {
  return { testViews, splits, summary: { top1: meanStd(splits.map((s) => s.top1)), top5: meanStd(splits.map((s) => s.top5)) } };
}

/** Builds a report; the summary is the mean ± sample std over the given splits. */
export function makeReport(
  fields: Omit<EvalReport, 'formatVersion' | 'tool' | 'summary' | 'createdAt'> & { createdAt?: string },
): EvalReport {
  if (fields.splits.length === 0) throw new ConfigError('A report needs at least one evaluated split; received none.');
  return {
    formatVersion: 1,
    tool: 'lss-eval',
    ...fields,
    summary: {
      top1: meanStd(fields.splits.map((s) => s.top1)),
      top5: meanStd(fields.splits.map((s) => s.top5)),
      std: STD_DEFINITION,
    },
    createdAt: fields.createdAt ?? new Date().toISOString(),
  };
}

const PROTOCOL_TITLES: Record<Protocol, string> = {
  'zero-shot': 'Zero-shot',
  'zero-shot-transductive': 'Transductive zero-shot',
  'linear-probe': 'Linear probe (L-BFGS logistic regression)',
  'linear-probe-sgd': 'Linear probe (SGD, SVT style)',
  knn: 'Weighted k-NN',
  classify: 'Single-video classification',
};

function formatValue(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** Renders a report as Markdown: title, per-split table with the mean ± std row, settings, prompts. */
export function reportToMarkdown(report: EvalReport): string {
  const lines: string[] = [];
  lines.push(`# ${PROTOCOL_TITLES[report.protocol]}: ${report.dataset.name}, ${report.model.label}`, '');
  const hasTrain = report.splits.some((s) => s.numTrain !== undefined);
  lines.push(`| split |${hasTrain ? ' train |' : ''} test | top-1 (%) | top-5 (%) |`);
  lines.push(`|---|${hasTrain ? '---:|' : ''}---:|---:|---:|`);
  const withSkips = (n: number | undefined, skipped: number | undefined) =>
    n === undefined ? '' : skipped ? `${n} (${skipped} skipped)` : String(n);
  for (const s of report.splits) {
    lines.push(
      `| ${s.split} |${hasTrain ? ` ${withSkips(s.numTrain, s.numTrainSkipped)} |` : ''} ${withSkips(s.numTest, s.numTestSkipped)} | ${s.top1.toFixed(1)} | ${s.top5.toFixed(1)} |`,
    );
  }
  const n = report.summary.top1.numSplits;
  lines.push(
    `| **mean ± std (${n} split${n === 1 ? '' : 's'})** |${hasTrain ? ' |' : ''} | **${formatMeanStd(report.summary.top1)}** | **${formatMeanStd(report.summary.top5)}** |`,
  );
  lines.push('', `std: ${report.summary.std}.`, '');
  for (const v of report.otherTestViews ?? []) {
    lines.push(`## Test views ${v.testViews}`, '', '| split | test | top-1 (%) | top-5 (%) |', '|---|---:|---:|---:|');
    for (const s of v.splits) lines.push(`| ${s.split} | ${s.numTest} | ${s.top1.toFixed(1)} | ${s.top5.toFixed(1)} |`);
    lines.push(`| **mean ± std** | | **${formatMeanStd(v.summary.top1)}** | **${formatMeanStd(v.summary.top5)}** |`, '');
  }
  const skipped = report.splits.flatMap((s) => (s.skipped ?? []).map((v) => ({ split: s.split, ...v })));
  if (skipped.length > 0) {
    lines.push(
      `## Skipped videos (${skipped.length})`,
      '',
      'Listed videos that could not be read; every metric above is computed without them (the train and test columns count the videos used).',
      '',
    );
    for (const v of skipped) lines.push(`- split ${v.split} ${v.subset}: \`${v.path}\`: ${v.reason.replaceAll('\n', ' ')}`);
    lines.push('');
  }
  lines.push(
    '## Model',
    '',
    `- kind: ${report.model.kind === 'clip' ? 'frozen image CLIP, frame features averaged' : 'trainer checkpoint (video tower)'}`,
  );
  lines.push(`- path: \`${report.model.path}\``, `- weights hash: \`${report.model.hash}\``, '');
  lines.push('## Settings', '', '| setting | value |', '|---|---|');
  for (const [k, v] of Object.entries(report.settings)) lines.push(`| ${k} | ${formatValue(v).replaceAll('|', '\\|')} |`);
  const details = report.splits.filter((s) => s.details && Object.keys(s.details).length > 0);
  if (details.length > 0) {
    lines.push('', '## Per-split details', '');
    for (const s of details)
      lines.push(
        `- split ${s.split}: ${Object.entries(s.details ?? {})
          .map(([k, v]) => `${k} = ${formatValue(v)}`)
          .join('; ')}`,
      );
  }
  if (report.promptSet) {
    lines.push('', `## Prompt set (${report.promptSet.templates.length} templates, ${report.promptSet.source})`, '');
    for (const t of report.promptSet.templates) lines.push(`- \`${t}\``);
  }
  lines.push(
    '',
    `Dataset: ${report.dataset.name}${report.dataset.root ? ` (\`${report.dataset.root}\`)` : ''}, ${report.dataset.classNames.length} classes. Created ${report.createdAt}.`,
    '',
  );
  return lines.join('\n');
}

/**
 * A confusion matrix as an SVG heat map: rows are true classes, columns predictions, each row
 * normalised to its own count (so the colour is the recall of that cell), counts printed when the
 * matrix is small enough to read.
 */
export function confusionToSvg(confusion: readonly (readonly number[])[], classNames: readonly string[], title: string): string {
  const k = confusion.length;
  const cell = k <= 20 ? 24 : k <= 60 ? 10 : 6;
  const label = k <= 60 ? 140 : 0;
  const top = 40 + (k <= 60 ? 140 : 0);
  // Wide enough for the title (about 7.5 px per character at 14 px).
  const width = Math.max(label + k * cell + 20, Math.ceil(20 + title.length * 7.5));
  const height = top + k * cell + 24;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
  );
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="10" y="20" font-size="14">${escapeUTF8(title)}</text>`);
  parts.push(
    `<text x="10" y="${height - 4}" font-size="10" fill="#555">rows: true class, columns: predicted class, colour: fraction of the row</text>`,
  );
  for (let i = 0; i < k; i++) {
    const row = confusion[i] ?? [];
    const total = row.reduce((a, b) => a + b, 0);
    if (label > 0) {
      const name = escapeUTF8((classNames[i] ?? String(i)).slice(0, 22));
      parts.push(
        `<text x="${label - 4}" y="${top + i * cell + cell * 0.7}" font-size="${Math.min(11, cell - 1)}" text-anchor="end">${name}</text>`,
      );
      parts.push(
        `<text transform="translate(${label + i * cell + cell * 0.7},${top - 4}) rotate(-60)" font-size="${Math.min(11, cell - 1)}">${name}</text>`,
      );
    }
    for (let j = 0; j < k; j++) {
      const count = row[j] ?? 0;
      const frac = total > 0 ? count / total : 0;
      // White (0) to dark blue (1).
      const r = Math.round(255 - frac * 247);
      const g = Math.round(255 - frac * 207);
      const b = Math.round(255 - frac * 148);
      parts.push(
        `<rect x="${label + j * cell}" y="${top + i * cell}" width="${cell}" height="${cell}" fill="rgb(${r},${g},${b})" stroke="#ddd" stroke-width="0.5"><title>${escapeUTF8(`${classNames[i] ?? i} → ${classNames[j] ?? j}: ${count}`)}</title></rect>`,
      );
      if (k <= 20 && count > 0) {
        parts.push(
          `<text x="${label + j * cell + cell / 2}" y="${top + i * cell + cell * 0.68}" font-size="10" text-anchor="middle" fill="${frac > 0.5 ? 'white' : 'black'}">${count}</text>`,
        );
      }
    }
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Writes `report.json`, `report.md` and `confusion-split-<name>.svg` per split into `dir`. Returns the paths. */
export function writeReport(dir: string, report: EvalReport): { json: string; markdown: string; confusion: string[] } {
  ensureWritableDir(dir, 'report folder');
  const json = join(dir, 'report.json');
  const markdown = join(dir, 'report.md');
  writeFileAtomic(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileAtomic(markdown, reportToMarkdown(report));
  const confusion: string[] = [];
  for (const s of report.splits) {
    const f = join(dir, `confusion-split-${s.split.replaceAll(/[^A-Za-z0-9_-]/g, '_')}.svg`);
    writeFileAtomic(
      f,
      confusionToSvg(
        s.confusion,
        report.dataset.classNames,
        `${PROTOCOL_TITLES[report.protocol]}, ${report.dataset.name} split ${s.split}, ${report.model.label}: top-1 ${s.top1.toFixed(1)}%`,
      ),
    );
    confusion.push(f);
  }
  return { json, markdown, confusion };
}

/** Reads and checks a report written by {@link writeReport}. */
export function readReport(path: string): EvalReport {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new DataError(`Cannot read report ${path}: ${(cause as Error).message}. Pass a report.json written by lss-eval.`, {
      file: path,
      cause,
    });
  }
  const r = parsed as Partial<EvalReport>;
  if (r.tool !== 'lss-eval' || r.formatVersion !== 1 || !Array.isArray(r.splits) || !r.summary) {
    throw new DataError(`${path} is not an lss-eval report (expected tool 'lss-eval', formatVersion 1, splits and summary).`, {
      file: path,
    });
  }
  return r as EvalReport;
}

/**
 * Puts several reports side by side: one row per report with its per-split top-1, mean ± std of
 * top-1 and top-5, and the difference of the mean top-1 to the first report on the same dataset and
 * protocol (for example frozen CLIP against an LSS checkpoint).
 */
export function compareReports(reports: readonly EvalReport[], names?: readonly string[]): string {
  if (reports.length === 0) throw new ConfigError('compare needs at least one report.');
  const splitNames = [...new Set(reports.flatMap((r) => r.splits.map((s) => s.split)))];
  const lines: string[] = ['# Comparison', ''];
  lines.push(
    `| report | model | dataset | protocol | ${splitNames.map((s) => `split ${s}`).join(' | ')} | top-1 mean ± std | top-5 mean ± std | Δ top-1 |`,
  );
  lines.push(`|---|---|---|---|${splitNames.map(() => '---:|').join('')}---:|---:|---:|`);
  const firstOf = new Map<string, EvalReport>();
  reports.forEach((r, i) => {
    const key = `${r.dataset.name}\u0000${r.protocol}`;
    const ref = firstOf.get(key);
    if (!ref) firstOf.set(key, r);
    const perSplit = splitNames.map((name) => {
      const s = r.splits.find((x) => x.split === name);
      return s ? s.top1.toFixed(1) : '–';
    });
    const delta = ref
      ? `${r.summary.top1.mean - ref.summary.top1.mean >= 0 ? '+' : ''}${(r.summary.top1.mean - ref.summary.top1.mean).toFixed(1)}`
      : '(reference)';
    lines.push(
      `| ${names?.[i] ?? String(i + 1)} | ${r.model.label} (${r.model.kind}) | ${r.dataset.name} | ${r.protocol} | ${perSplit.join(' | ')} | ${formatMeanStd(r.summary.top1)} | ${formatMeanStd(r.summary.top5)} | ${delta} |`,
    );
  });
  lines.push('', `std: ${STD_DEFINITION}. Δ top-1: mean top-1 minus that of the first report with the same dataset and protocol.`, '');
  lines.push('## Settings that differ', '');
  const keys = [...new Set(reports.flatMap((r) => Object.keys(r.settings)))];
  const differing = keys.filter((k) => new Set(reports.map((r) => JSON.stringify(r.settings[k]))).size > 1);
  if (differing.length === 0) lines.push('None.');
  else {
    lines.push(
      `| setting | ${reports.map((_, i) => names?.[i] ?? String(i + 1)).join(' | ')} |`,
      `|---|${reports.map(() => '---|').join('')}`,
    );
    for (const k of differing)
      lines.push(
        `| ${k} | ${reports.map((r) => (r.settings[k] === undefined ? '–' : formatValue(r.settings[k]).replaceAll('|', '\\|'))).join(' | ')} |`,
      );
  }
  lines.push('');
  return lines.join('\n');
}
