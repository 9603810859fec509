/**
 * lss-train data parallel (c10d Gloo on loopback, each rank a separate process started as torchrun would):
 * 2 ranks with batch b per rank train exactly as 1 process with batch 2b (losses every step, weights after the
 * run within 1e-5), for LSS (uniform prior, centring on) and the DINO baseline, with every rank's whole state
 * identical after every step; a rank killed mid-run makes the other stop with a DistributedError within the
 * timeout, and resuming with 2 ranks from the last checkpoint reaches the uninterrupted result bit for bit.
 */
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFolderPerClass } from '@lss/data/node';
import { type RankResult, resultOf, spawnRanks } from '@lss/testing';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.js';
import { CONFIGS_DIR, loadConfig } from './config/load.js';
import { type BadVideo, StepPlanner } from './data.js';
import { readMetrics } from './metrics.js';
import { NO_MOOV_MP4, tinyRunOverrides, twoClassVideoFolder } from './test-helpers.js';

const worker = join(import.meta.dirname, '..', 'test', 'dist-worker.ts');
const tmp = (name: string) => mkdtempSync(join(tmpdir(), `lss-dist-${name}-`));
const cacheDir = tmp('concepts');
const TIMEOUT_MS = 15_000;

/** 8 in-memory clips, global batch 4: 2 steps per epoch, 2 epochs (the teacher temperature and DINO's frozen last layer change between them). */
function overrides(workdir: string, batchSize: number): string[] {
  return [
    ...tinyRunOverrides(workdir, cacheDir),
    `training.batchSize=${batchSize}`,
    'training.epochs=2',
    'checkpoint.every=1',
    'checkpoint.keepLast=10',
    'logging.every=1',
    // The key part of a qkv bias has a zero gradient in exact arithmetic (softmax ignores a constant added to
    // every key); its float32 value is rounding noise (~1e-12) that differs with any summation order, and AdamW
    // with eps 1e-8 turns that noise into steps of ~lr (1.8e-4 here: 1e-8 dwarfs neither). With eps 1e-6 the noise
    // stays noise, and 1e-5 compares what data parallelism changes (the same happens between two PyTorch layouts).
    'optimizer.epsilon=1e-6',
  ];
}

interface Step {
  readonly step: number;
  readonly loss: number | null;
  readonly terms: Record<string, number> | null;
  readonly digest: string;
}

async function train(
  config: string,
  extra: string[],
  worldSize: number,
  batchSize: number,
  workdir: string,
  kill?: { rank: number; afterStep: number },
  dataFromConfig = false,
): Promise<RankResult[]> {
  const spec = {
    config,
    overrides: [...overrides(workdir, batchSize), ...extra],
    timeoutMs: TIMEOUT_MS,
    ...(kill ? { killRank: kill.rank, killAfterStep: kill.afterStep } : {}),
    dataFromConfig,
  };
  return spawnRanks([worker], worldSize, { env: { LSS_DIST_TRAIN: JSON.stringify(spec) }, plain: worldSize === 1 });
}

const stepsOf = (run: RankResult) => resultOf(run).steps as Step[];

/** Student, teacher and objective tensors of two final checkpoints differ by at most `tol` (and have the same names). */
function expectSameWeights(dirA: string, dirB: string, tol: number): void {
  const a = readCheckpoint(join(dirA, 'checkpoints')).tensors;
  const b = readCheckpoint(join(dirB, 'checkpoints')).tensors;
  const names = [...a.keys()].filter((k) => /^(student|teacher|objectives)\//.test(k)).sort();
  expect(names.length).toBeGreaterThan(10);
  expect([...b.keys()].filter((k) => /^(student|teacher|objectives)\//.test(k)).sort()).toEqual(names);
  let worst = 0;
  let moved = 0;
  for (const name of names) {
    const x = a.get(name)?.data as Float32Array;
    const y = b.get(name)?.data as Float32Array;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs((x[i] as number) - (y[i] as number)));
    if (name.startsWith('student/')) moved += 1;
  }
  expect(moved).toBeGreaterThan(0);
  expect(worst).toBeLessThanOrEqual(tol);
}

/** Losses, terms and final weights of a 2-rank run equal the 1-process reference's (and both ranks' state is identical every step). */
function expectSameRun(ref: { runs: RankResult[]; dir: string }, dist: { runs: RankResult[]; dir: string }): void {
  for (const run of [...ref.runs, ...dist.runs]) {
    expect({ rank: run.rank, code: run.code, err: run.code === 0 ? '' : run.stderr }).toEqual({ rank: run.rank, code: 0, err: '' });
  }
  const single = stepsOf(ref.runs[0] as RankResult);
  const a = stepsOf(dist.runs[0] as RankResult);
  const b = stepsOf(dist.runs[1] as RankResult);
  expect(single.map((s) => s.step)).toEqual([0, 1, 2, 3]);
  expect(a.map((s) => s.step)).toEqual([0, 1, 2, 3]);
  // every rank holds the same state (weights, teacher, AdamW slots, centres, head) after every step
  expect(b.map((s) => s.digest)).toEqual(a.map((s) => s.digest));
  for (const [i, s] of single.entries()) {
    const d = a[i] as Step;
    expect(Math.abs((d.loss as number) - (s.loss as number))).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(s.loss as number)));
    expect(Object.keys(d.terms ?? {}).sort()).toEqual(Object.keys(s.terms ?? {}).sort());
    for (const [k, v] of Object.entries(s.terms ?? {})) {
      const diff = Math.abs((d.terms?.[k] as number) - v);
      expect({ step: i, k, diff }).toEqual({ step: i, k, diff: expect.toSatisfy((x: number) => x <= 1e-5 * Math.max(1, Math.abs(v))) });
    }
  }
  expectSameWeights(ref.dir, dist.dir, 1e-5);
}

