import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressBar, renderProgress } from './progress.js';

describe('progress bar', () => {
  it('renders done/total, rate and ETA', () => {
    expect(renderProgress('features', 5, 10, 2, 10)).toBe('features [#####.....] 5/10 2.50/s ETA 2s');
    expect(renderProgress('x', 0, 10, 0, 4)).toBe('x [....] 0/10 0.00/s ETA ?');
  });
  it('writes a final line on a non-TTY stream', () => {
    let text = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    });
    const bar = createProgressBar({ label: 'split 1 test', total: 3, stream, intervalMs: 60_000 });
    bar.tick();
    bar.tick(2);
    bar.done();
    expect(text.trim().split('\n').at(-1)).toMatch(/^split 1 test \[#+\] 3\/3 /);
  });
});
