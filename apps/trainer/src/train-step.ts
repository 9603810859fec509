/**
 * One LSS optimizer step (SPEC.md sections 3-4; house style 4.8):
 *
 * 1. teacher on the global views of the WHOLE optimizer batch (every micro-batch), outside any
 *    gradient tape (tfjs has no stopGradient on a model; running the teacher outside the tape is our
 *    detach, as DINO's `requires_grad = False`), scores in the category and description spaces;
 * 2. student on every view (with drop path when `state.dropPath` is set: one seed per clip of the optimizer
 *    batch, so every forward of a clip draws the same masks) and the objectives' weighted terms
 *    (`sumLossTerms`) on the whole batch,
 *    so batch statistics (the uniform prior's `p̄`, a centre) are those of the optimizer batch, as
 *    open_clip's `accum_freq` does: with one micro-batch and the `joint` memory plan this is one tape;
 *    otherwise the student embeds every micro-batch without a tape, the loss gives `dL/df` for each
 *    embedding, and each micro-batch (or view, or clip) is backpropagated with `dL/df` held constant
 *    (GradCache, Gao et al. 2021). Every path gives the gradient of the same whole-batch loss;
 * 3. a non-finite loss or gradient norm stops the step before any update (`NonFiniteLossError`);
 * 4. clipping (per parameter tensor as DINO/SVT, or global), the objectives' frozen variables dropped
 *    (DINO's last layer in epoch 0), AdamW with the step's learning rate and weight decay;
 * 5. EMA teacher update with the step's momentum; objectives' `afterStep` (centres) with the teacher
 *    outputs of the whole batch.
 *
 * Data parallel (`state.dataParallel`, PyTorch DDP semantics with DINO's global batch statistics): each rank
 * embeds only its own clips; the embeddings of every view (teacher and student, `[B_local, E]` each, small) are
 * gathered from all ranks into the global batch's order, so every rank computes the same whole-global-batch
 * loss (the uniform prior's `p̄`, the centres: over the global batch, as DINO's all-reduced centre). Each rank
 * backpropagates only its own rows, the student gradients are summed over ranks (one bucketed all-reduce per
 * step), before the norm, clipping and AdamW; the gradients of objective-owned variables, which every rank
 * computed in full, are averaged in the same all-reduce. Every rank then applies the same update, EMA and centres.
 *
 * Batches arrive as host data (`HostVideo`: Float32Array + shape) and become tensors inside the tidy
 * of the step, so nothing the data pipeline creates outlives a step.
 */

import { projectOntoConcepts } from '@lss/concepts';
import { autograd, hashString, NonFiniteLossError } from '@lss/core';
import type { BatchMean, ConceptScores, ConceptSpace, ObjectiveInputs, WeightedObjective } from '@lss/objectives';
import { sumLossTerms } from '@lss/objectives';
import * as tf from '@tensorflow/tfjs-core';
import { updateTeacher } from './ema.js';
import { JOINT_PLAN, type MemoryPlan } from './memory-plan.js';
import type { AdamW } from './optim/adamw.js';
import { clipScales, type GradientClipping, gradientNorms, normOfNorms } from './optim/clip.js';
import type { Schedules } from './schedules.js';

/** A batch as host data: one `[B, T, H, W, 3]` array per view, global views first (`@lss/data` `VideoBatch`). */
export interface HostBatch {
  readonly views: readonly { readonly data: Float32Array; readonly shape: readonly number[] }[];
  readonly numGlobalViews: number;
}

/** What the trainer needs from a video tower (`@lss/backbone` `VisionTower` satisfies it through `towerFromVision`). */
export interface VideoTower {
  /** Role root of the variables (`student`, `teacher`); variable paths are `<root>/<relative path>`. */
  readonly root: string;
  /** Width E of the output embedding. */
  readonly embedDim: number;
  /**
   * Input `[B, T, H, W, 3]` (CLIP-normalised), output `[B, E]`, or `[B, E + W]` with `output: 'both'`
   * (the embedding, then the class token before the projection). `dropPath` (stochastic depth, training
   * only): the last block's rate and one seed per clip (`@lss/backbone` `DropPathOptions`).
   */
  call(video: tf.Tensor, options?: TowerCallOptions): tf.Tensor2D;
  /** Every variable by full path, in a stable order. */
  variables(): Map<string, tf.Variable>;
  dispose(): void;
}

/** Options of a tower forward in the step. */
export interface TowerCallOptions {
  readonly training?: boolean;
  readonly recompute?: boolean;
  /** `'both'`: the embedding and the class token (for objectives with `needsClassTokens`). Default `'embedding'`. */
  readonly output?: 'embedding' | 'both';
  readonly dropPath?: { readonly rate: number; readonly seeds: readonly number[] };
}

