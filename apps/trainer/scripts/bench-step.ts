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
 * Usage: pnpm --filter @lss/trainer bench:step [--depth 12] [--global 2] [--local 8] [--frames 8]
 *        [--batch 1] [--recompute true] [--chunk 1] [--host-slots true] [--viewwise true] [--trace true] [--backend wasm] [--torch true] [--student-only true] [--steps 1]
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createStudentTeacher, visionPreset } from '@lss/backbone';
import { type BackendName, initBackend } from '@lss/core';
import { createObjectives, sumLossTerms } from '@lss/objectives';
import * as tf from '@tensorflow/tfjs-core';
import { towerFromVision } from '../src/model.js';
import { AdamW } from '../src/optim/adamw.js';
import { buildSchedules } from '../src/schedules.js';
import { type HostBatch, type TrainState, trainStep } from '../src/train-step.js';

const { values } = parseArgs({
  options: {
    depth: { type: 'string', default: '12' },
    global: { type: 'string', default: '2' },
    local: { type: 'string', default: '8' },
    frames: { type: 'string', default: '8' },
    batch: { type: 'string', default: '1' },
    recompute: { type: 'string', default: 'true' },
    backend: { type: 'string', default: 'wasm' },
    torch: { type: 'string', default: 'true' },
    steps: { type: 'string', default: '1' },
    chunk: { type: 'string', default: '1' },
    'student-only': { type: 'string', default: 'true' },
    'host-slots': { type: 'string', default: 'true' },
    viewwise: { type: 'string', default: 'true' },
    trace: { type: 'string', default: 'true' },
  },
});
const depth = Number(values.depth);
const numGlobal = Number(values.global);
const numLocal = Number(values.local);
const T = Number(values.frames);
const B = Number(values.batch);
const recompute = values.recompute === 'true';
const steps = Number(values.steps);
const GB = 1024 ** 3;

function view(size: number, seed: number): { data: Float32Array; shape: number[] } {
  const n = B * T * size * size * 3;
  const data = new Float32Array(n);
  let s = seed * 2654435761;
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    data[i] = s / 2 ** 31 - 1;
  }
  return { data, shape: [B, T, size, size, 3] }; // [B, T, H, W, 3]
}

function unitRows(k: number, d: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const m = tf.randomNormal([k, d], 0, 1, 'float32', seed);
    return tf.div(m, tf.norm(m, 2, 1, true)) as tf.Tensor2D;
  });
}

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
function trace(phase: string): void {
  const now = performance.now();
  const heap = wasmHeapBytes();
  console.log(
    `    ${phase}: ${((now - phaseStart) / 1000).toFixed(1)} s, tensors ${(tf.memory().numBytes / GB).toFixed(2)} GiB` +
      (heap !== null ? `, wasm heap ${(heap / GB).toFixed(2)} GiB` : ''),
  );
  phaseStart = now;
}

