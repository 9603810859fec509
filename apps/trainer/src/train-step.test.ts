import { createStudentTeacher } from '@lss/backbone';
import { TINY_VIDEO_VIT } from '@lss/backbone/testing';
import { NonFiniteLossError } from '@lss/core';
import { createObjectives, type Objective } from '@lss/objectives';
import { expectNoLeaksAsync } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { copyStudentToTeacher } from './ema.js';
import { JOINT_PLAN, LOW_MEMORY_PLAN, type MemoryPlan } from './memory-plan.js';
import { towerFromVision } from './model.js';
import { AdamW } from './optim/adamw.js';
import { buildSchedules } from './schedules.js';
import { type HostBatch, optimizedVariables, relativeVariables, type StudentDropPath, type TrainState, trainStep } from './train-step.js';

// libtorch's BLAS blocks a matMul differently for different batch sizes, so two equivalent step layouts
// (micro-batches, one clip per call) round differently; AdamW's g / sqrt(v) turns that into up to a few
// 1e-5 on a weight after one step. cpu/wasm sum in the same order and stay within 1e-5.
const WEIGHT_TOL = tf.getBackend() === 'torch' ? 1e-4 : 1e-5;
// The same blocking effect on the gradients themselves: measured 1.13e-5 relative on one temporal kernel
// (low-memory plan, drop path 0.5) on torch; cpu/wasm stay within 1e-5.
const GRAD_TOL = tf.getBackend() === 'torch' ? 5e-5 : 1e-5;
/** |a - b| <= 1e-6 * |b| + 1e-6: float32 sums in a different order (the loss is ~50, 1 ulp ~ 4e-6). */
const expectCloseRel = (a: number, b: number): void => expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-6 * Math.abs(b) + 1e-6);

/** AdamW that records the (summed) gradients and the gradient scale it is given, then updates as usual. */
class RecordingAdamW extends AdamW {
  readonly seen: { grads: Map<string, Float32Array>; gradScale: ReadonlyMap<string, number> }[] = [];
  override step(variables: ReadonlyMap<string, tf.Variable>, grads: tf.NamedTensorMap, options: Parameters<AdamW['step']>[2]): void {
    const copy = new Map(Object.entries(grads).map(([k, g]) => [k, (g.dataSync() as Float32Array).slice()]));
    const scale = options.gradScale ?? 1;
    this.seen.push({ grads: copy, gradScale: typeof scale === 'number' ? new Map([...copy.keys()].map((k) => [k, scale])) : scale });
    super.step(variables, grads, options);
  }
}

afterEach(() => tf.disposeVariables());

const B = 2;
const T = TINY_VIDEO_VIT.numFrames;

function batch(seed: number): HostBatch {
  const view = (size: number, k: number) => {
    const n = B * T * size * size * 3;
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(seed * 131 + k * 17 + i * 0.37);
    return { data, shape: [B, T, size, size, 3] };
  };
  return { views: [view(16, 0), view(16, 1), view(8, 2), view(8, 3)], numGlobalViews: 2 };
}

/** One batch of `n` clips (the same 4 views as `batch`), from a seed; clip i depends on (seed, i) only. */
function batchOf(seed: number, n: number): HostBatch {
  const view = (size: number, k: number) => {
    const perClip = T * size * size * 3;
    const data = new Float32Array(n * perClip);
    for (let c = 0; c < n; c++) {
      // clips far apart (a different offset and contrast each), so that a micro-batch's statistics differ from the batch's
      const offset = ((c * 7 + seed) % 5) - 2;
      const contrast = 0.5 + ((c * 3 + seed) % 4);
      for (let i = 0; i < perClip; i++)
        data[c * perClip + i] = offset + contrast * Math.sin(seed * 131 + c * 977 + k * 17 + i * (0.37 + 0.11 * c));
    }
    return { data, shape: [n, T, size, size, 3] };
  };
  return { views: [view(16, 0), view(16, 1), view(8, 2), view(8, 3)], numGlobalViews: 2 };
}

