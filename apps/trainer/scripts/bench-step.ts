/**
 * Benchmark of ONE LSS training step at paper scale (not part of CI):
 * ViT-B/16 video tower (random init, divided space-time attention, 8 frames), 2 global 224 px + 8 local
 * 96 px views, teacher forward on the global views, student forward + backward on all views with
 * per-block recomputation, concept distillation + concept alignment + uniform prior in random unit
 * concept spaces (400 categories, 2000 descriptions), global-norm clipping, AdamW, EMA. Reports the
 * step time, the tfjs engine's peak tracked bytes and the wasm heap size (which only grows: its final
 * size is the peak), then runs the same student forward + backward in PyTorch
 * (`scripts/bench_step_torch.py`, Debian's /usr/bin/python3 with torch) for comparison.
 *
 * With `--rounds N` (N >= 1) the tfjs step, the tfjs student forward + backward and PyTorch's
 * (`bench_step_torch.py --full-step true`: the same student forward + backward, then a full step with a
 * teacher forward under no_grad, per-parameter clipping, AdamW and EMA) run N times interleaved, and min /
 * median of each and both processes' peak RSS (`getrusage` maxrss) are printed at the end.
 *
 * Usage: pnpm --filter @lss/trainer bench:step [--depth 12] [--global 2] [--local 8] [--frames 8]
 *        [--batch 1] [--backend auto] [--plan auto|joint|low-memory] [--recompute] [--chunk] [--host-slots] [--viewwise]
 *        [--trace true] [--torch true] [--student-only true] [--steps 1] [--rounds 1] [--warmup 0|1] [--threads 2]
 * `--plan auto` takes the trainer's memory plan for the backend (torch: joint backward, no recomputation;
 * wasm: per-view backward with recomputation); the four flags after it override single fields.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BackendName, describeBackend, initBackend } from '@lss/core';
import { sumLossTerms } from '@lss/objectives';
import * as tf from '@tensorflow/tfjs-core';
import { describeMemoryPlan, type MemoryPlan, type MemoryPlanChoice, memoryPlanFor } from '../src/memory-plan.js';
import { type HostBatch, type TrainState, trainStep } from '../src/train-step.js';
import { benchStepState, randomView } from './bench-setup.js';

const { values } = parseArgs({
  options: {
    depth: { type: 'string', default: '12' },
    global: { type: 'string', default: '2' },
    local: { type: 'string', default: '8' },
    frames: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1' },
    recompute: { type: 'string' },
    backend: { type: 'string', default: 'auto' },
    plan: { type: 'string', default: 'auto' },
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string' },
    threads: { type: 'string', default: '2' },
    torch: { type: 'string', default: 'true' },
    steps: { type: 'string', default: '1' },
    chunk: { type: 'string' },
    'student-only': { type: 'string', default: 'false' },
    'host-slots': { type: 'string' },
    viewwise: { type: 'string' },
    trace: { type: 'string' },
  },
});
const depth = Number(values.depth);
const numGlobal = Number(values.global);
const numLocal = Number(values.local);
const T = Number(values.frames);
const B = Number(values.batch);
const steps = Number(values.steps);
const rounds = Number(values.rounds);
const threads = Number(values.threads);
/** Untimed rounds first (default 1 when there are several rounds): the first step of each process pays one-time costs. */
const warmup = Number(values.warmup ?? (rounds > 1 ? 1 : 0));
const trace = (values.trace ?? (rounds > 1 ? 'false' : 'true')) === 'true';
const GB = 1024 ** 3;

const view = (size: number, seed: number) => randomView(B, T, size, seed);

function wasmHeapBytes(): number | null {
  const backend = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return backend.wasm?.HEAPU8?.buffer.byteLength ?? null;
}

/**
 * Calls `onChange` with the engine's live tensor bytes whenever they change (a property on the tfjs-core
 * 4.22 engine state; the same count `tf.memory().numBytes` reports). Returns a function that stops.
 */