async function main(): Promise<void> {
  const info = await initBackend(values.backend as BackendName);
  const vision = visionPreset('ViT-B/16', { numFrames: T, layers: depth });
  const pair = createStudentTeacher(vision, { seed: 0 });
  const E = vision.embedDim;
  const Kc = 400;
  const Kd = 2000;
  const relationData = new Float32Array(Kc * Kd);
  for (let j = 0; j < Kd; j++) relationData[(j % Kc) * Kd + j] = 1; // 5 descriptions per category
  const state: TrainState = {
    student: towerFromVision(pair.student),
    teacher: towerFromVision(pair.teacher),
    objectives: createObjectives([{ name: 'concept-distillation' }, { name: 'concept-alignment' }, { name: 'uniform-prior' }]),
    optimizer: new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, hostSlots: values['host-slots'] === 'true' }),
    schedules: buildSchedules({
      epochs: 1,
      stepsPerEpoch: Math.max(steps, 1),
      baseLearningRate: 1e-4,
      batchSize: 256,
      referenceBatchSize: 256,
      minLearningRate: 1e-6,
      warmupEpochs: 0,
      weightDecay: 0.04,
      weightDecayEnd: 0.4,
      momentum: 0.996,
      momentumEnd: 1,
    }),
    concepts: { spaces: { category: unitRows(Kc, E, 1), description: unitRows(Kd, E, 2) }, relation: tf.tensor2d(relationData, [Kc, Kd]) },
    clipping: { mode: 'per-parameter', maxNorm: 3 },
    memory: {
      name: values.viewwise === 'true' ? 'low-memory' : 'joint',
      backward: values.viewwise === 'true' ? 'per-view' : 'joint',
      recompute,
      maxClipsPerCall: Number(values.chunk),
      hostGradients: values.viewwise === 'true',
      hostSlots: values['host-slots'] === 'true',
    },
    ...(values.trace === 'true' ? { trace } : {}),
  };
  const batch: HostBatch = {
    views: [...Array.from({ length: numGlobal }, (_, v) => view(224, v)), ...Array.from({ length: numLocal }, (_, v) => view(96, 100 + v))],
    numGlobalViews: numGlobal,
  };
  const params = [...pair.student.variables().values()].reduce((a, v) => a + v.size, 0);
  console.log(
    `tfjs ${info.name} (tfjs-core ${info.tfjsVersion}): ViT-B/16 video tower, depth ${depth}, ${(params / 1e6).toFixed(1)} M parameters; ` +
      `${numGlobal} global 224 px + ${numLocal} local 96 px views of ${T} frames, batch ${B}, recompute ${recompute}, at most ${values.chunk} clip(s) per tower call, AdamW slots on the ${values['host-slots'] === 'true' ? 'host' : 'device'}, ${values.viewwise === 'true' ? 'viewwise' : 'joint'} backward`,
  );
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    phaseStart = t0;
    // tf.profile records every kernel and then overflows the call stack (Math.max over millions of
    // records) at this size; watch the engine's byte count instead.
    const profile = { peakBytes: 0 };
    const stopWatching = watchPeakBytes((bytes) => {
      profile.peakBytes = Math.max(profile.peakBytes, bytes);
    });
    try {
      const r = await trainStep(state, [batch], s);
      console.log(`  loss ${r.loss.toFixed(4)}, grad norm ${r.gradNorm.toFixed(3)}`);
    } finally {
      stopWatching();
    }
    const seconds = (performance.now() - t0) / 1000;
    const heap = wasmHeapBytes();
    console.log(
      `full training step ${s} (teacher + student fwd/bwd + clip + AdamW + EMA): ${seconds.toFixed(1)} s; tfjs peak tracked memory ${(profile.peakBytes / GB).toFixed(2)} GiB` +
        (heap !== null ? `; wasm heap ${(heap / GB).toFixed(2)} GiB (cap 4 GiB)` : '') +
        `; process RSS ${(process.memoryUsage().rss / GB).toFixed(2)} GiB`,
    );
  }
  if (values['student-only'] === 'true') {
    // Then the student forward + backward alone (what the PyTorch script times; run after the step so the
    // wasm heap size above is the step's): teacher scores outside the tape, variableGrads over the student.
    {
      const toT = (v: { data: Float32Array; shape: number[] }) => tf.tensor(v.data, v.shape, 'float32');
      const project = (f: tf.Tensor2D) => ({
        category: tf.matMul(tf.div(f, tf.norm(f, 2, 1, true)), tf.transpose(state.concepts.spaces.category as tf.Tensor2D)) as tf.Tensor2D,
        description: tf.matMul(
          tf.div(f, tf.norm(f, 2, 1, true)),
          tf.transpose(state.concepts.spaces.description as tf.Tensor2D),
        ) as tf.Tensor2D,
      });
      const tTeacher = performance.now();
      const teacherScores = tf.tidy(() => {
        const globals = batch.views.slice(0, numGlobal).map((v) => toT(v as { data: Float32Array; shape: number[] }));
        const all = state.teacher.call(tf.concat(globals, 0), { recompute }); // (v b) t h w c, as the step does
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
        const groups = [batch.views.slice(0, numGlobal), batch.views.slice(numGlobal)].filter((g) => g.length > 0);
        const feats = groups.flatMap((g) => {
          const x = tf.concat(
            g.map((v) => toT(v as { data: Float32Array; shape: number[] })),
            0,
          ); // (v b) t h w c
          const f = state.student.call(x, { training: true, recompute });
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
      }, pair.student.trainableVariables());
      await value.data();
      const seconds = (performance.now() - t0) / 1000;
      tf.dispose([value, ...Object.values(grads), ...teacherScores.category, ...teacherScores.description]);
      console.log(
        `teacher forward (global views): ${teacherSeconds.toFixed(1)} s; student forward + backward (all views): ${seconds.toFixed(1)} s`,
      );
    }
  }
  if (values.torch === 'true') {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'bench_step_torch.py');
    const args = [
      script,
      '--depth',
      String(depth),
      '--global',
      String(numGlobal),
      '--local',
      String(numLocal),
      '--frames',
      String(T),
      '--batch',
      String(B),
      '--recompute',
      String(recompute),
    ];
    console.log(`PyTorch: /usr/bin/python3 ${args.join(' ')}`);
    const r = spawnSync('/usr/bin/python3', args, { stdio: 'inherit' });
    if (r.error) console.log(`  could not run PyTorch: ${r.error.message}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