/** Splits a batch into `k` equal micro-batches along the clip axis. */
function splitBatch(b: HostBatch, k: number): HostBatch[] {
  const n = b.views[0]?.shape[0] as number;
  return Array.from({ length: k }, (_, j) => ({
    numGlobalViews: b.numGlobalViews,
    views: b.views.map((v) => {
      const per = v.data.length / n;
      const rows = n / k;
      return { data: v.data.slice(j * rows * per, (j + 1) * rows * per), shape: [rows, ...v.shape.slice(1)] };
    }),
  }));
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

function expectSameGradients(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  let nonZero = 0;
  for (const [k, x] of a) {
    const y = b.get(k) as Float32Array;
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i] as number));
      diff = Math.max(diff, Math.abs((x[i] as number) - (y[i] as number)));
    }
    if (scale > 0) nonZero += 1;
    // relative to the variable's largest gradient entry (GRAD_TOL), and exact where the gradient is zero
    expect({ k, rel: diff / Math.max(scale, 1e-30) }).toEqual({ k, rel: expect.toSatisfy((r: number) => r <= GRAD_TOL) });
  }
  expect(nonZero).toBeGreaterThan(a.size / 2); // the comparison is not between zeros
}

function unitRows(k: number, d: number, seed: number): tf.Tensor2D {
  return tf.tidy(() => {
    const m = tf.randomNormal([k, d], 0, 1, 'float32', seed);
    return tf.div(m, tf.norm(m, 2, 1, true)) as tf.Tensor2D;
  });
}

function makeState(
  objectives = createObjectives([{ name: 'concept-distillation' }, { name: 'concept-alignment' }, { name: 'uniform-prior' }]),
  optimizer: AdamW = new AdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }),
) {
  const pair = createStudentTeacher(TINY_VIDEO_VIT, { seed: 3 });
  const student = towerFromVision(pair.student);
  const teacher = towerFromVision(pair.teacher);
  copyStudentToTeacher(relativeVariables(student), relativeVariables(teacher));
  const E = TINY_VIDEO_VIT.embedDim;
  const relation = tf.tensor2d([1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1], [3, 5]); // 3 categories x 5 descriptions
  const state: TrainState = {
    student,
    teacher,
    objectives,
    optimizer,
    schedules: buildSchedules({
      epochs: 2,
      stepsPerEpoch: 4,
      baseLearningRate: 1e-3,
      batchSize: 256,
      referenceBatchSize: 256,
      minLearningRate: 1e-5,
      warmupEpochs: 0,
      weightDecay: 0.04,
      weightDecayEnd: 0.4,
      momentum: 0.9,
      momentumEnd: 1,
    }),
    concepts: { spaces: { category: unitRows(3, E, 1), description: unitRows(5, E, 2) }, relation },
    clipping: { mode: 'global', maxNorm: 1 },
  };
  const dispose = () => {
    for (const { objective } of objectives) objective.dispose();
    state.optimizer.dispose();
    tf.dispose([state.concepts.spaces.category as tf.Tensor, state.concepts.spaces.description as tf.Tensor, relation]);
    pair.dispose();
  };
  return { state, dispose };
}

