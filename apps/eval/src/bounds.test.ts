/**
 * Values that size allocations are bounded and a product that explodes is refused before any
 * allocation (issue 16 item 3: `lss-eval --views 1000x1000` grew to 10 GiB in 45 s with no output).
 */
import { ConfigError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { checkViews, estimateViewBytes, VIEW_LIMITS } from './feature-cache.js';

async function cli(args: string[]): Promise<{ code: number; err: string; ms: number }> {
  let err = '';
  const t0 = performance.now();
  const code = await runCli(args, {
    stdout: () => undefined,
    stderr: (t) => {
      err += t;
    },
  });
  return { code, err, ms: performance.now() - t0 };
}

describe('test-view settings are bounded, the error names the flag', () => {
  it('lss-eval knn --views 1000x1000 fails at once (no model loaded, no video read)', async () => {
    const r = await cli([
      'knn',
      '--model',
      '/nonexistent/model',
      '--dataset',
      'folder',
      '--test-root',
      '/nonexistent',
      '--views',
      '1000x1000',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('ConfigError: Test views: numClips (--views CLIPSxCROPS) is 1000; expected at most 64');
    // The model path does not exist: the views error coming first shows nothing was loaded before the check.
    expect(r.err).not.toMatch(/nonexistent\/model/);
  });

  it('--size 100000 and --frames 100000 name their flag', async () => {
    const size = await cli(['knn', '--model', '/m', '--dataset', 'folder', '--test-root', '/x', '--size', '100000']);
    expect(size.err).toContain('size (--size) is 100000; expected at most 1024');
    const frames = await cli(['knn', '--model', '/m', '--dataset', 'folder', '--test-root', '/x', '--frames', '100000']);
    expect(frames.err).toContain('numFrames (--frames) is 100000; expected at most 512');
  });

  it('a product within each bound but too large for the machine is refused with the estimate', () => {
    const views = { numClips: 64, numCrops: 16, numFrames: 512, size: 1024 };
    expect(estimateViewBytes(views, 4)).toBe(4 * 64 * 16 * 512 * 1024 * 1024 * 3 * 4);
    expect(() => checkViews(views, 4, 64 * 1024 ** 3)).toThrow(ConfigError);
    expect(() => checkViews(views, 4, 64 * 1024 ** 3)).toThrow(
      /need 24576\.0 GiB .*this machine has 64\.0 GiB.*Lower --views, --frames or --size/,
    );
    expect(() => checkViews({ numClips: 4, numCrops: 3, numFrames: 16, size: 224 }, 4, 64 * 1024 ** 3)).not.toThrow();
    expect(VIEW_LIMITS.numClips).toBe(64);
  });
});