/**
 * Stochastic depth of the student (`model.dropPathRate`; timm / DINO drop path, rate linear over depth
 * up to `rate`). Each clip's masks come from `hashString('drop-path/<step>/<view>/<row>', seed)`, `row`
 * its index in the optimizer batch: the same in every micro-batch split, chunk and recomputation, and
 * in a resumed run. The teacher never drops.
 */
export interface StudentDropPath {
  readonly rate: number;
  readonly seed: number;
}

/** Concept-space tensors, built once per run (owned by the run, disposed at its end). */
export interface ConceptTensors {
  /** Unit-norm `[K, D]` per space. */
  readonly spaces: Readonly<Partial<Record<ConceptSpace, tf.Tensor2D>>>;
  /** Relation `M [K_cat, K_desc]` (0/1), when the description space is present. */
  readonly relation?: tf.Tensor2D;
}

export interface TrainState {
  readonly student: VideoTower;
  readonly teacher: VideoTower;
  readonly objectives: readonly WeightedObjective[];
  readonly optimizer: AdamW;
  readonly schedules: Schedules;
  readonly concepts: ConceptTensors;
  /** Gradient clipping (SVT: per parameter tensor, max norm 3); null turns it off. */
  readonly clipping: GradientClipping | null;
  /** Where activations and gradients live (`memoryPlanFor(tf.getBackend())`); default {@link JOINT_PLAN}. */
  readonly memory?: MemoryPlan;
  /** Turns local batch statistics into global-batch ones (distributed training); identity when absent. */
  readonly batchMean?: BatchMean;
  /** Drop path on the student's training forwards; absent or rate 0: off. */
  readonly dropPath?: StudentDropPath;
  /** Set in a data-parallel job: this rank, the world size and the collectives (`@lss/distributed` `ProcessGroup`). */
  readonly dataParallel?: DataParallel;
  /** Called after each phase of the step (teacher, each view's forward/backward, update), e.g. to log memory. */
  readonly trace?: (phase: string) => void;
}

/**
 * What a data-parallel step needs from a process group (`@lss/distributed`'s `ProcessGroup` satisfies it).
 * The batch of a rank holds the global batch's rows `j * worldSize + rank` (`StepPlanner.globalRow`).
 */
export interface DataParallel {
  readonly rank: number;
  readonly worldSize: number;
  /** Sums arrays over ranks in place, blocking (small arrays: embeddings inside a gradient tape). */
  allReduceSync(arrays: Float32Array[], op?: 'sum'): void;
  /** Sums arrays over ranks in place, bucketed (gradients). */
  allReduce(arrays: Float32Array[], op?: 'sum'): Promise<void>;
}

export interface StepResult {
  /** Weighted total loss of the whole optimizer batch. */
  readonly loss: number;
  /** Every objective's terms, `<id>/<term>`, on the whole optimizer batch. */
  readonly terms: Readonly<Record<string, number>>;
  /** Global L2 norm of the gradient before clipping. */
  readonly gradNorm: number;
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly teacherMomentum: number;
  /** Clips in the step (all micro-batches, all ranks). */
  readonly numClips: number;
}

/** Schedule values and position of one step. */
interface StepTime {
  readonly step: number;
  readonly epoch: number;
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly teacherMomentum: number;
}

/** Per-view embeddings of a tower and their concept scores, for the whole optimizer batch. */
interface Embedded {
  readonly features: tf.Tensor2D[];
  /** Class tokens before the projection, `[B, W]` per view, when an objective needs them. */
  readonly classTokens?: tf.Tensor2D[];
  readonly scores: ConceptScores;
}

/** A gradient map keyed by checkpoint path, the whole batch's loss and its terms (read to the host). */
interface BatchGradients {
  readonly grads: tf.NamedTensorMap;
  readonly loss: number;
  readonly terms: Record<string, number>;
}

/**
 * One optimizer step over `microBatches` (together: the optimizer batch). Throws
 * {@link NonFiniteLossError} naming the non-finite terms or gradients before anything is updated.
 *
 * @param step Global optimizer step (0-based); indexes the schedules.
 */
