// lss-eval under a 2-rank process group (c10d Gloo on loopback, ranks started as torchrun would) gives the
// report of a single process: the same metrics, byte for byte, and the same skipped-video list; the
// --max-bad-fraction stop is judged over all ranks' videos, and stops every rank with one error.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSyntheticDataset, type SyntheticDataset } from '@lss/data/node';
import { CLIP_TINY_DIR, spawnRanks, TINY_SYNTHETIC_DATASET, ucf101EvalArgs } from '@lss/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EvalReport } from './report.js';

const main = join(import.meta.dirname, 'main.ts');
let dir = '';
let synth: SyntheticDataset;

/** Runs lss-eval as `worldSize` ranks (1: a plain process); resolves with each rank's exit code and stderr. */
async function lssEval(args: string[], worldSize: number): Promise<{ code: number | null; err: string }[]> {
  const runs = await spawnRanks([main, ...args, '--backend', 'wasm', '--quiet'], worldSize, { plain: worldSize === 1 });
  return runs.map((r) => ({ code: r.code, err: r.stderr }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lss-eval-sharded-'));
  synth = await generateSyntheticDataset({ dir: join(dir, 'synth'), ...TINY_SYNTHETIC_DATASET, seed: 2 });
  // One unreadable video in the test list (3 videos: rank 0 embeds the first 2, rank 1 the last): both runs must
  // skip and report it the same way.
  breakTestVideo(0);
});

/** Overwrites the `i`-th video of split 1's test list with an MP4 without its index. */
function breakTestVideo(i: number): string {
  const path = join(synth.videosDir, readFileSync(join(synth.annotationsDir, 'testlist01.txt'), 'utf8').split('\n')[i]?.trim() as string);
  copyFileSync(join(import.meta.dirname, '__fixtures__', 'no_moov.mp4'), path);
  return path;
}

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('lss-eval sharded over ranks', () => {
  it('2 ranks give the single-process k-NN report (metrics byte-identical, same skipped videos)', async () => {
    const common = [
      'knn',
      '--model',
      CLIP_TINY_DIR,
      ...ucf101EvalArgs(synth, { splits: '1' }),
      '--no-cache',
      '--k',
      '3',
      // 1 of the 3 test videos is unreadable: 33 % overall, allowed; it is 1 of rank 0's 2 (50 %), which a per-rank
      // check would refuse.
      '--max-bad-fraction',
      '0.4',
    ];
    const single = await lssEval([...common, '--out', join(dir, 'single')], 1);
    expect(single[0]?.code, single[0]?.err).toBe(0);
    const ranks = await lssEval([...common, '--out', join(dir, 'sharded')], 2);
    for (const r of ranks) expect(r.code, r.err).toBe(0);
    expect(ranks[1]?.err).toMatch(/rank 1 of 2/);
    const a = JSON.parse(readFileSync(join(dir, 'single', 'report.json'), 'utf8')) as EvalReport;
    const b = JSON.parse(readFileSync(join(dir, 'sharded', 'report.json'), 'utf8')) as EvalReport;
    // ffmpeg's messages name its decoder context by address ("[mov,mp4 @ 0x55cc1385abc0]"), different in every process.
    const text = (r: EvalReport) => JSON.stringify(r.splits).replace(/ @ 0x[0-9a-f]+/g, ' @ 0x?');
    expect(text(b)).toBe(text(a));
    expect(a.splits[0]?.skipped?.length).toBe(1);
    expect(ranks[0]?.err).toMatch(/1 unreadable video\(s\) skipped; the metrics use the other 2:\n {2}\S+ \(rank 0\)/); // rank 0 lists every rank's

    // A second unreadable video on rank 0's share: 2 of 3 (67 %) is above 40 %: every rank stops with the same
    // error, which lists both videos with the rank that met them.
    const second = breakTestVideo(1);
    const stopped = await lssEval([...common, '--out', join(dir, 'stopped')], 2);
    expect(stopped.map((r) => r.code)).toEqual([1, 1]);
    const messages = stopped.map((r) => /DataError: (2 of 3 videos of .* could not be read[^\n]*)/.exec(r.err)?.[1]);
    expect(messages[0]).toMatch(/\(all 2 ranks\) could not be read, more than the allowed 40 %/);
    expect(messages[1]).toBe(messages[0]);
    for (const r of stopped) {
      expect(r.err).toContain(`  ${second} (rank 0): `);
      expect(r.err).not.toMatch(/\n\s+at /);
    }
  }, 900_000); // five processes that each load tfjs, the model and ffmpeg: minutes on a loaded 2-core machine
});
