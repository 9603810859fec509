/**
 * Metrics as JSON lines (one object per logged step: step, epoch, loss, every term, lr, wd, momentum,
 * grad norm, clips/s), appended and flushed line by line so a crash loses nothing already logged.
 * On resume, lines at or after the resumed step are dropped first, so the file never holds a step twice.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export interface MetricsRecord {
  readonly step: number;
  readonly epoch: number;
  readonly loss: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly teacherMomentum: number;
  readonly gradNorm: number;
  readonly clipsPerSecond: number;
  readonly seconds: number;
  /** Set on steps whose loss was not finite (no update was applied). */
  readonly nonFinite?: boolean;
  /** Clip draws replaced by other clips because they could not be read, from the start of the run to this step. */
  readonly replacedClips?: number;
  /** Distinct unreadable training videos met from the start of the run to this step. */
  readonly badVideos?: number;
  /** Frames substituted by a repeat of the last decoded frame (damaged or truncated streams), from the start of the run to this step. */
  readonly substitutedFrames?: number;
  /** Clip draws decoded with substituted frames or decoder errors, from the start of the run to this step. */
  readonly damagedClips?: number;
}

export class MetricsWriter {
  private readonly started = performance.now();

  constructor(readonly path: string) {}

  /** Seconds since this writer was created (the run's start). */
  elapsedSeconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Keeps only records with `step < fromStep` (call when resuming at `fromStep`). */
  truncateFrom(fromStep: number): void {
    if (!existsSync(this.path)) return;
    const kept = readMetrics(this.path).filter((r) => r.step < fromStep);
    writeFileSync(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }

  write(record: MetricsRecord): void {
    appendFileSync(this.path, `${JSON.stringify(record, (_, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v))}\n`);
  }
}

/** Reads a metrics file (non-finite numbers are stored as strings "NaN"/"Infinity" and read back as numbers). */
export function readMetrics(path: string): MetricsRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l, (_, v) => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v)) as MetricsRecord);
}