export async function trainStep(state: TrainState, microBatches: readonly HostBatch[], step: number): Promise<StepResult> {
  const time = stepTime(state.schedules, microBatches, step);
  const variables = optimizedVariables(state.student, state.objectives);
  const numGlobalViews = (microBatches[0] as HostBatch).numGlobalViews;

  // 1. Teacher on the whole batch, no tape.
  const teacher = embedTeacher(state, microBatches);
  try {
    // 2-3. Student, loss on the whole batch, gradients (strategy from the memory plan).
    const { grads, loss, terms } = await batchGradients(state, microBatches, teacher, time, variables);
    let gradNorm: number;
    try {
      if (state.dataParallel) await allReduceGradients(state.dataParallel, grads, new Set(state.student.variables().keys()));
      // 4. Clip, drop frozen variables, update.
      const norms = await gradientNorms(grads);
      gradNorm = normOfNorms(norms.values());
      throwIfNonFiniteGradients(norms, gradNorm, time.step, loss, terms);
      const scales = clipScales(norms, state.clipping);
      for (const path of frozenPaths(state.objectives, time, variables)) {
        grads[path]?.dispose();
        delete grads[path];
      }
      state.optimizer.step(variables, grads, { learningRate: time.learningRate, weightDecay: time.weightDecay, gradScale: scales });
      state.trace?.('optimizer');
    } finally {
      tf.dispose(Object.values(grads));
    }

    // 5. EMA teacher, then the objectives' state (centres) from the whole batch's teacher outputs.
    updateTeacher(relativeVariables(state.student), relativeVariables(state.teacher), time.teacherMomentum);
    for (const { objective } of state.objectives) {
      objective.afterStep?.({
        teacher: teacher.scores,
        teacherFeatures: teacher.features,
        ...(teacher.classTokens ? { teacherClassTokens: teacher.classTokens } : {}),
        numGlobalViews,
        teacherMomentum: time.teacherMomentum,
        step: time.step,
        epoch: time.epoch,
        ...(state.batchMean ? { batchMean: state.batchMean } : {}),
      });
    }
    const numClips = microBatches.reduce((n, b) => n + rowsOf(b), 0) * (state.dataParallel?.worldSize ?? 1);
    const { learningRate, weightDecay, teacherMomentum } = time;
    return { loss, terms, gradNorm, learningRate, weightDecay, teacherMomentum, numClips };
  } finally {
    disposeEmbedded(teacher);
  }
}

/** Checks the step and the micro-batches, and reads the schedules at `step`. */
function stepTime(schedules: Schedules, microBatches: readonly HostBatch[], step: number): StepTime {
  if (microBatches.length === 0) throw new RangeError('trainStep needs at least one micro-batch.');
  if (step < 0 || step >= schedules.totalSteps) {
    throw new RangeError(`trainStep: step ${step} is outside the schedules (0..${schedules.totalSteps - 1}).`);
  }
  const first = microBatches[0] as HostBatch;
  for (const b of microBatches) {
    if (b.numGlobalViews !== first.numGlobalViews || b.views.length !== first.views.length) {
      throw new RangeError(
        `trainStep: micro-batches differ in views (${b.views.length} views, ${b.numGlobalViews} global vs ${first.views.length}, ${first.numGlobalViews}); every micro-batch of a step must have the same views.`,
      );
    }
  }
  return {
    step,
    epoch: step / schedules.stepsPerEpoch,
    learningRate: schedules.learningRate[step] as number,
    weightDecay: schedules.weightDecay[step] as number,
    teacherMomentum: schedules.teacherMomentum[step] as number,
  };
}

/**
 * The gradient of the whole batch's loss for every optimized variable. One tape when the memory plan is
 * `joint` and there is one micro-batch (the plain step); GradCache across micro-batches (and views, with
 * the per-view plan) otherwise. Both give the same gradient (tested).
 */
function batchGradients(
  state: TrainState,
  microBatches: readonly HostBatch[],
  teacher: Embedded,
  time: StepTime,
  variables: ReadonlyMap<string, tf.Variable>,
): Promise<BatchGradients> {
  const plan = state.memory ?? JOINT_PLAN;
  if (plan.backward === 'joint' && microBatches.length === 1) {
    return jointGradients(state, microBatches[0] as HostBatch, teacher, time, variables);
  }
  return cachedGradients(state, microBatches, teacher, time, variables);
}

/** The plain step: the student forward on every view and the loss inside one tape. */
async function jointGradients(
  state: TrainState,
  batch: HostBatch,
  teacher: Embedded,
  time: StepTime,
  variables: ReadonlyMap<string, tf.Variable>,
): Promise<BatchGradients> {
  const plan = state.memory ?? JOINT_PLAN;
  let terms: Record<string, tf.Scalar> = {};
  const { value, grads } = autograd.variableGrads(() => {
    const views = batch.views.map(viewToTensor);
    const drop = studentDropPath(state, time.step, (w) => w, 0, rowsOf(batch));
    const local = embedViews(state.student, views, studentOptions(state, plan.recompute), plan.maxClipsPerCall, drop);
    const features = state.dataParallel ? gatherRows(state.dataParallel, local) : local; // gradient flows to the local rows
    const result = objectiveLoss(state, features, teacher, batch.numGlobalViews, time);
    terms = result.terms;
    return result.total;
  }, [...variables.values()]);
  const byPath = renameToPaths(grads, variables);
  try {
    return { grads: byPath, ...(await readLoss(value, terms, time.step)) };
  } catch (error) {
    tf.dispose(Object.values(byPath));
    throw error;
  }
}

