/**
 * ViewWorkerPool: jobs posted together to one worker with `batchClips` share one ffmpeg process (counted with a
 * logging wrapper around ffmpeg), and give the same views as one process per clip.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { VideoInfo } from '../types.js';
import { SVT_VIEW_CONFIG, type SvtViewConfig } from '../views.js';
import { makeTempDir, TEST_FFMPEG } from './__fixtures__/videos.js';
import { probeVideo } from './ffmpeg.js';
import { ViewWorkerPool } from './pool.js';
import { readUcf101 } from './readers.js';
import { generateSyntheticDataset } from './synthetic-dataset.js';

const SMALL: SvtViewConfig = { ...SVT_VIEW_CONFIG, numLocalViews: 2, numGlobalFrames: 4, numLocalFrames: 4, globalSize: 32, localSize: 16 };

/** An executable that appends one line per start to `log`, then runs the real ffmpeg. */
function loggingFfmpeg(dir: string, log: string): string {
  const path = join(dir, 'ffmpeg-logged');
  writeFileSync(path, `#!/bin/sh\necho start >> '${log}'\nexec '${TEST_FFMPEG}' "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('ViewWorkerPool batchClips', () => {
  it('decodes jobs posted together to one worker in one ffmpeg process (4 clips, batchClips 4), the same views as one process per clip', async () => {
    const dir = makeTempDir('pool-batch');
    const ds = await generateSyntheticDataset({ dir, numClasses: 2, videosPerClass: 3, numFrames: 16, ffmpegPath: TEST_FFMPEG });
    const samples = readUcf101({ videosDir: ds.videosDir, annotationsDir: ds.annotationsDir, split: 1, subset: 'train' }).samples;
    const paths = samples.slice(0, 4).map((s) => s.path);
    expect(paths).toHaveLength(4);
    // Probed here (as the trainer passes each file's cached probe), so the worker only decodes.
    const infos: VideoInfo[] = await Promise.all(paths.map((p) => probeVideo(p, { ffmpegPath: TEST_FFMPEG })));
    const log = join(dir, 'starts.log');
    const ffmpegPath = loggingFfmpeg(dir, log);
    const starts = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
    const run = async (batchClips: number) => {
      const pool = new ViewWorkerPool(1);
      try {
        // Start the worker (and its launcher) first, so the timed jobs arrive at a running worker together.
        await pool.load(paths[0]!, { mode: 'train', config: SMALL, seed: 0 }, { options: { info: infos[0]!, ffmpegPath } });
        const before = starts();
        const results = await Promise.all(
          paths.map((p, k) =>
            pool.load(p, { mode: 'train', config: SMALL, seed: k + 1 }, { options: { info: infos[k]!, ffmpegPath, batchClips } }),
          ),
        );
        return { starts: starts() - before, results };
      } finally {
        await pool.close();
      }
    };
    const one = await run(1);
    const four = await run(4);
    expect(one.starts).toBe(4);
    expect(four.starts).toBe(1);
    four.results.forEach((r, k) => {
      const a = one.results[k]!;
      expect(r.ok && a.ok).toBe(true);
      if (r.ok && a.ok) r.views.forEach((v, i) => expect(v.data).toEqual(a.views[i]!.data));
    });
  });
});
