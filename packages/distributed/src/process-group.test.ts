import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resultOf, spawnRanks } from '@lss/testing';
import { describe, expect, it } from 'vitest';

const worker = join(import.meta.dirname, '..', 'test', 'worker.ts');
// Debian's python3-torch ships torchrun (PyTorch 1.13); CI installs it (.ci/run).
const HAS_TORCHRUN = spawnSync('torchrun', ['--help'], { stdio: 'ignore' }).status === 0;

/** What rank r contributes in worker.ts's 'collectives' scenario, summed over ranks in plain JS. */
function expectedFloats(worldSize: number): number[][] {
  return Array.from({ length: 10 }, (_, i) =>
    Array.from({ length: 3 + 5 * i }, (_, k) => {
      let sum = 0;
      for (let r = 0; r < worldSize; r++) sum += Math.fround((r + 1) * (k + i));
      return sum;
    }),
  );
}

describe('ProcessGroup (c10d Gloo over loopback, separate processes)', () => {
  for (const worldSize of [2, 3]) {
    it(`computes sum, mean, max, broadcast and allGather like torch.distributed with ${worldSize} ranks`, async () => {
      const runs = await spawnRanks([worker], worldSize, { env: { LSS_DIST_SCENARIO: 'collectives' } });
      const results = runs.map(resultOf);
      const ranks = Array.from({ length: worldSize }, (_, r) => r);
      for (const res of results) {
        expect(res.floats).toEqual(expectedFloats(worldSize));
        const sumRanks = ranks.reduce((a, b) => a + b, 0);
        expect(res.ints).toEqual([sumRanks, 10 * sumRanks, -sumRanks]);
        const doubles = res.doubles as number[];
        expect(doubles[0]).toBe(0.5 * sumRanks);
        expect(doubles[1]).toBeCloseTo(1e-12 * (sumRanks + worldSize), 20);
        const meanA = sumRanks / worldSize;
        expect(res.mean).toEqual([meanA, 2 * meanA + 1].map((v) => expect.closeTo(v, 6)));
        expect(res.sync).toEqual([sumRanks + 0.25 * worldSize]);
        expect(res.max).toEqual([worldSize - 1, 0]);
        expect(res.broadcast).toEqual([(worldSize - 1) * 3 + 1, worldSize - 1]);
        expect(res.gather).toEqual(ranks.flatMap((r) => [r, r * r]));
        expect(res.bytes).toEqual(ranks.map((r) => 'x'.repeat(r + 1)));
      }
    });
  }

  it('rendezvous through a shared file (file://) as well as TCP', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-dist-'));
    try {
      const runs = await spawnRanks([worker], 2, {
        env: { LSS_DIST_SCENARIO: 'collectives', LSS_DIST_URL: `file://${join(dir, 'store')}` },
      });
      for (const res of runs.map(resultOf)) expect(res.gather).toEqual([0, 0, 1, 1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a rank that dies makes the others fail with a DistributedError naming the collective, not hang', async () => {
    const runs = await spawnRanks([worker], 2, { env: { LSS_DIST_SCENARIO: 'die', LSS_DIST_TIMEOUT_MS: '8000' } });
    expect(runs[1]?.code).toBe(3);
    const res = resultOf(runs[0] as (typeof runs)[0]);
    const error = res.error as { name: string; rank: number; collective: string; message: string; deadRanks: number[] };
    expect(error.name).toBe('DistributedError');
    expect(error.rank).toBe(0);
    expect(error.collective).toBe('allReduce');
    expect(error.message).toMatch(/allReduce failed on rank 0 of 2/);
    // the survivor names the dead rank (its pid was gathered at init; its process is gone or a zombie)
    expect(error.message).toContain(`The process of rank 1 (pid ${runs[1]?.pid}) has exited: it died`);
    expect(error.deadRanks).toEqual([1]);
    expect(res.seconds as number).toBeLessThan(9);
  });

  it('a rank that hangs makes the others time out with a DistributedError within the timeout', async () => {
    const runs = await spawnRanks([worker], 2, { env: { LSS_DIST_SCENARIO: 'hang', LSS_DIST_TIMEOUT_MS: '3000' } });
    const res = resultOf(runs[0] as (typeof runs)[0]);
    const error = res.error as { name: string; message: string };
    expect(error.name).toBe('DistributedError');
    expect(error.message).toMatch(/timeout 3 s/);
    expect(error.message).toContain(`rank 1 (pid ${runs[1]?.pid}) is still running, so it probably hangs`);
    expect(res.seconds as number).toBeGreaterThan(2.5);
    expect(res.seconds as number).toBeLessThan(12);
  });

  it.skipIf(!HAS_TORCHRUN)(
    'ranks started by torchrun --no_python (1.13 spellings) rendezvous from its environment',
    () => {
      const r = spawnSync(
        'torchrun',
        [
          '--no_python',
          '--standalone',
          '--nproc_per_node',
          '2',
          '--redirects',
          '2',
          '--tee',
          '2',
          process.execPath,
          '--conditions=@lss/source',
          '--import',
          'tsx',
          worker,
        ],
        { encoding: 'utf8', env: { ...process.env, LSS_DIST_SCENARIO: 'collectives' }, timeout: 300_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.split('\n').filter((l) => l.includes('RESULT '));
      const results = lines.map((l) => JSON.parse(l.slice(l.indexOf('RESULT ') + 7)) as { rank: number; gather: number[] });
      expect(results.map((x) => x.rank).sort()).toEqual([0, 1]);
      for (const x of results) expect(x.gather).toEqual([0, 0, 1, 1]);
    },
    300_000,
  );
});