/**
 * GradCache over the whole optimizer batch: (a) the student embeds every view of every micro-batch
 * without a tape, keeping only `f [B_total, E]` per view; (b) the loss on the whole batch and
 * `dL/df` (and the gradients of objective-owned variables) come from a small tape whose inputs are the
 * `f`; (c) each micro-batch (per-view plan: each view, each chunk of `maxClipsPerCall` clips) is
 * embedded again under `tf.variableGrads(() => Σ f · dL/df)`, and its gradients are summed (on the
 * host with `hostGradients`). Costs one extra student forward.
 */
async function cachedGradients(
  state: TrainState,
  microBatches: readonly HostBatch[],
  teacher: Embedded,
  time: StepTime,
  variables: ReadonlyMap<string, tf.Variable>,
): Promise<BatchGradients> {
  const plan = state.memory ?? JOINT_PLAN;
  const studentPaths = new Set(state.student.variables().keys());
  const studentVars = [...variables].filter(([path]) => studentPaths.has(path)).map(([, v]) => v);
  const objectiveVars = [...variables].filter(([path]) => !studentPaths.has(path)).map(([, v]) => v);
  const sum = new GradientSum(plan.hostGradients, variables);
  let features: tf.Tensor2D[] = [];
  let cotangents: (tf.Tensor | undefined)[] = [];
  try {
    // (a) Every view's embedding over the whole batch, no tape.
    let start = 0;
    features = concatPerView(
      microBatches.map((b) => {
        const offset = start;
        start += rowsOf(b);
        const drop = studentDropPath(state, time.step, (w) => w, offset, rowsOf(b));
        return embedNoTape(state, state.student, b.views, studentOptions(state, false), drop);
      }),
    );
    if (state.dataParallel) features = gatheredAndDisposed(state.dataParallel, features); // the global batch
    // (b) Whole-batch loss, dL/df per view and the objectives' own gradients.
    let terms: Record<string, tf.Scalar> = {};
    const { value, grads } = tf.engine().gradients(
      () => {
        const result = objectiveLoss(state, features, teacher, (microBatches[0] as HostBatch).numGlobalViews, time);
        terms = result.terms;
        return result.total;
      },
      [...features, ...objectiveVars],
      undefined,
      true,
    );
    cotangents = grads.slice(0, features.length);
    if (state.dataParallel) cotangents = localCotangents(state.dataParallel, cotangents); // this rank's rows of dL/df
    objectiveVars.forEach((v, i) => {
      const g = grads[features.length + i];
      if (g) sum.addByName(v.name, g);
    });
    const loss = await readLoss(value as tf.Scalar, terms, time.step); // stops here, before the expensive part
    state.trace?.('loss and dL/df');
    // (c) Backward per micro-batch (and view and clip chunk), dL/df held constant.
    let offset = 0;
    for (const batch of microBatches) {
      for (const chunk of backwardChunks(batch, plan, cotangents)) {
        const { value: dot, grads: g } = autograd.variableGrads(() => {
          const inputs = chunk.views.map((w) =>
            sliceRows(viewToTensor(batch.views[w] as HostBatch['views'][number]), chunk.start, chunk.count),
          );
          const drop = studentDropPath(state, time.step, (i) => chunk.views[i] as number, offset + chunk.start, chunk.count);
          const f = embedViews(state.student, inputs, studentOptions(state, plan.recompute), plan.maxClipsPerCall, drop);
          const dots = f.map((fw, i) => {
            const dy = cotangents[chunk.views[i] as number] as tf.Tensor;
            return tf.sum(tf.mul(fw, tf.slice(dy, [offset + chunk.start, 0], [chunk.count, -1]))); // [n, E] · [n, E]
          });
          return tf.addN(dots) as tf.Scalar;
        }, studentVars);
        dot.dispose();
        for (const [name, grad] of Object.entries(g)) sum.addByName(name, grad);
        state.trace?.(
          `student backward, views ${chunk.views.join(',')}, clips ${offset + chunk.start}..${offset + chunk.start + chunk.count - 1}`,
        );
      }
      offset += rowsOf(batch);
    }
    return { grads: sum.toDevice(), ...loss };
  } catch (error) {
    sum.dispose();
    throw error;
  } finally {
    tf.dispose(features);
    tf.dispose(cotangents.filter((c): c is tf.Tensor => c !== undefined));
  }
}

/** The pieces one micro-batch is backpropagated in: all views at once (joint), or one view and clip chunk at a time. */
function backwardChunks(
  batch: HostBatch,
  plan: MemoryPlan,
  cotangents: readonly (tf.Tensor | undefined)[],
): { views: number[]; start: number; count: number }[] {
  const rows = rowsOf(batch);
  const reached = batch.views.map((_, w) => w).filter((w) => cotangents[w] !== undefined); // views that reach the loss
  if (plan.backward === 'joint') return reached.length === 0 ? [] : [{ views: reached, start: 0, count: rows }];
  const chunks: { views: number[]; start: number; count: number }[] = [];
  for (const w of reached) {
    for (let start = 0; start < rows; start += plan.maxClipsPerCall) {
      chunks.push({ views: [w], start, count: Math.min(plan.maxClipsPerCall, rows - start) });
    }
  }
  return chunks;
}