describe('trainStep', () => {
  it('updates every student variable, moves the teacher by EMA only, logs finite terms, and leaks nothing', async () => {
    const { state, dispose } = makeState();
    const before = new Map([...state.student.variables()].map(([k, v]) => [k, v.dataSync().slice()]));
    const teacherBefore = new Map([...state.teacher.variables()].map(([k, v]) => [k, v.dataSync().slice()]));
    const first = await trainStep(state, [batch(1)], 0);
    expect(Number.isFinite(first.loss)).toBe(true);
    expect(Object.keys(first.terms)).toEqual(
      expect.arrayContaining(['concept-distillation/loss', 'concept-alignment/loss', 'uniform-prior/loss']),
    );
    for (const v of Object.values(first.terms)) expect(Number.isFinite(v)).toBe(true);
    expect(first.gradNorm).toBeGreaterThan(0);
    // Teacher: exactly m * teacher + (1 - m) * student_new, with m = momentum[0] = 0.9.
    const m = state.schedules.teacherMomentum[0] as number;
    const rel = relativeVariables(state.student);
    for (const [k, t] of relativeVariables(state.teacher)) {
      const t0 = teacherBefore.get(`teacher/${k}`) as Float32Array;
      const s1 = (rel.get(k) as tf.Variable).dataSync();
      const t1 = t.dataSync();
      for (let i = 0; i < t1.length; i += Math.max(1, Math.floor(t1.length / 7))) {
        expect(t1[i]).toBeCloseTo(m * (t0[i] as number) + (1 - m) * (s1[i] as number), 5);
      }
    }
    // A second step (optimizer slots exist now) creates no tensor that outlives it.
    await expectNoLeaksAsync(() => trainStep(state, [batch(2)], 1));
    // After two steps every student variable moved: temporalFc starts at zero, so the temporal attention only
    // receives a gradient from the second step on (TimeSformer's zero-init identity start).
    const unchanged = [...state.student.variables()].filter(([k, v]) => {
      const a = before.get(k) as Float32Array;
      const b = v.dataSync();
      return a.every((x, i) => x === b[i]);
    });
    expect(unchanged.map(([k]) => k)).toEqual([]);
    dispose();
  });

  describe('gradient accumulation is invisible (SPEC section 4): batch B equals B/k micro-batches x k', () => {
    /** Every objective on, with the batch-level ones: distillation with its centre, alignment, the uniform prior, dino. */
    const everyObjective = () =>
      createObjectives([
        { name: 'concept-distillation', centering: true },
        { name: 'concept-alignment' },
        { name: 'uniform-prior' },
        // SVT's head input: the class token before the projection (the step computes it in the same forward)
        { name: 'dino', inputDim: TINY_VIDEO_VIT.width, hiddenDim: 8, bottleneckDim: 4, outDim: 10, freezeLastLayerEpochs: 0 },
      ]);

    /** Two optimizer steps; returns every variable of the run (student, teacher, objective state) and the step results. */
    async function twoSteps(memory: MemoryPlan, k: number, dropPath?: StudentDropPath) {
      // AdamW divides by sqrt(v) + ε, which turns float32 rounding in near-zero gradient entries (~1e-9)
      // into steps of the size of the learning rate; ε = 1e-6 keeps the weight comparison about the gradient.
      const optimizer = new RecordingAdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-6 });
      const { state, dispose } = makeState(everyObjective(), optimizer);
      const results = [];
      for (const [step, seed] of [
        [0, 21],
        [1, 22],
      ] as const) {
        results.push(await trainStep({ ...state, memory, ...(dropPath ? { dropPath } : {}) }, splitBatch(batchOf(seed, 4), k), step));
      }
      const all = new Map<string, Float32Array>();
      for (const [k2, v] of [...state.student.variables(), ...state.teacher.variables()]) all.set(k2, v.dataSync().slice() as Float32Array);
      for (const { objective } of state.objectives) {
        for (const [k2, v] of objective.variables?.() ?? []) all.set(k2, v.dataSync().slice() as Float32Array);
      }
      dispose();
      tf.disposeVariables();
      return { all, results, grads: optimizer.seen.map((s) => s.grads) };
    }

    for (const [name, memory, dropPath] of [
      ['joint', JOINT_PLAN, undefined],
      ['low-memory', LOW_MEMORY_PLAN, undefined],
      // drop path on the student: each clip's masks follow the clip, not the micro-batch, chunk or recomputation
      ['joint, drop path 0.5,', JOINT_PLAN, { rate: 0.5, seed: 4 }],
      ['low-memory, drop path 0.5,', LOW_MEMORY_PLAN, { rate: 0.5, seed: 4 }],
    ] as const) {
      it(`${name} plan: 2 steps of batch 4 == 2 steps of 2 micro-batches x 2 (gradients, weights, centres, every term within 1e-5)`, async () => {
        const whole = await twoSteps(JOINT_PLAN, 1, dropPath);
        const accumulated = await twoSteps(memory, 2, dropPath);
        whole.results.forEach((r, i) => {
          const a = accumulated.results[i] as (typeof whole.results)[number];
          expect(a.numClips).toBe(4);
          expect(Math.abs(a.loss - r.loss)).toBeLessThan(1e-5 * Math.max(1, Math.abs(r.loss)));
          for (const [term, v] of Object.entries(r.terms)) {
            expect({ term, diff: Math.abs((a.terms[term] as number) - v) }).toEqual({
              term,
              diff: expect.toSatisfy((d: number) => d <= 1e-5 * Math.max(1, Math.abs(v))),
            });
          }
        });
        whole.grads.forEach((g, i) => expectSameGradients(accumulated.grads[i] as Map<string, Float32Array>, g));
        expect([...accumulated.all.keys()].sort()).toEqual([...whole.all.keys()].sort());
        expect([...whole.all.keys()].some((k) => k.includes('center'))).toBe(true);
        for (const [key, x] of whole.all) {
          expect({ key, diff: maxAbs(x, accumulated.all.get(key) as Float32Array) }).toEqual({
            key,
            diff: expect.toSatisfy((d: number) => d <= WEIGHT_TOL),
          });
        }
      });
    }
  });

  it('drop path (student only) changes the step, draws the same masks for the same seed and step, others for another seed', async () => {
    const run = async (dropPath?: StudentDropPath) => {
      const { state, dispose } = makeState();
      const result = await trainStep({ ...state, ...(dropPath ? { dropPath } : {}) }, [batchOf(5, 4)], 1);
      const weights = [...state.student.variables().values()].map((v) => v.dataSync().slice() as Float32Array);
      dispose();
      tf.disposeVariables();
      return { result, weights };
    };
    const off = await run();
    const on = await run({ rate: 0.5, seed: 1 });
    const again = await run({ rate: 0.5, seed: 1 });
    const other = await run({ rate: 0.5, seed: 2 });
    expect(Math.abs(on.result.loss - off.result.loss)).toBeGreaterThan(1e-4);
    expect(again.result.loss).toBe(on.result.loss);
    again.weights.forEach((w, i) => expect(maxAbs(w, on.weights[i] as Float32Array)).toBe(0));
    expect(other.result.loss).not.toBe(on.result.loss);
    // the teacher never drops: its distribution (entropy) is the same with and without drop path
    const entropy = 'concept-distillation/teacherEntropy';
    expect(on.result.terms[entropy]).toBeTypeOf('number');
    expect(on.result.terms[entropy]).toBe(off.result.terms[entropy]);
  });

  it('splitting views into one-clip tower calls (maxClipsPerCall: 1) gives the same step', async () => {
    const a = makeState();
    const ra = await trainStep(a.state, [batch(7)], 0);
    const wa = [...a.state.student.variables().values()].map((v) => v.dataSync().slice());
    a.dispose();
    tf.disposeVariables();
    const b = makeState();
    const rb = await trainStep({ ...b.state, memory: { ...JOINT_PLAN, maxClipsPerCall: 1 } }, [batch(7)], 0);
    expect(rb.loss).toBeCloseTo(ra.loss, 4);
    const wb = [...b.state.student.variables().values()].map((v) => v.dataSync());
    wa.forEach((x, i) => {
      const y = wb[i] as Float32Array;
      let worst = 0;
      for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs((x[j] as number) - (y[j] as number)));
      expect(worst).toBeLessThan(WEIGHT_TOL);
    });
    b.dispose();
  });

  it('throws NonFiniteLossError naming the term, and applies no update', async () => {
    const nanObjective: Objective = {
      id: 'broken',
      terms: (inputs) => ({ loss: tf.mul(tf.mean(inputs.student.category?.[0] as tf.Tensor), Number.NaN) as tf.Scalar }),
      dispose: () => undefined,
    };
    const { state, dispose } = makeState([
      ...createObjectives([{ name: 'uniform-prior', spaces: ['category'] }]),
      { objective: nanObjective, weight: 1 },
    ]);
    const before = [...state.student.variables().values()].map((v) => v.dataSync().slice());
    const tensorsBefore = tf.memory().numTensors;
    const error = await trainStep(state, [batch(1)], 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as NonFiniteLossError).message).toMatch(/broken\/loss = NaN/);
    expect((error as NonFiniteLossError).terms['uniform-prior/loss']).toSatisfy(Number.isFinite);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const after = [...state.student.variables().values()].map((v) => v.dataSync());
    before.forEach((x, i) => expect(Array.from(after[i] as Float32Array)).toEqual(Array.from(x)));
    expect(state.optimizer.iterations).toBe(0);
    dispose();
  });

  it('a non-finite gradient norm with a finite loss is a NonFiniteLossError before any update', async () => {
    // Finite loss, infinite gradient: an objective whose backward returns Infinity.
    const infiniteGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
      value: tf.mul(tf.mean(args[0] as tf.Tensor), 0) as tf.Scalar,
      gradFunc: (dy: tf.Tensor) => tf.mul(tf.onesLike(args[0] as tf.Tensor), tf.mul(dy, Number.POSITIVE_INFINITY)),
    }));
    const singular: Objective = {
      id: 'singular',
      terms: (inputs) => ({ loss: infiniteGradient(inputs.student.category?.[0] as tf.Tensor) as tf.Scalar }),
      dispose: () => undefined,
    };
    for (const memory of [JOINT_PLAN, LOW_MEMORY_PLAN]) {
      const { state, dispose } = makeState([
        ...createObjectives([{ name: 'uniform-prior', spaces: ['category'] }]),
        { objective: singular, weight: 1 },
      ]);
      const student = [...state.student.variables().values()].map((v) => v.dataSync().slice());
      const teacher = [...state.teacher.variables().values()].map((v) => v.dataSync().slice());
      const tensorsBefore = tf.memory().numTensors;
      const error = await trainStep({ ...state, memory }, [batch(1)], 0).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonFiniteLossError);
      expect((error as NonFiniteLossError).message).toMatch(/Non-finite gradient at step 0 .*gradient norm (Infinity|NaN)/);
      expect((error as NonFiniteLossError).terms['singular/loss']).toBeCloseTo(0, 12);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      expect(state.optimizer.iterations).toBe(0);
      [...state.student.variables().values()].forEach((v, i) =>
        expect(Array.from(v.dataSync())).toEqual(Array.from(student[i] as Float32Array)),
      );
      [...state.teacher.variables().values()].forEach((v, i) =>
        expect(Array.from(v.dataSync())).toEqual(Array.from(teacher[i] as Float32Array)),
      );
      dispose();
      tf.disposeVariables();
    }
  });

  it('clips each parameter tensor on its own (per-parameter) and passes one factor per tensor to AdamW', async () => {
    const optimizer = new RecordingAdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const { state, dispose } = makeState(undefined, optimizer);
    await trainStep({ ...state, clipping: { mode: 'per-parameter', maxNorm: 1e-3 } }, [batch(3)], 0);
    const seen = optimizer.seen[0] as { grads: Map<string, Float32Array>; gradScale: ReadonlyMap<string, number> };
    let clipped = 0;
    for (const [k, g] of seen.grads) {
      const norm = Math.sqrt(g.reduce((a, x) => a + x * x, 0));
      expect(seen.gradScale.get(k)).toBeCloseTo(Math.min(1, 1e-3 / (norm + 1e-6)), 6);
      if ((seen.gradScale.get(k) as number) < 1) clipped += 1;
    }
    expect(clipped).toBeGreaterThan(1);
    expect(new Set(seen.gradScale.values()).size).toBeGreaterThan(2); // not one global factor
    dispose();
  });

  it("drops the objectives' frozen variables: dino's last layer gets no update in epoch 0, then does", async () => {
    const dino = createObjectives([
      { name: 'dino', inputDim: TINY_VIDEO_VIT.embedDim, hiddenDim: 8, bottleneckDim: 4, outDim: 10, headInput: 'embedding' },
    ]);
    const { state, dispose } = makeState(dino); // 4 steps per epoch, 2 epochs
    const last = () => (dino[0]?.objective.trainableVariables?.() ?? []).find((v) => v.name.endsWith('lastLayer/kernel')) as tf.Variable;
    const first = () => (dino[0]?.objective.trainableVariables?.() ?? [])[0] as tf.Variable;
    const [last0, first0] = [last().dataSync().slice(), first().dataSync().slice()];
    for (let step = 0; step < 4; step++) await trainStep(state, [batch(step)], step);
    expect(Array.from(last().dataSync())).toEqual(Array.from(last0)); // frozen through epoch 0
    expect(maxAbs(first().dataSync() as Float32Array, first0 as Float32Array)).toBeGreaterThan(0);
    await trainStep(state, [batch(4)], 4); // epoch 1
    expect(maxAbs(last().dataSync() as Float32Array, last0 as Float32Array)).toBeGreaterThan(0);
    dispose();
  });

  describe('per-view backward (GradCache, the low-memory plan)', () => {
    const dinoObjectives = () =>
      createObjectives([
        { name: 'dino', inputDim: TINY_VIDEO_VIT.width, hiddenDim: 8, bottleneckDim: 4, outDim: 10, freezeLastLayerEpochs: 0 },
      ]);
    const lssObjectives = () =>
      createObjectives([{ name: 'concept-distillation' }, { name: 'concept-alignment' }, { name: 'uniform-prior' }]);

    /** The gradients AdamW receives in step 0 and the step result, for one mode. */
    async function gradientsOf(objectives: ReturnType<typeof lssObjectives>, options: Partial<MemoryPlan>, batches: HostBatch[]) {
      const optimizer = new RecordingAdamW({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
      const { state, dispose } = makeState(objectives, optimizer);
      const memory: MemoryPlan = { ...(options.backward === 'per-view' ? LOW_MEMORY_PLAN : JOINT_PLAN), ...options };
      const result = await trainStep({ ...state, memory }, batches, 0);
      const expectedKeys = [...optimizedVariables(state.student, state.objectives).keys()].sort();
      const seen = optimizer.seen[0] as { grads: Map<string, Float32Array>; gradScale: ReadonlyMap<string, number> };
      dispose();
      tf.disposeVariables();
      return { result, seen, expectedKeys };
    }

    it('gives the joint gradient for every variable (concept distillation + alignment + prior, recompute, 2 micro-batches)', async () => {
      const batches = [batch(11), batch(12)];
      const joint = await gradientsOf(lssObjectives(), { recompute: true }, batches);
      const viewwise = await gradientsOf(lssObjectives(), { recompute: true, backward: 'per-view' }, batches);
      expect([...viewwise.seen.grads.keys()].sort()).toEqual(viewwise.expectedKeys);
      expect(viewwise.expectedKeys.some((k) => k.startsWith('teacher/'))).toBe(false);
      expectSameGradients(viewwise.seen.grads, joint.seen.grads);
      for (const [k, x] of joint.seen.gradScale) expect(viewwise.seen.gradScale.get(k)).toBeCloseTo(x, 6);
      expectCloseRel(viewwise.result.loss, joint.result.loss);
      expect(viewwise.result.gradNorm).toBeCloseTo(joint.result.gradNorm, 4);
      for (const [k, v] of Object.entries(joint.result.terms)) expectCloseRel(viewwise.result.terms[k] as number, v);
    });

    it('gives the joint gradient with dino (head variables through the small tape) and one clip per call', async () => {
      const joint = await gradientsOf(dinoObjectives(), {}, [batch(13)]);
      const viewwise = await gradientsOf(dinoObjectives(), { backward: 'per-view', maxClipsPerCall: 1 }, [batch(13)]);
      expect([...viewwise.seen.grads.keys()].sort()).toEqual(viewwise.expectedKeys);
      expect(viewwise.expectedKeys.some((k) => k.startsWith('objectives/'))).toBe(true);
      expectSameGradients(viewwise.seen.grads, joint.seen.grads);
      expectCloseRel(viewwise.result.loss, joint.result.loss);
    });

    it('moves the teacher by EMA only, leaks nothing, and stops on a non-finite loss without updating', async () => {
      const { state, dispose } = makeState();
      const viewwise = { ...state, memory: LOW_MEMORY_PLAN };
      await trainStep(viewwise, [batch(1)], 0);
      const teacherBefore = [...state.teacher.variables().values()].map((v) => v.dataSync().slice());
      const studentBefore = new Map([...relativeVariables(state.student)].map(([k, v]) => [k, v.dataSync().slice()]));
      await expectNoLeaksAsync(() => trainStep(viewwise, [batch(2), batch(3)], 1));
      // teacher_new = m * teacher + (1 - m) * student_new: no gradient step on the teacher.
      const m = state.schedules.teacherMomentum[1] as number;
      const rel = relativeVariables(state.student);
      [...relativeVariables(state.teacher)].forEach(([k, t], j) => {
        const t0 = teacherBefore[j] as Float32Array;
        const s1 = (rel.get(k) as tf.Variable).dataSync();
        const t1 = t.dataSync();
        for (let i = 0; i < t1.length; i += Math.max(1, Math.floor(t1.length / 5))) {
          expect(t1[i]).toBeCloseTo(m * (t0[i] as number) + (1 - m) * (s1[i] as number), 5);
        }
      });
      expect([...rel].some(([k, v]) => v.dataSync().some((x, i) => x !== (studentBefore.get(k) as Float32Array)[i]))).toBe(true);
      dispose();

      const nanObjective: Objective = {
        id: 'broken',
        terms: (inputs) => ({ loss: tf.mul(tf.mean(inputs.student.category?.[0] as tf.Tensor), Number.NaN) as tf.Scalar }),
        dispose: () => undefined,
      };
      const broken = makeState([
        ...createObjectives([{ name: 'uniform-prior', spaces: ['category'] }]),
        { objective: nanObjective, weight: 1 },
      ]);
      const before = [...broken.state.student.variables().values()].map((v) => v.dataSync().slice());
      const tensorsBefore = tf.memory().numTensors;
      const error = await trainStep({ ...broken.state, memory: LOW_MEMORY_PLAN }, [batch(1)], 0).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(NonFiniteLossError);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      const after = [...broken.state.student.variables().values()].map((v) => v.dataSync());
      before.forEach((x, i) => expect(Array.from(after[i] as Float32Array)).toEqual(Array.from(x)));
      broken.dispose();
    });
  });
});