async function trained(
  config: string,
  extra: string[],
  worldSize: number,
  batchSize: number,
): Promise<{ runs: RankResult[]; dir: string }> {
  const dir = tmp(`w${worldSize}b${batchSize}`);
  return { runs: await train(config, extra, worldSize, batchSize, dir), dir };
}

describe('StepPlanner sharding (DistributedSampler semantics per global batch)', () => {
  it('rank r of W takes global positions r, r + W, ... of the 1-process step with the same global batch; every clip once per epoch', () => {
    const N = 29; // 29 clips, global batch 2 x 2 micro-batches x 3 ranks = 12: 2 steps per epoch, 5 clips dropped
    const single = new StepPlanner(N, 12, 1, 7, null);
    const ranks = [0, 1, 2].map((rank) => new StepPlanner(N, 2, 2, 7, null, { rank, worldSize: 3 }));
    expect(ranks.map((p) => p.stepsPerEpoch)).toEqual([2, 2, 2]);
    expect(single.stepsPerEpoch).toBe(2);
    for (let step = 0; step < 6; step++) {
      const global = single.slotsOf(step).flat();
      ranks.forEach((p, r) => {
        expect(p.slotsOf(step).map((m) => m.length)).toEqual([2, 2]);
        expect(p.slotsOf(step).flat()).toEqual(global.filter((_, g) => g % 3 === r));
      });
    }
    for (const epoch of [0, 1, 2]) {
      const seen = [0, 1].flatMap((within) => ranks.flatMap((p) => p.clipsOf(epoch * 2 + within).flat()));
      expect(new Set(seen).size).toBe(24); // no clip twice in an epoch
    }
    expect(() => new StepPlanner(N, 2, 2, 7, null, { rank: 3, worldSize: 3 })).toThrow(/rank 3 of world size 3/);
    expect(() => new StepPlanner(10, 2, 2, 7, null, { rank: 0, worldSize: 3 })).toThrow(/x 3 ranks/);
  });
});

describe('lss-train data parallel (2 processes, Gloo on loopback)', () => {
  it('LSS with the uniform prior and centring: 2 ranks x batch 2 (and x 2 micro-batches of 1) = 1 process x batch 4', async () => {
    const extra = ['objectives.0.centering=true'];
    const single = await trained('lss-tiny-synthetic', extra, 1, 4);
    expectSameRun(single, await trained('lss-tiny-synthetic', extra, 2, 2)); // one tape per rank, gathered inside it
    // GradCache across micro-batches: gathered after the no-tape forward, each rank's rows of dL/df backpropagated
    expectSameRun(single, await trained('lss-tiny-synthetic', [...extra, 'optimizer.accumulationSteps=2'], 2, 1));
  }, 900_000);

  it('DINO baseline: 2 ranks x batch 2 = 1 process x batch 4', async () => {
    const config = join(tmp('dino-config'), 'dino.yaml');
    writeFileSync(
      config,
      [
        `extends: ${join(CONFIGS_DIR, 'lss-tiny-synthetic.yaml')}`,
        'objectives:',
        '  - name: dino',
        '    outDim: 64',
        '    hiddenDim: 32',
        '    bottleneckDim: 16',
        '',
      ].join('\n'),
    );
    expectSameRun(await trained(config, [], 1, 4), await trained(config, [], 2, 2));
  }, 600_000);

  it('a killed rank stops the other within the timeout; resuming with 2 ranks reaches the uninterrupted result exactly', async () => {
    const extra = ['objectives.0.centering=true'];
    const whole = tmp('whole');
    const broken = tmp('broken');
    const uninterrupted = await train('lss-tiny-synthetic', extra, 2, 2, whole);
    expect(uninterrupted.map((r) => r.code)).toEqual([0, 0]);

    const [survivor, killed] = await train('lss-tiny-synthetic', extra, 2, 2, broken, { rank: 1, afterStep: 1 });
    expect((killed as RankResult).signal).toBe('SIGKILL');
    expect((survivor as RankResult).code).toBe(1);
    const error = resultOf(survivor as RankResult).error as { name: string; message: string };
    expect(error.name).toBe('DistributedError');
    expect(error.message).toMatch(/on rank 0 of 2 .*last checkpoint is still valid/s);
    expect(error.message).toContain(`The process of rank 1 (pid ${(killed as RankResult).pid}) has exited: it died`); // the dead rank is named
    expect((survivor as RankResult).elapsedMs - (killed as RankResult).elapsedMs).toBeLessThan(TIMEOUT_MS + 5_000);
    // rank 0 stopped in the collective after step 1 (the ranks' stop agreement), before writing step 1's checkpoint
    expect(readCheckpoint(join(broken, 'checkpoints')).meta.step).toBe(1);

    const resumed = await train('lss-tiny-synthetic', extra, 2, 2, broken);
    expect(resumed.map((r) => r.code)).toEqual([0, 0]);
    const again = stepsOf(resumed[0] as RankResult);
    expect(resultOf(resumed[1] as RankResult).resumedFrom).toBe(1);
    expect(again.map((s) => s.step)).toEqual([1, 2, 3]);
    const reference = stepsOf(uninterrupted[0] as RankResult).slice(1);
    expect(again.map((s) => [s.loss, s.digest])).toEqual(reference.map((s) => [s.loss, s.digest]));
    expect(stepsOf(resumed[1] as RankResult).map((s) => s.digest)).toEqual(reference.map((s) => s.digest));
    expectSameWeights(whole, broken, 0);
  }, 600_000);
});

