/**
 * Data-parallel scaling of lss-train on this machine (not part of CI). The same global batch is trained by
 * 1 process x 2 threads, 2 processes x 1 thread (c10d Gloo on loopback, ranks started with torchrun's
 * variables) and 1 process x 1 thread, in interleaved rounds; each prints clips/s over the timed steps (after
 * warm-up steps) and the scaling efficiency: clips/s of 2 x 1 over 2 x clips/s of 1 x 1 (and over 1 x 2).
 *
 *   --scale tiny    lss-tiny-synthetic through runTraining (tiny CLIP fixture, 2 x 32 px + 2 x 16 px views of 4
 *                   frames) on in-memory synthetic clips; global batch --batch (default 4)
 *   --scale depth2  bench:step's depth-2 step: ViT-B/16 width, 2 of 12 blocks, 2 x 224 px + 8 x 96 px views of
 *                   8 frames, random init, concept distillation + alignment + prior; global batch --batch (default 2)
 *
 * Usage: pnpm --filter @lss/trainer bench:dist [--scale tiny] [--steps 4] [--warmup 1] [--rounds 3] [--backend torch] [--batch N]
 *        [--omp-wait-policy active|passive]
 * Threads are libtorch's (`--backend torch`); the wasm and cpu backends run one thread whatever is asked.
 * `--omp-wait-policy` sets OMP_WAIT_POLICY for every layout (default: this process's, else libgomp's own spin-then-
 * sleep). On a busy machine the 2-thread layout pays for libgomp's spin-waiting: each parallel region waits for a
 * descheduled partner thread (measured on this machine at load ~14: tiny steps 4-11 s with 2 threads vs 0.4 s with
 * 1, and 0.25-0.75 s with 2 threads and OMP_WAIT_POLICY=PASSIVE; libgomp was 37 % of perf samples, sgemm 0.35 %).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BackendName, initBackend } from '@lss/core';
import { ProcessGroup, rendezvousFromEnv } from '@lss/distributed';
import { resultOf, spawnRanks } from '@lss/testing';
import { loadConfig } from '../src/config/load.js';
import { MemoryClipSource } from '../src/data.js';
import { JOINT_PLAN } from '../src/memory-plan.js';
import { runTraining } from '../src/run.js';
import { type HostBatch, trainStep } from '../src/train-step.js';
import { benchStepState, randomView } from './bench-setup.js';

interface Spec {
  readonly scale: 'tiny' | 'depth2';
  readonly steps: number;
  readonly warmup: number;
  /** Per-process batch. */
  readonly batch: number;
  readonly threads: number;
  readonly backend: string;
  readonly cacheDir: string;
}

/** Seconds of the timed steps (after `warmup`) of one process; rank 0's is the job's (the ranks step together). */
async function worker(spec: Spec): Promise<void> {
  const info = await initBackend(spec.backend as BackendName, { threads: spec.threads });
  const rendezvous = rendezvousFromEnv();
  const group = rendezvous ? await ProcessGroup.init({ ...rendezvous, timeoutMs: 600_000 }) : undefined;
  const worldSize = group?.worldSize ?? 1;
  const stamps: number[] = [];
  if (spec.scale === 'tiny') {
    const config = loadConfig('lss-tiny-synthetic', {
      overrides: [
        `workdir=${mkdtempSync(join(tmpdir(), 'lss-bench-dist-'))}`,
        `concepts.cacheDir=${spec.cacheDir}`,
        `backend=${spec.backend}`,
        `training.batchSize=${spec.batch}`,
        `training.maxSteps=${spec.warmup + spec.steps}`,
        'checkpoint.every=100000',
        'logging.progress=off',
      ],
    });
    stamps.push(performance.now());
    await runTraining(config, {
      ...(group ? { group } : {}),
      source: new MemoryClipSource({ numClasses: 4, videosPerClass: 8, numFrames: 16, size: 48, seed: 0 }),
      log: () => undefined,
      exportTowers: false,
      printConfig: false,
      onStep: () => stamps.push(performance.now()),
    });
  } else {
    const { state } = benchStepState({
      depth: 2,
      numFrames: 8,
      stepsPerEpoch: spec.warmup + spec.steps,
      plan: () => JOINT_PLAN,
      extra: group ? { dataParallel: group } : {},
    });
    // Each rank its own views (seeds offset by the rank).
    const view = (size: number, seed: number) => randomView(spec.batch, 8, size, seed + 1000 * (group?.rank ?? 0));
    const batch: HostBatch = {
      views: [view(224, 0), view(224, 1), ...Array.from({ length: 8 }, (_, v) => view(96, 10 + v))],
      numGlobalViews: 2,
    };
    stamps.push(performance.now());
    for (let step = 0; step < spec.warmup + spec.steps; step++) {
      await trainStep(state, [batch], step);
      stamps.push(performance.now());
    }
  }
  group?.destroy();
  const seconds = ((stamps.at(-1) as number) - (stamps[spec.warmup] as number)) / 1000;
  const clips = spec.batch * worldSize * spec.steps;
  process.stdout.write(
    `RESULT ${JSON.stringify({ backend: info.name, threads: info.threads ?? 1, worldSize, seconds, clipsPerSecond: clips / seconds })}\n`,
  );
}

