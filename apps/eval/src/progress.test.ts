import { describe, expect, it } from 'vitest';
import { createProgressBar, renderProgress } from './progress.js';

/** A stand-in stderr that records what is written (only `write` and `isTTY` are used). */
function capture(isTTY = false) {
  const out = { text: '' };
  const write = (chunk: string): boolean => {
    out.text += chunk;
    return true;
  };
  const stream = { isTTY, write } as unknown as NodeJS.WritableStream;
  return { stream, out };
}

describe('progress bar', () => {
  it('renders done/total, rate and ETA', () => {
    expect(renderProgress('features', 5, 10, 2)).toBe('features 5/10 2.50/s ETA 2s');
    expect(renderProgress('x', 0, 10, 0)).toBe('x 0/10 0.00/s ETA ?');
  });

  it('writes a final line on a non-TTY stream (throttled updates in between)', () => {
    const { stream, out } = capture();
    const bar = createProgressBar({ label: 'split 1 test', total: 3, stream, intervalMs: 60_000 });
    bar.tick();
    bar.tick(2);
    bar.done();
    const lines = out.text.trim().split('\n');
    expect(lines).toHaveLength(2); // the first update, then the final state (the middle one was throttled)
    expect(lines.at(-1)).toMatch(/^split 1 test 3\/3 /);
  });

  it('redraws one bar in place on a TTY (the shared ProgressLine)', () => {
    const { stream, out } = capture(true);
    const bar = createProgressBar({ label: 'features', total: 2, stream });
    bar.tick();
    bar.tick();
    bar.done();
    expect(out.text).toMatch(/^\r\[#{12}\.{12}\] {2}50% features 1\/2 .*\r\[#{24}\] 100% features 2\/2 [^\r]*\n$/s);
    expect(out.text.split('\n')).toHaveLength(2); // one line redrawn in place, then the newline of done
  });
});