function watchPeakBytes(onChange: (bytes: number) => void): () => void {
  const state = tf.engine().state as unknown as { numBytes: number };
  let value = state.numBytes;
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => value,
    set: (v: number) => {
      value = v;
      onChange(v);
    },
  });
  return () => {
    Object.defineProperty(state, 'numBytes', { configurable: true, enumerable: true, writable: true, value });
  };
}

let phaseStart = performance.now();
/** One line per phase of the step: seconds, live tensor bytes, wasm heap. */
function tracePhase(phase: string): void {
  const now = performance.now();
  const heap = wasmHeapBytes();
  console.log(
    `    ${phase}: ${((now - phaseStart) / 1000).toFixed(1)} s, tensors ${(tf.memory().numBytes / GB).toFixed(2)} GiB` +
      (heap !== null ? `, wasm heap ${(heap / GB).toFixed(2)} GiB` : ''),
  );
  phaseStart = now;
}

const stats = (v: readonly number[]): { min: number; median: number } => {
  const s = [...v].sort((a, b) => a - b);
  return { min: s[0] ?? Number.NaN, median: s[Math.floor(s.length / 2)] ?? Number.NaN };
};

/** The trainer's memory plan for the backend (`--plan`), with single fields overridden by flags. */
function planFrom(backend: string, numParameters: number): MemoryPlan {
  const base = memoryPlanFor(backend, values.plan as MemoryPlanChoice, numParameters);
  const flag = (v: string | undefined, fallback: boolean) => (v === undefined ? fallback : v === 'true');
  const viewwise = flag(values.viewwise, base.backward === 'per-view');
  return {
    ...base,
    backward: viewwise ? 'per-view' : 'joint',
    recompute: flag(values.recompute, base.recompute),
    maxClipsPerCall: values.chunk === undefined ? base.maxClipsPerCall : Number(values.chunk),
    hostGradients: viewwise ? base.hostGradients || values.viewwise === 'true' : false,
    hostSlots: flag(values['host-slots'], base.hostSlots),
  };
}

/** Peak resident set size of this process so far, in GiB (getrusage maxrss, KiB on Linux). */
const peakRssGiB = (): number => (process.resourceUsage().maxRSS * 1024) / GB;

interface PyTorchRound {
  readonly stepSeconds: number;
  readonly peakRssGiB: number;
  readonly version: string;
}

/**
 * `bench_step_torch.py --serve true` kept running for the whole benchmark (so its rounds after the
 * first are warm, as the tfjs process's are): one full step per request line, one JSON line back.
 */
async function startPyTorch(recompute: boolean): Promise<{ round: () => Promise<PyTorchRound>; close: () => void } | null> {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'bench_step_torch.py');
  const args = [script, '--depth', String(depth), '--global', String(numGlobal), '--local', String(numLocal), '--frames', String(T)];
  args.push('--batch', String(B), '--recompute', String(recompute), '--threads', String(threads), '--serve', 'true');
  // The same OpenMP wait policy as this process (@lss/backend-torch makes it PASSIVE unless set), so both sides wait alike.
  const waitPolicy = process.env.OMP_WAIT_POLICY ?? '';
  console.log(`PyTorch: OMP_WAIT_POLICY=${waitPolicy} /usr/bin/python3 ${args.join(' ')}`);
  const child = spawn('/usr/bin/python3', args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, OMP_NUM_THREADS: String(threads), OMP_WAIT_POLICY: waitPolicy },
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextJson = async (): Promise<Record<string, unknown> | null> => {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) return null;
      if (value.startsWith('{')) return JSON.parse(value) as Record<string, unknown>;
      console.log(value);
    }
  };
  const failed = new Promise<null>((resolve) => {
    child.once('error', (e) => {
      console.log(`  could not run PyTorch: ${e.message}`);
      resolve(null);
    });
  });
  if ((await Promise.race([nextJson(), failed])) === null) return null;
  return {
    round: async () => {
      child.stdin.write('step\n');
      const j = await nextJson();
      if (!j) throw new Error(`bench_step_torch.py stopped (exit ${child.exitCode}); see its output above.`);
      return { stepSeconds: j.step_s as number, peakRssGiB: j.peak_rss_gib as number, version: j.torch as string };
    },
    close: () => child.stdin.end(),
  };
}