/** The teacher's embeddings and scores of the global views of every micro-batch, concatenated along the batch axis. */
function embedTeacher(state: TrainState, microBatches: readonly HostBatch[]): Embedded {
  const options: TowerCallOptions = { training: false, output: needsClassTokens(state) ? 'both' : 'embedding' };
  const perBatch = microBatches.map((b) => embedNoTape(state, state.teacher, b.views.slice(0, b.numGlobalViews), options));
  let outputs = concatPerView(perBatch);
  if (state.dataParallel) outputs = gatheredAndDisposed(state.dataParallel, outputs); // the global batch's teacher outputs
  let features = outputs;
  let classTokens: tf.Tensor2D[] | undefined;
  if (options.output === 'both') {
    const parts = outputs.map((f) => splitClassToken(f, state.teacher.embedDim));
    tf.dispose(outputs);
    features = parts.map(([embedding]) => embedding);
    classTokens = parts.map(([, token]) => token);
  }
  const scores = tf.tidy(() => scoreViews(features, state.concepts) as unknown as tf.TensorContainerObject) as unknown as ConceptScores;
  state.trace?.('teacher forward');
  return { features, ...(classTokens ? { classTokens } : {}), scores };
}

/** Whether an objective reads the class tokens (dino with `headInput: 'class-token'`). */
function needsClassTokens(state: TrainState): boolean {
  return state.objectives.some(({ objective }) => objective.needsClassTokens === true);
}

/** The student's training-forward options (the class token too when an objective needs it). */
function studentOptions(state: TrainState, recompute: boolean): TowerCallOptions {
  return { training: true, recompute, output: needsClassTokens(state) ? 'both' : 'embedding' };
}

/** `[B, E + W]` (output `'both'`) → the embedding `[B, E]` and the class token `[B, W]`. */
function splitClassToken(f: tf.Tensor2D, embedDim: number): [tf.Tensor2D, tf.Tensor2D] {
  const width = (f.shape[1] as number) - embedDim;
  return tf.split(f, [embedDim, width], 1) as [tf.Tensor2D, tf.Tensor2D];
}

/**
 * A tower's embedding of each host view, outside any tape (each block's activations are freed at
 * once). With the per-view plan, one view at a time is uploaded, embedded and freed.
 */
function embedNoTape(
  state: TrainState,
  tower: VideoTower,
  views: HostBatch['views'],
  options: TowerCallOptions,
  drop?: ViewsDropPath,
): tf.Tensor2D[] {
  const plan = state.memory ?? JOINT_PLAN;
  if (plan.backward === 'per-view') {
    return views.map((v, w) =>
      tf.tidy(() => {
        const one = drop && { rate: drop.rate, seedsOf: () => drop.seedsOf(w) };
        return embedViews(tower, [viewToTensor(v)], options, plan.maxClipsPerCall, one)[0] as tf.Tensor2D;
      }),
    );
  }
  return tf.tidy(() => embedViews(tower, views.map(viewToTensor), options, plan.maxClipsPerCall, drop));
}

/** Drop path for a list of views: the rate and the seeds of the rows of the `i`-th view of the list. */
interface ViewsDropPath {
  readonly rate: number;
  seedsOf(i: number): number[];
}

/**
 * The student's drop path for a list of views of the optimizer batch at `step` (undefined when off):
 * the `i`-th view of the list is view `viewOf(i)` of the batch, local rows `start .. start + count − 1`;
 * each row's seed is `hashString('drop-path/<step>/<view>/<row>', seed)` with `row` its index in the
 * global batch (see {@link StudentDropPath}).
 */
function studentDropPath(
  state: TrainState,
  step: number,
  viewOf: (i: number) => number,
  start: number,
  count: number,
): ViewsDropPath | undefined {
  const dropPath = state.dropPath;
  if (!dropPath || dropPath.rate === 0) return undefined;
  // the row's index in the global batch (data parallel: local row j of rank r is global row j * W + r, as gatherRows orders them)
  const dp = state.dataParallel;
  const row = (local: number) => (dp ? local * dp.worldSize + dp.rank : local);
  return {
    rate: dropPath.rate,
    seedsOf: (i) => Array.from({ length: count }, (_, r) => hashString(`drop-path/${step}/${viewOf(i)}/${row(start + r)}`, dropPath.seed)),
  };
}

/**
 * Every rank's rows of each view's `[B_local, E]` embedding, in the global batch's order (`[B_local * W, E]`;
 * global row `j * W + r` is rank r's row j), through one blocking sum all-reduce of a zero-filled buffer
 * (exact: every entry is one rank's value plus zeros). Inside a tape the gradient flows to this rank's rows
 * only (the others' rows are constants), as a rank of DDP backpropagates its own samples.
 */
