import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatDuration, ProgressLine, renderBar } from './progress.js';

function capture(isTTY: boolean, columns?: number) {
  const out = { text: '' };
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        out.text += String(chunk);
        done();
      },
    }),
    { isTTY, columns },
  );
  return { stream, out };
}

describe('ProgressLine (the one progress display of lss-train and lss-eval)', () => {
  it('renders the bar and durations', () => {
    expect(renderBar(0.5, 10)).toBe('[#####.....]  50%');
    expect(renderBar(2, 4)).toBe('[####] 100%');
    expect([formatDuration(42), formatDuration(185), formatDuration(7620), formatDuration(Number.POSITIVE_INFINITY)]).toEqual([
      '42s',
      '3m05s',
      '2h07m',
      '?',
    ]);
  });

  it('bar mode: redraws in place, clears it for a log line, clips to the terminal width, ends with a newline', () => {
    const { stream, out } = capture(true, 30);
    const line = new ProgressLine({ stream, width: 4 });
    expect(line.mode).toBe('bar');
    line.update(0.5, 'step 1/2 and a long tail that does not fit');
    line.log('a message');
    line.update(1, 'step 2/2');
    line.done();
    const first = '[##..]  50% step 1/2 and a long tail that does not fit'.slice(0, 29);
    expect(out.text).toBe(`\r${first}\r${' '.repeat(29)}\ra message\n\r[####] 100% step 2/2\n`);
  });

  it('plain mode (not a TTY): one line per update, throttled, the last one written by done; off and null write nothing', () => {
    const { stream, out } = capture(false);
    const line = new ProgressLine({ stream, plainIntervalMs: 60_000 });
    expect(line.mode).toBe('plain');
    line.update(0.1, 'one');
    line.update(0.2, 'two');
    line.update(0.3, 'three');
    line.done();
    expect(out.text).toBe('one\nthree\n');
    const quiet = capture(true);
    const off = new ProgressLine({ stream: quiet.stream, mode: 'off' });
    off.update(1, 'x');
    off.log('y');
    off.done();
    expect(quiet.out.text).toBe('');
    expect(new ProgressLine({ stream: null }).mode).toBe('off');
  });
});
