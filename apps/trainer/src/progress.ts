/**
 * Training progress on stderr through `@lss/core/node`'s `ProgressLine`: a one-line bar on a TTY (steps,
 * clips/s, ETA, loss terms), plain lines otherwise (CI logs, pipes), nothing with `off`.
 */
import { formatDuration, ProgressLine, type ProgressMode } from '@lss/core/node';

export { formatDuration, type ProgressMode };

export interface ProgressUpdate {
  readonly step: number; // completed steps
  readonly totalSteps: number;
  readonly clipsPerSecond: number;
  readonly etaSeconds: number;
  readonly loss: number;
  readonly terms: Readonly<Record<string, number>>;
  readonly learningRate: number;
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
  private readonly line: ProgressLine;

  constructor(mode: ProgressMode, stream: NodeJS.WriteStream = process.stderr) {
    this.line = new ProgressLine({ mode, stream });
  }

  get mode(): 'bar' | 'plain' | 'off' {
    return this.line.mode;
  }

  update(u: ProgressUpdate): void {
    const fraction = u.totalSteps > 0 ? u.step / u.totalSteps : 0;
    this.line.update(
      fraction,
      `step ${u.step}/${u.totalSteps} | ${u.clipsPerSecond.toFixed(2)} clips/s | ETA ${formatDuration(u.etaSeconds)} | loss ${fmt(u.loss)} | ${shortTerms(u.terms)} | lr ${u.learningRate.toExponential(2)}`,
    );
  }

  /** A message above the bar. */
  log(message: string): void {
    this.line.log(message);
  }

  done(): void {
    this.line.done();
  }
}