async function main(): Promise<void> {
  const info = await initBackend(values.backend as BackendName, { threads });
  const {
    state,
    pair,
    numParameters: params,
  } = benchStepState({
    depth,
    numFrames: T,
    stepsPerEpoch: Math.max(steps * (rounds + warmup), 1),
    plan: (numParameters) => planFrom(info.name, numParameters),
    extra: trace ? { trace: tracePhase } : {},
  });
  const plan = state.memory as MemoryPlan;
  const recompute = plan.recompute;
  const batch: HostBatch = {
    views: [...Array.from({ length: numGlobal }, (_, v) => view(224, v)), ...Array.from({ length: numLocal }, (_, v) => view(96, 100 + v))],
    numGlobalViews: numGlobal,
  };
  console.log(
    `${describeBackend(info)} (tfjs-core ${info.tfjsVersion}): ViT-B/16 video tower, depth ${depth}, ${(params / 1e6).toFixed(1)} M parameters; ` +
      `${numGlobal} global 224 px + ${numLocal} local 96 px views of ${T} frames, batch ${B}; ${describeMemoryPlan(plan, info.name)}; ${rounds} round(s)`,
  );
  const rows: Record<string, number[]> = {};
  let timed = true;
  const push = (k: string, v: number) => {
    if (!timed) return;
    rows[k] ??= [];
    rows[k].push(v);
  };
  let pytorchPeak = 0;
  let pytorchVersion = '';
  let stepIndex = 0;
  const pytorch = values.torch === 'true' ? await startPyTorch(recompute) : null;
  try {
    for (let round = -warmup; round < rounds; round++) {
      timed = round >= 0;
      if (rounds > 1 || warmup > 0) console.log(timed ? `round ${round + 1} of ${rounds}` : 'warm-up round (not timed)');
      for (let s = 0; s < steps; s++, stepIndex++) {
        const t0 = performance.now();
        phaseStart = t0;
        // tf.profile records every kernel and then overflows the call stack (Math.max over millions of
        // records) at this size; watch the engine's byte count instead.
        const profile = { peakBytes: 0 };
        const stopWatching = watchPeakBytes((bytes) => {
          profile.peakBytes = Math.max(profile.peakBytes, bytes);
        });
        try {
          const r = await trainStep(state, [batch], stepIndex);
          console.log(`  loss ${r.loss.toFixed(4)}, grad norm ${r.gradNorm.toFixed(3)}`);
        } finally {
          stopWatching();
        }
        const seconds = (performance.now() - t0) / 1000;
        push(`tfjs ${info.name} full step`, seconds);
        const heap = wasmHeapBytes();
        console.log(
          `  full training step ${stepIndex} (teacher + student fwd/bwd + clip + AdamW + EMA): ${seconds.toFixed(1)} s; tfjs peak tracked memory ${(profile.peakBytes / GB).toFixed(2)} GiB` +
            (heap !== null ? `; wasm heap ${(heap / GB).toFixed(2)} GiB (cap 4 GiB)` : '') +
            `; process peak RSS ${peakRssGiB().toFixed(2)} GiB`,
        );
      }
      if (values['student-only'] === 'true') {
        const { teacherSeconds, studentSeconds } = await studentForwardBackward(state, pair.student, batch, recompute);
        push(`tfjs ${info.name} student fwd+bwd`, studentSeconds);
        console.log(
          `  teacher forward (global views): ${teacherSeconds.toFixed(1)} s; student forward + backward (all views): ${studentSeconds.toFixed(1)} s`,
        );
      }
      if (pytorch) {
        const pt = await pytorch.round();
        console.log(
          `  PyTorch full step (teacher forward + student fwd/bwd + clipping + AdamW + EMA): ${pt.stepSeconds.toFixed(1)} s; peak RSS ${pt.peakRssGiB.toFixed(2)} GiB`,
        );
        push('PyTorch full step', pt.stepSeconds);
        pytorchPeak = Math.max(pytorchPeak, pt.peakRssGiB);
        pytorchVersion = pt.version;
      }
    }
  } finally {
    pytorch?.close();
  }
  console.log(
    `\nseconds, min / median over ${rounds} interleaved round(s) (${threads} threads each; PyTorch ${pytorchVersion || 'not run'}):`,
  );
  for (const [k, v] of Object.entries(rows)) {
    const { min, median } = stats(v);
    console.log(`  ${k.padEnd(34)} ${min.toFixed(2)} / ${median.toFixed(2)}`);
  }
  const ratio = (ours: string, theirs: string) => {
    const a = rows[ours];
    const b = rows[theirs];
    if (!a || !b) return;
    console.log(
      `  ${ours}: ${(stats(b).median / stats(a).median).toFixed(2)}x PyTorch's speed (medians), ${(stats(b).min / stats(a).min).toFixed(2)}x (minima)`,
    );
  };
  ratio(`tfjs ${info.name} full step`, 'PyTorch full step');
  console.log(
    `peak RSS: tfjs ${info.name} process ${peakRssGiB().toFixed(2)} GiB${pytorchPeak > 0 ? `, PyTorch process ${pytorchPeak.toFixed(2)} GiB` : ''}`,
  );
}

