/**
 * Progress on stderr: a one-line bar on a TTY (steps, clips/s, ETA, loss terms), plain lines
 * otherwise (CI logs, pipes), nothing with `off`.
 */
export type ProgressMode = 'auto' | 'bar' | 'plain' | 'off';

export interface ProgressUpdate {
  readonly step: number; // completed steps
  readonly totalSteps: number;
  readonly clipsPerSecond: number;
  readonly etaSeconds: number;
  readonly loss: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly learningRate: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

const fmt = (v: number) => (Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(2) : v.toFixed(4));

/** Short names for the terms shown on the bar: `concept-distillation/loss` -> `cd`. */
function shortTerms(terms: Readonly<Record<string, number>>): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(terms)) {
    const [id, term] = name.split('/') as [string, string];
    if (term !== 'loss') continue;
    const short = id
      .split('-')
      .map((w) => w[0])
      .join('');
    parts.push(`${short} ${fmt(value)}`);
  }
  return parts.join(' ');
}

export class ProgressReporter {
  readonly mode: 'bar' | 'plain' | 'off';
  private lastLength = 0;

  constructor(
    mode: ProgressMode,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.mode = mode === 'auto' ? (stream.isTTY ? 'bar' : 'plain') : mode;
  }

  update(u: ProgressUpdate): void {
    if (this.mode === 'off') return;
    const pct = u.totalSteps > 0 ? u.step / u.totalSteps : 0;
    const text = `step ${u.step}/${u.totalSteps} | ${u.clipsPerSecond.toFixed(2)} clips/s | ETA ${formatDuration(u.etaSeconds)} | loss ${fmt(u.loss)} | ${shortTerms(u.terms)} | lr ${u.learningRate.toExponential(2)}`;
    if (this.mode === 'plain') {
      this.stream.write(`${text}\n`);
      return;
    }
    const width = 24;
    const filled = Math.round(pct * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(pct * 100).toFixed(0).padStart(3)}% ${text}`;
    const cols = this.stream.columns ?? 160;
    const clipped = line.length > cols - 1 ? line.slice(0, cols - 1) : line;
    this.stream.write(`\r${clipped}${' '.repeat(Math.max(0, this.lastLength - clipped.length))}`);
    this.lastLength = clipped.length;
  }

  /** A message above the bar. */
  log(message: string): void {
    if (this.mode === 'off') return;
    if (this.mode === 'bar' && this.lastLength > 0) {
      this.stream.write(`\r${' '.repeat(this.lastLength)}\r`);
      this.lastLength = 0;
    }
    this.stream.write(`${message}\n`);
  }

  done(): void {
    if (this.mode === 'bar' && this.lastLength > 0) this.stream.write('\n');
    this.lastLength = 0;
  }
}
