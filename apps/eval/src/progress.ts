/** A one-line progress bar on stderr (redrawn in place on a TTY, one line per update otherwise). */

export interface ProgressBar {
  tick(count?: number): void;
  done(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** Where to write (default process.stderr); `null` disables output. */
  readonly stream?: NodeJS.WritableStream | null;
  /** Minimum ms between redraws on a non-TTY stream (default 5000). */
  readonly intervalMs?: number;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Renders `label [#####.....] done/total rate/s ETA`. */
export function renderProgress(label: string, done: number, total: number, elapsedSeconds: number, width = 24): string {
  const frac = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(frac * width);
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${rate.toFixed(2)}/s ETA ${formatSeconds(eta)}`;
}

export function createProgressBar(options: ProgressOptions): ProgressBar {
  const stream = options.stream === undefined ? process.stderr : options.stream;
  const isTty = Boolean(stream && (stream as NodeJS.WriteStream).isTTY);
  const start = Date.now();
  const interval = options.intervalMs ?? 5000;
  let done = 0;
  let lastDraw = 0;
  const draw = (final: boolean) => {
    if (!stream) return;
    const line = renderProgress(options.label, done, options.total, (Date.now() - start) / 1000);
    if (isTty) stream.write(`\r${line}${final ? '\n' : ''}`);
    else if (final || Date.now() - lastDraw >= interval) {
      stream.write(`${line}\n`);
      lastDraw = Date.now();
    }
  };
  return {
    tick(count = 1) {
      done += count;
      draw(false);
    },
    done() {
      draw(true);
    },
  };
}