/**
 * The student forward + backward alone (what the PyTorch script times as `student_s`): teacher scores
 * outside the tape, then variableGrads over the student on all views (same-size views in one call).
 */
async function studentForwardBackward(
  state: TrainState,
  student: { trainableVariables(): tf.Variable[] },
  batch: HostBatch,
  recompute: boolean,
): Promise<{ teacherSeconds: number; studentSeconds: number }> {
  const toT = (v: { data: Float32Array; shape: number[] }) => tf.tensor(v.data, v.shape, 'float32');
  const project = (f: tf.Tensor2D) => {
    const unit = tf.div(f, tf.norm(f, 2, 1, true));
    return {
      category: tf.matMul(unit, state.concepts.spaces.category as tf.Tensor2D, false, true) as tf.Tensor2D,
      description: tf.matMul(unit, state.concepts.spaces.description as tf.Tensor2D, false, true) as tf.Tensor2D,
    };
  };
  const views = batch.views as { data: Float32Array; shape: number[] }[];
  const tTeacher = performance.now();
  const teacherScores = tf.tidy(() => {
    const all = state.teacher.call(tf.concat(views.slice(0, numGlobal).map(toT), 0), { recompute }); // (v b) t h w c
    const feats = numGlobal === 1 ? [all] : (tf.split(all, numGlobal, 0) as tf.Tensor2D[]);
    const scores = feats.map(project);
    return {
      category: scores.map((x) => x.category),
      description: scores.map((x) => x.description),
    } as unknown as tf.TensorContainerObject;
  }) as unknown as { category: tf.Tensor2D[]; description: tf.Tensor2D[] };
  await teacherScores.category[0]?.data();
  const teacherSeconds = (performance.now() - tTeacher) / 1000;
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => {
    const groups = [views.slice(0, numGlobal), views.slice(numGlobal)].filter((g) => g.length > 0);
    const feats = groups.flatMap((g) => {
      const f = state.student.call(tf.concat(g.map(toT), 0), { training: true, recompute }); // (v b) t h w c
      return g.length === 1 ? [f] : (tf.split(f, g.length, 0) as tf.Tensor2D[]);
    });
    const scores = feats.map(project);
    const student = { category: scores.map((x) => x.category), description: scores.map((x) => x.description) };
    return sumLossTerms(state.objectives, {
      student,
      teacher: teacherScores,
      numGlobalViews: numGlobal,
      relation: state.concepts.relation as tf.Tensor2D,
      step: 0,
      epoch: 0,
    }).total;
  }, student.trainableVariables());
  await Promise.all([value, ...Object.values(grads)].map((t) => t.data()));
  const studentSeconds = (performance.now() - t0) / 1000;
  tf.dispose([value, ...Object.values(grads), ...teacherScores.category, ...teacherScores.description]);
  return { teacherSeconds, studentSeconds };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
