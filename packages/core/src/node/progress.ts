/**
 * One progress line for the command-line tools (trainer steps, evaluation features): a bar redrawn in
 * place on a TTY, plain lines otherwise (CI logs, pipes; optionally throttled), nothing when off.
 * Messages printed with `log` go above the bar.
 */

/** `auto`: a bar on a TTY, plain lines otherwise. */
export type ProgressMode = 'auto' | 'bar' | 'plain' | 'off';

export interface ProgressLineOptions {
  /** Default `auto`. */
  readonly mode?: ProgressMode;
  /** Where to write (default `process.stderr`); `null` turns output off. */
  readonly stream?: NodeJS.WritableStream | null;
  /** Minimum milliseconds between two plain lines (default 0: every update); `done` always writes the last. */
  readonly plainIntervalMs?: number;
  /** Cells of the bar (default 24). */
  readonly width?: number;
}

/** `[#####.....]  50%`: `fraction` (clamped to [0, 1]) of `width` cells, then the percentage. */
export function renderBar(fraction: number, width = 24): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}%`;
}

/** `42s`, `3m05s`, `2h07m`; `?` for a negative or non-finite number of seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** See the module comment. */
export class ProgressLine {
  readonly mode: 'bar' | 'plain' | 'off';
  private readonly stream: NodeJS.WritableStream | null;
  private readonly interval: number;
  private readonly width: number;
  private lastLength = 0;
  private lastPlain = Number.NEGATIVE_INFINITY;
  private pending: string | null = null;

  constructor(options: ProgressLineOptions = {}) {
    this.stream = options.stream === undefined ? process.stderr : options.stream;
    const mode = options.mode ?? 'auto';
    const isTty = Boolean((this.stream as NodeJS.WriteStream | null)?.isTTY);
    this.mode = this.stream === null ? 'off' : mode === 'auto' ? (isTty ? 'bar' : 'plain') : mode;
    this.interval = options.plainIntervalMs ?? 0;
    this.width = options.width ?? 24;
  }

  /** Shows `text` with the bar at `fraction` (bar mode), or as a line (plain mode, at most one per interval). */
  update(fraction: number, text: string): void {
    if (this.mode === 'off' || !this.stream) return;
    if (this.mode === 'plain') {
      const now = Date.now();
      if (now - this.lastPlain < this.interval) {
        this.pending = text;
        return;
      }
      this.stream.write(`${text}\n`);
      this.lastPlain = now;
      this.pending = null;
      return;
    }
    const line = `${renderBar(fraction, this.width)} ${text}`;
    const cols = (this.stream as NodeJS.WriteStream).columns ?? 160;
    const clipped = line.length > cols - 1 ? line.slice(0, cols - 1) : line;
    this.stream.write(`\r${clipped}${' '.repeat(Math.max(0, this.lastLength - clipped.length))}`);
    this.lastLength = clipped.length;
  }

  /** A message on its own line, above the bar. */
  log(message: string): void {
    if (this.mode === 'off' || !this.stream) return;
    if (this.mode === 'bar' && this.lastLength > 0) {
      this.stream.write(`\r${' '.repeat(this.lastLength)}\r`);
      this.lastLength = 0;
    }
    this.stream.write(`${message}\n`);
  }

  /** Ends the line: the bar keeps its last state on its own line; a throttled plain update is written. */
  done(): void {
    if (!this.stream) return;
    if (this.mode === 'bar' && this.lastLength > 0) this.stream.write('\n');
    if (this.mode === 'plain' && this.pending !== null) this.stream.write(`${this.pending}\n`);
    this.lastLength = 0;
    this.pending = null;
  }
}