function gatherRows(dp: DataParallel, local: readonly tf.Tensor2D[]): tf.Tensor2D[] {
  const W = dp.worldSize;
  const buffers = local.map((f) => {
    const [n, E] = f.shape;
    const rows = f.dataSync();
    const all = new Float32Array(n * W * E);
    for (let j = 0; j < n; j++) all.set(rows.subarray(j * E, (j + 1) * E), (j * W + dp.rank) * E);
    return all;
  });
  dp.allReduceSync(buffers, 'sum');
  return tf.tidy(() =>
    local.map((f, v) => {
      const [n, E] = f.shape;
      const all = tf.reshape(tf.tensor2d(buffers[v] as Float32Array, [n * W, E]), [n, W, E]); // row j*W + r -> [j, r]
      const perRank = Array.from({ length: W }, (_, r) => (r === dp.rank ? f : tf.reshape(tf.slice(all, [0, r, 0], [n, 1, E]), [n, E])));
      return tf.reshape(tf.stack(perRank, 1), [n * W, E]) as tf.Tensor2D; // slices and stacks only: every backend has their gradients
    }),
  );
}

/** {@link gatherRows} outside a tape; disposes the local tensors. */
function gatheredAndDisposed(dp: DataParallel, local: tf.Tensor2D[]): tf.Tensor2D[] {
  const out = gatherRows(dp, local);
  tf.dispose(local);
  return out;
}

/** This rank's rows (`j * W + rank`) of each global `dL/df`; disposes the global ones. */
function localCotangents(dp: DataParallel, global: (tf.Tensor | undefined)[]): (tf.Tensor | undefined)[] {
  const out = global.map((dy) => {
    if (!dy) return undefined;
    const n = (dy.shape[0] as number) / dp.worldSize;
    return tf.tidy(() =>
      tf.gather(
        dy,
        tf.tensor1d(
          Array.from({ length: n }, (_, j) => j * dp.worldSize + dp.rank),
          'int32',
        ),
      ),
    );
  });
  tf.dispose(global.filter((c): c is tf.Tensor => c !== undefined));
  return out;
}

/**
 * Sums the student gradients over ranks (each rank's holds its own rows' share of the global loss) and
 * averages the objective-owned variables' gradients (every rank computed them in full), in one bucketed
 * all-reduce, in place of `grads`. Every rank ends with the same gradients (PyTorch DDP's all-reduce).
 */
async function allReduceGradients(dp: DataParallel, grads: tf.NamedTensorMap, studentPaths: ReadonlySet<string>): Promise<void> {
  const paths = Object.keys(grads).sort();
  const host = await Promise.all(paths.map(async (p) => Float32Array.from(await (grads[p] as tf.Tensor).data())));
  paths.forEach((p, i) => {
    if (studentPaths.has(p)) return;
    const g = host[i] as Float32Array;
    for (let k = 0; k < g.length; k++) g[k] = (g[k] as number) / dp.worldSize;
  });
  await dp.allReduce(host, 'sum');
  paths.forEach((p, i) => {
    const old = grads[p] as tf.Tensor;
    grads[p] = tf.tensor(host[i] as Float32Array, old.shape, 'float32');
    old.dispose();
  });
}

/** Concatenates micro-batches' per-view tensors along the batch axis (disposes the parts). */
function concatPerView(perBatch: tf.Tensor2D[][]): tf.Tensor2D[] {
  if (perBatch.length === 1) return perBatch[0] as tf.Tensor2D[];
  const numViews = (perBatch[0] as tf.Tensor2D[]).length;
  const out = Array.from({ length: numViews }, (_, v) =>
    tf.concat(
      perBatch.map((parts) => parts[v] as tf.Tensor2D),
      0,
    ),
  );
  tf.dispose(perBatch.flat());
  return out;
}

/**
 * Runs a tower on every view. Views of the same shape are concatenated along the batch axis and go
 * through one call (or calls of at most `maxClipsPerCall` clips); the output is split back into one
 * `[B, E]` tensor per view, in view order. `drop`: the student's drop path, its seeds carried through
 * the concatenation and the chunks.
 */
