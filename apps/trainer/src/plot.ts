/**
 * An SVG plot of a run, written at the end: loss terms per step (top) and the learning-rate schedule
 * (bottom), with axes and a legend. Plain SVG, no dependency; opens in any browser.
 */

import { escapeUTF8 } from 'entities/escape'; // XML/SVG text and attributes: & < > " '
import type { MetricsRecord } from './metrics.js';

const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

interface Series {
  readonly name: string;
  readonly points: readonly [number, number][];
}

function ticks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  return Array.from({ length: n }, (_, i) => lo + ((hi - lo) * i) / (n - 1));
}

const label = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(3));

function panel(series: readonly Series[], x0: number, y0: number, w: number, h: number, title: string, xMax: number): string {
  const all = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(y));
  let lo = Math.min(...all.map(([, y]) => y));
  let hi = Math.max(...all.map(([, y]) => y));
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi === lo) {
    hi += Math.abs(hi) * 0.1 + 1e-9;
    lo -= Math.abs(lo) * 0.1 + 1e-9;
  }
  const sx = (x: number) => x0 + (xMax > 0 ? (x / xMax) * w : 0);
  const sy = (y: number) => y0 + h - ((y - lo) / (hi - lo)) * h;
  const out: string[] = [];
  out.push(`<text x="${x0}" y="${y0 - 8}" font-size="13" font-weight="bold">${escapeUTF8(title)}</text>`);
  out.push(`<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`);
  for (const t of ticks(lo, hi)) {
    out.push(`<line x1="${x0}" x2="${x0 + w}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`);
    out.push(`<text x="${x0 - 6}" y="${sy(t) + 4}" font-size="10" text-anchor="end">${label(t)}</text>`);
  }
  for (const t of ticks(0, xMax)) {
    out.push(`<text x="${sx(t)}" y="${y0 + h + 14}" font-size="10" text-anchor="middle">${Math.round(t)}</text>`);
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const pts = s.points.filter(([, y]) => Number.isFinite(y));
    if (pts.length === 0) return;
    const d = pts.map(([x, y], k) => `${k === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.5"/>`);
    if (pts.length === 1) out.push(`<circle cx="${sx(pts[0]![0])}" cy="${sy(pts[0]![1])}" r="2.5" fill="${color}"/>`);
    out.push(`<rect x="${x0 + w + 12}" y="${y0 + 4 + i * 16}" width="10" height="10" fill="${color}"/>`);
    out.push(`<text x="${x0 + w + 26}" y="${y0 + 13 + i * 16}" font-size="11">${escapeUTF8(s.name)}</text>`);
  });
  return out.join('\n');
}

/**
 * Renders loss terms (every `*\/loss` term and the weighted total) and the learning rate against the step.
 * `learningRate` is the full schedule (one value per step), so the plot shows what is still to come too.
 */
export function renderTrainingPlot(records: readonly MetricsRecord[], learningRate: ArrayLike<number>, title: string): string {
  const width = 900;
  const height = 620;
  const names = new Set<string>();
  for (const r of records) for (const k of Object.keys(r.terms)) if (k.endsWith('/loss')) names.add(k);
  const lossSeries: Series[] = [
    { name: 'total (weighted)', points: records.map((r) => [r.step, r.loss]) },
    ...[...names].map((n) => ({
      name: n,
      points: records.filter((r) => n in r.terms).map((r) => [r.step, r.terms[n] as number] as [number, number]),
    })),
  ];
  const lrPoints: [number, number][] = Array.from({ length: learningRate.length }, (_, i) => [i, learningRate[i] as number]);
  const xMax = Math.max(learningRate.length - 1, ...records.map((r) => r.step), 1);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" font-size="15" text-anchor="middle">${escapeUTF8(title)}</text>`,
    panel(lossSeries, 70, 60, 560, 300, 'loss terms', xMax),
    panel([{ name: 'learning rate', points: lrPoints }], 70, 420, 560, 150, 'learning-rate schedule', xMax),
    `<text x="${70 + 280}" y="${height - 12}" font-size="11" text-anchor="middle">optimizer step</text>`,
    '</svg>',
  ].join('\n');
}

/** One row of {@link renderResultsPlot}: a name and its per-seed values (e.g. top-1 % per seed). */
export interface ResultRow {
  readonly name: string;
  readonly values: readonly number[];
}

/**
 * A dot-and-interval plot of results (one horizontal line per row): every value as a dot, the mean as a bar,
 * mean ± sample std as a whisker, and optional vertical reference lines (chance, a baseline).
 */
export function renderResultsPlot(
  rows: readonly ResultRow[],
  options: { title: string; xLabel: string; references?: readonly { name: string; value: number }[] },
): string {
  const width = 900;
  const rowH = 34;
  const x0 = 300;
  const w = 520;
  const y0 = 60;
  const h = rows.length * rowH;
  const height = y0 + h + 70;
  const refs = options.references ?? [];
  const all = [...rows.flatMap((r) => r.values), ...refs.map((r) => r.value)].filter(Number.isFinite);
  let lo = Math.min(...all);
  let hi = Math.max(...all);
  if (!Number.isFinite(lo)) [lo, hi] = [0, 1];
  const pad = Math.max(1, (hi - lo) * 0.08);
  lo = Math.max(0, lo - pad);
  hi += pad;
  const sx = (v: number) => x0 + ((v - lo) / (hi - lo)) * w;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="24" font-size="15" text-anchor="middle">${escapeUTF8(options.title)}</text>`,
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="none" stroke="#999"/>`,
  ];
  for (const t of ticks(lo, hi, 6)) {
    out.push(`<line x1="${sx(t)}" x2="${sx(t)}" y1="${y0}" y2="${y0 + h}" stroke="#eee"/>`);
    out.push(`<text x="${sx(t)}" y="${y0 + h + 16}" font-size="10" text-anchor="middle">${t.toFixed(1)}</text>`);
  }
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 36}" font-size="11" text-anchor="middle">${escapeUTF8(options.xLabel)}</text>`);
  refs.forEach((r, i) => {
    const color = COLORS[(i + 3) % COLORS.length];
    out.push(`<line x1="${sx(r.value)}" x2="${sx(r.value)}" y1="${y0}" y2="${y0 + h}" stroke="${color}" stroke-dasharray="4,3"/>`);
    out.push(
      `<text x="${sx(r.value) + 3}" y="${y0 + h + 52 + i * 0}" font-size="10" fill="${color}">${escapeUTF8(`${r.name} ${r.value.toFixed(1)}`)}</text>`,
    );
  });
  rows.forEach((r, i) => {
    const cy = y0 + rowH * i + rowH / 2;
    const vals = r.values.filter(Number.isFinite);
    const mean = vals.reduce((a, b) => a + b, 0) / Math.max(1, vals.length);
    const std = vals.length > 1 ? Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (vals.length - 1)) : 0;
    const color = COLORS[i % COLORS.length];
    out.push(`<text x="${x0 - 8}" y="${cy + 4}" font-size="11" text-anchor="end">${escapeUTF8(r.name)}</text>`);
    out.push(`<line x1="${sx(mean - std)}" x2="${sx(mean + std)}" y1="${cy}" y2="${cy}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<line x1="${sx(mean)}" x2="${sx(mean)}" y1="${cy - 9}" y2="${cy + 9}" stroke="${color}" stroke-width="3"/>`);
    for (const v of vals) out.push(`<circle cx="${sx(v).toFixed(1)}" cy="${cy}" r="3" fill="none" stroke="${color}"/>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