async function driver(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2).filter((a) => a !== '--'),
    options: {
      scale: { type: 'string', default: 'tiny' },
      steps: { type: 'string', default: '4' },
      warmup: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      backend: { type: 'string', default: 'torch' },
      'omp-wait-policy': { type: 'string' },
      batch: { type: 'string' },
    },
  });
  const scale = values.scale as Spec['scale'];
  if (scale !== 'tiny' && scale !== 'depth2') throw new Error(`--scale: received ${values.scale}; expected tiny or depth2.`);
  const globalBatch = Number(values.batch ?? (scale === 'tiny' ? 4 : 2));
  if (!Number.isInteger(globalBatch / 2) || globalBatch < 2)
    throw new Error(`--batch must be an even number >= 2 (the global batch); received ${values.batch}.`);
  const base = {
    scale,
    steps: Number(values.steps),
    warmup: Number(values.warmup),
    backend: values.backend as string,
    cacheDir: mkdtempSync(join(tmpdir(), 'lss-bench-dist-concepts-')),
  };
  const waitPolicy = values['omp-wait-policy']?.toUpperCase() ?? process.env.OMP_WAIT_POLICY;
  if (waitPolicy !== undefined && !['ACTIVE', 'PASSIVE'].includes(waitPolicy.toUpperCase())) {
    throw new Error(`--omp-wait-policy: received ${waitPolicy}; expected active or passive.`);
  }
  const layouts = [
    { name: '1 process x 2 threads', ranks: 1, threads: 2 },
    { name: '2 processes x 1 thread', ranks: 2, threads: 1 },
    { name: '1 process x 1 thread', ranks: 1, threads: 1 },
  ];
  console.log(
    `bench:dist ${scale}: global batch ${globalBatch}, ${base.warmup} warm-up + ${base.steps} timed steps per run, ${values.rounds} interleaved rounds, backend ${base.backend}, ` +
      `OMP_WAIT_POLICY ${waitPolicy ?? "unset (libgomp's default: spin, then sleep)"}`,
  );
  const rates = new Map<string, number[]>(layouts.map((l) => [l.name, []]));
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const layout of layouts) {
      const spec: Spec = { ...base, batch: globalBatch / layout.ranks, threads: layout.threads };
      const runs = await spawnRanks([import.meta.filename], layout.ranks, {
        env: {
          LSS_BENCH_DIST: JSON.stringify(spec),
          OMP_NUM_THREADS: String(layout.threads),
          LSS_TORCH_THREADS: String(layout.threads),
          ...(waitPolicy ? { OMP_WAIT_POLICY: waitPolicy } : {}),
        },
        plain: layout.ranks === 1,
      });
      const failed = runs.find((r) => r.code !== 0);
      if (failed) throw new Error(`${layout.name}: rank ${failed.rank} exited with ${failed.code}:\n${failed.stderr.slice(-3000)}`);
      const r = resultOf(runs[0] as (typeof runs)[number]) as { clipsPerSecond: number; seconds: number; backend: string; threads: number };
      rates.get(layout.name)?.push(r.clipsPerSecond);
      console.log(
        `round ${round + 1} ${layout.name} (${r.backend}, ${r.threads} thread(s) each): ${r.clipsPerSecond.toFixed(3)} clips/s (${r.seconds.toFixed(1)} s)`,
      );
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
  };
  const best = (name: string) => Math.max(...(rates.get(name) as number[]));
  for (const [name, xs] of rates) console.log(`${name}: best ${Math.max(...xs).toFixed(3)}, median ${median(xs).toFixed(3)} clips/s`);
  const two = best('2 processes x 1 thread');
  console.log(
    `scaling efficiency (best rounds): 2 x 1 thread / (2 x [1 x 1 thread]) = ${(two / (2 * best('1 process x 1 thread'))).toFixed(2)}; ` +
      `2 processes x 1 thread / 1 process x 2 threads = ${(two / best('1 process x 2 threads')).toFixed(2)}`,
  );
}

if (process.env.LSS_BENCH_DIST) await worker(JSON.parse(process.env.LSS_BENCH_DIST) as Spec);
else await driver();