function embedViews(
  tower: VideoTower,
  views: readonly tf.Tensor[],
  options: TowerCallOptions,
  maxClipsPerCall = Number.POSITIVE_INFINITY,
  drop?: ViewsDropPath,
): tf.Tensor2D[] {
  const groups = new Map<string, number[]>();
  views.forEach((v, i) => {
    const key = v.shape.slice(1).join('x');
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const out: tf.Tensor2D[] = new Array(views.length);
  for (const indices of groups.values()) {
    const batch =
      indices.length === 1
        ? (views[indices[0] as number] as tf.Tensor)
        : tf.concat(
            indices.map((i) => views[i] as tf.Tensor),
            0,
          ); // (v b) t h w c
    const rows = batch.shape[0] as number;
    const seeds = drop ? indices.flatMap((i) => drop.seedsOf(i)) : []; // (v b), one per row of `batch`
    const parts: tf.Tensor2D[] = [];
    for (let start = 0; start < rows; start += maxClipsPerCall) {
      const n = Math.min(maxClipsPerCall, rows - start);
      const dropPath = drop && { dropPath: { rate: drop.rate, seeds: seeds.slice(start, start + n) } };
      parts.push(tower.call(sliceRows(batch, start, n), { ...options, ...dropPath })); // [n, E]
    }
    const features = parts.length === 1 ? (parts[0] as tf.Tensor2D) : (tf.concat(parts, 0) as tf.Tensor2D); // [(v b), E]
    const split = indices.length === 1 ? [features] : tf.split(features, indices.length, 0); // v x [b, E]
    indices.forEach((viewIndex, k) => {
      out[viewIndex] = split[k] as tf.Tensor2D;
    });
  }
  return out;
}

/** The weighted objectives on the student embeddings of every view against the teacher's. */
function objectiveLoss(
  state: TrainState,
  features: tf.Tensor2D[],
  teacher: Embedded,
  numGlobalViews: number,
  time: StepTime,
): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
  const { objectives, concepts } = state;
  // with output 'both' each view is [B, E + W]: the embedding (scores, studentFeatures) and the class token
  const parts = teacher.classTokens ? features.map((f) => splitClassToken(f, state.student.embedDim)) : undefined;
  const embeddings = parts ? parts.map(([embedding]) => embedding) : features;
  const inputs: ObjectiveInputs = {
    student: scoreViews(embeddings, concepts),
    teacher: teacher.scores,
    numGlobalViews,
    ...(concepts.relation ? { relation: concepts.relation } : {}),
    studentFeatures: embeddings,
    teacherFeatures: teacher.features,
    ...(parts && teacher.classTokens
      ? { studentClassTokens: parts.map(([, token]) => token), teacherClassTokens: teacher.classTokens }
      : {}),
    step: time.step,
    epoch: time.epoch,
    ...(state.batchMean ? { batchMean: state.batchMean } : {}),
  };
  return sumLossTerms(objectives, inputs, { keepTerms: true });
}

/** Reads the total and the terms (one device sync), disposes them, and throws when one is not finite. */
async function readLoss(
  total: tf.Scalar,
  terms: Record<string, tf.Scalar>,
  step: number,
): Promise<{ loss: number; terms: Record<string, number> }> {
  const names = Object.keys(terms);
  let values: number[];
  try {
    const packed = tf.tidy(() => tf.stack([total, ...names.map((n) => terms[n] as tf.Scalar)]));
    values = Array.from(await packed.data());
    packed.dispose();
  } finally {
    tf.dispose([total, ...Object.values(terms)]);
  }
  const loss = values[0] as number;
  const termValues = Object.fromEntries(names.map((n, i) => [n, values[i + 1] as number]));
  const bad = Object.entries(termValues).filter(([, v]) => !Number.isFinite(v));
  if (!Number.isFinite(loss) || bad.length > 0) {
    throw new NonFiniteLossError(
      `Non-finite loss at step ${step}: ${bad.map(([n, v]) => `${n} = ${v}`).join(', ') || `total = ${loss}`}. ` +
        'The step was skipped (no update). Lower the learning rate, raise the temperatures, or check the input data.',
      step,
      { total: loss, ...termValues },
    );
  }
  return { loss, terms: termValues };
}

/** A non-finite gradient norm with a finite loss is reported like a non-finite loss, before any update. */
function throwIfNonFiniteGradients(
  norms: ReadonlyMap<string, number>,
  gradNorm: number,
  step: number,
  loss: number,
  terms: Record<string, number>,
): void {
  if (Number.isFinite(gradNorm)) return;
  const bad = [...norms].filter(([, n]) => !Number.isFinite(n));
  throw new NonFiniteLossError(
    `Non-finite gradient at step ${step} (loss ${loss} is finite): gradient norm ${gradNorm}; ` +
      `${bad.length} tensor(s) with a non-finite norm: ${bad
        .slice(0, 5)
        .map(([n, v]) => `${n} = ${v}`)
        .join(', ')}${bad.length > 5 ? ', ...' : ''}. ` +
      'The step was skipped (no update). Lower the learning rate, raise the temperatures, or check the objectives for a singular gradient.',
    step,
    { total: loss, ...terms, gradNorm },
  );
}

/** Checkpoint paths of the variables the objectives freeze at this step. */
function frozenPaths(objectives: readonly WeightedObjective[], time: StepTime, variables: ReadonlyMap<string, tf.Variable>): string[] {
  const frozen = new Set(objectives.flatMap(({ objective }) => (objective.frozenVariables?.(time) ?? []).map((v) => v.name)));
  return [...variables].filter(([, v]) => frozen.has(v.name)).map(([path]) => path);
}

/** Sums gradients keyed by checkpoint path, on the device or in host memory. */
class GradientSum {
  private readonly onDevice = new Map<string, tf.Tensor>();
  private readonly onHost = new Map<string, { shape: number[]; data: Float32Array }>();
  private readonly pathOfName: Map<string, string>;

  constructor(
    private readonly host: boolean,
    variables: ReadonlyMap<string, tf.Variable>,
  ) {
    this.pathOfName = new Map([...variables].map(([path, v]) => [v.name, path]));
  }

  /** Adds `g` (the gradient of variable `name`) and disposes it. */
  addByName(name: string, g: tf.Tensor): void {
    const path = this.pathOfName.get(name) ?? name;
    if (this.host) {
      const values = g.dataSync() as Float32Array;
      const slot = this.onHost.get(path);
      if (!slot) this.onHost.set(path, { shape: [...g.shape], data: Float32Array.from(values) });
      else for (let i = 0; i < slot.data.length; i++) slot.data[i] = (slot.data[i] as number) + (values[i] as number);
      g.dispose();
      return;
    }
    const previous = this.onDevice.get(path);
    if (!previous) this.onDevice.set(path, g);
    else {
      this.onDevice.set(
        path,
        tf.tidy(() => tf.add(previous, g)),
      );
      tf.dispose([previous, g]);
    }
  }

  /** The sums as device tensors (host sums are uploaded now, one variable at a time); the caller owns them. */
  toDevice(): tf.NamedTensorMap {
    const out: tf.NamedTensorMap = Object.fromEntries(this.onDevice);
    for (const [path, g] of this.onHost) out[path] = tf.tensor(g.data, g.shape, 'float32');
    this.onDevice.clear();
    this.onHost.clear();
    return out;
  }

  dispose(): void {
    tf.dispose([...this.onDevice.values()]);
    this.onDevice.clear();
    this.onHost.clear();
  }
}

/** Paths relative to the role root: `student/blocks/0/x` -> `blocks/0/x`. */
export function relativeVariables(tower: VideoTower): Map<string, tf.Variable> {
  const prefix = `${tower.root}/`;
  const out = new Map<string, tf.Variable>();
  for (const [path, v] of tower.variables()) {
    out.set(path.startsWith(prefix) ? path.slice(prefix.length) : path, v);
  }
  return out;
}

/**
 * Every variable the optimizer updates, keyed by checkpoint path: the student's trainable variables
 * (by full path) and the objectives' trainable variables (by their names, rooted at `objectives/`).
 */
export function optimizedVariables(student: VideoTower, objectives: readonly WeightedObjective[]): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  for (const [path, v] of student.variables()) if (v.trainable) out.set(path, v);
  for (const { objective } of objectives) {
    for (const v of objective.trainableVariables?.() ?? []) {
      if (out.has(v.name)) throw new Error(`Objective ${objective.id} owns a variable named ${v.name}, which is taken.`);
      out.set(v.name, v);
    }
  }
  return out;
}

