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