describe('unreadable videos in a data-parallel run (2 processes)', () => {
  it("counts every rank's unreadable videos, with the rank, on every rank; data.maxBadFraction stops all ranks together", async () => {
    // A folder of 8 real videos; the two that rank 1 reads in step 0 are replaced by broken files.
    const folder = await twoClassVideoFolder(tmp('bad-folder'), 4);
    const paths = readFolderPerClass({ root: folder }).samples.map((s) => s.path);
    expect(paths).toHaveLength(8);
    const { seed } = loadConfig('lss-tiny-synthetic');
    const onRank = (rank: number) => new StepPlanner(8, 2, 1, seed, null, { rank, worldSize: 2 }).clipsOf(0).flat();
    const broken = onRank(1).map((c) => paths[c] as string);
    for (const p of broken) copyFileSync(NO_MOOV_MP4, p);
    for (const c of onRank(0)) expect(broken).not.toContain(paths[c]);
    const run = (workdir: string, maxBadFraction: number) =>
      train(
        'lss-tiny-synthetic',
        [`data=${JSON.stringify({ kind: 'folder', root: folder, numWorkers: 1, maxBadFraction })}`, 'training.maxSteps=1'],
        2,
        2,
        workdir,
        undefined,
        true,
      );

    // 2 of 8 unreadable (25 %), allowed 30 %: both ranks finish; rank 0's metrics and summary count rank 1's videos.
    const okDir = tmp('bad-ok');
    const ok = await run(okDir, 0.3);
    for (const r of ok)
      expect({ rank: r.rank, code: r.code, err: r.code === 0 ? '' : r.stderr }).toEqual({ rank: r.rank, code: 0, err: '' });
    const inputs = ok.map((r) => resultOf(r).input as { replacedClips: number; badVideos: BadVideo[] });
    expect(inputs[1]).toEqual(inputs[0]); // the same counts on every rank
    const met = (inputs[0] as { badVideos: BadVideo[] }).badVideos;
    expect(met.map((b) => b.path).sort()).toEqual([...broken].sort());
    expect(met.map((b) => b.rank)).toEqual([1, 1]);
    expect(inputs[0]?.replacedClips).toBeGreaterThanOrEqual(2);
    const record = readMetrics(join(okDir, 'metrics.jsonl')).at(-1);
    expect(record?.badVideos).toBe(2);
    expect(record?.replacedClips).toBe(inputs[0]?.replacedClips);
    const log0 = (ok[0] as RankResult).stderr;
    for (const p of broken) expect(log0).toContain(`unreadable training video ${p} on rank 1: `);
    const summary = log0.slice(log0.indexOf('input: '));
    expect(summary).toMatch(/^input: 2 unreadable training video\(s\), \d+ clip draw\(s\) replaced/);
    for (const p of broken) expect(summary).toContain(`  ${p} (rank 1): `);
    expect(summary).toMatch(/\(all 2 ranks\)/);
    expect((ok[1] as RankResult).stderr).not.toContain('unreadable training video'); // rank 0 reports

    // Allowed 20 %: every rank stops with the same DataError listing both videos and the rank that met them.
    const stopped = await run(tmp('bad-stop'), 0.2);
    expect(stopped.map((r) => r.code)).toEqual([1, 1]);
    const errors = stopped.map((r) => {
      const { name, message } = resultOf(r).error as { name: string; message: string };
      return { name, message };
    });
    expect(errors[1]).toEqual(errors[0]);
    expect(errors[0]?.name).toBe('DataError');
    expect(errors[0]?.message).toMatch(
      /^2 of 8 training videos could not be read over all 2 ranks \(by step 0\), more than data.maxBadFraction = 0.2/,
    );
    for (const p of broken) expect(errors[0]?.message).toContain(`${p} (rank 1): `);
  }, 600_000);
});