/** `tf.variableGrads` names gradients by variable name; the optimizer keys them by checkpoint path. */
function renameToPaths(grads: tf.NamedTensorMap, variables: ReadonlyMap<string, tf.Variable>): tf.NamedTensorMap {
  const pathOfName = new Map([...variables].map(([path, v]) => [v.name, path]));
  return Object.fromEntries(Object.entries(grads).map(([name, g]) => [pathOfName.get(name) ?? name, g]));
}

/** Scores `normalize(f) · Cᵀ` per space for each view. */
function scoreViews(features: readonly tf.Tensor2D[], concepts: ConceptTensors): ConceptScores {
  const scores: Partial<Record<ConceptSpace, tf.Tensor2D[]>> = {};
  for (const [space, matrix] of Object.entries(concepts.spaces) as [ConceptSpace, tf.Tensor2D][]) {
    scores[space] = features.map((f) => projectOntoConcepts(f, matrix));
  }
  return scores;
}

/** One view of the batch as a tensor `[B, T, H, W, 3]`. */
function viewToTensor(view: HostBatch['views'][number]): tf.Tensor {
  return tf.tensor(view.data, [...view.shape], 'float32');
}

/** Rows `start .. start + count - 1` of `x` along the batch axis (`x` itself when that is all of it). */
function sliceRows<T extends tf.Tensor>(x: T, start: number, count: number): T {
  if (start === 0 && count === x.shape[0]) return x;
  return tf.slice(x, [start, ...x.shape.slice(1).map(() => 0)], [count, ...x.shape.slice(1).map(() => -1)]) as T;
}

function rowsOf(batch: HostBatch): number {
  return batch.views[0]?.shape[0] ?? 0;
}

function disposeEmbedded(e: Embedded): void {
  for (const list of Object.values(e.scores)) tf.dispose([...(list ?? [])]);
  tf.dispose([...e.features, ...(e.classTokens ?? [])]);
}
