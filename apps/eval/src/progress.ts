/** Progress of feature extraction on stderr through `@lss/core/node`'s `ProgressLine` (a bar on a TTY, throttled lines otherwise). */
import { formatDuration, ProgressLine } from '@lss/core/node';

export interface ProgressBar {
  tick(count?: number): void;
  done(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  /** Where to write (default process.stderr); `null` disables output. */
  readonly stream?: NodeJS.WritableStream | null;
  /** Minimum ms between lines on a non-TTY stream (default 5000). */
  readonly intervalMs?: number;
}

/** `label done/total rate/s ETA` (the bar in front of it is `ProgressLine`'s). */
export function renderProgress(label: string, done: number, total: number, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
  return `${label} ${done}/${total} ${rate.toFixed(2)}/s ETA ${formatDuration(eta)}`;
}

export function createProgressBar(options: ProgressOptions): ProgressBar {
  const line = new ProgressLine({ stream: options.stream, plainIntervalMs: options.intervalMs ?? 5000 });
  const start = Date.now();
  let done = 0;
  const draw = () =>
    line.update(
      options.total > 0 ? done / options.total : 1,
      renderProgress(options.label, done, options.total, (Date.now() - start) / 1000),
    );
  return {
    tick(count = 1) {
      done += count;
      draw();
    },
    done() {
      draw();
      line.done();
    },
  };
}
