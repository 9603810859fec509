/**
 * One LSS optimizer step (SPEC.md sections 3-4; house style 4.8), in the order that keeps memory and
 * gradients honest:
 *
 * 1. teacher forward on the global views OUTSIDE the gradient tape (tfjs has no stopGradient on a
 *    model; running the teacher before `variableGrads` is our detach, as DINO's `requires_grad = False`),
 *    scores in the category and description concept spaces;
 * 2. student forward on all views (global + local) inside `tf.variableGrads`, over the student's
 *    trainable variables plus objective-owned trainable ones (e.g. the dino head), listed explicitly;
 * 3. objectives' terms summed with their weights (`sumLossTerms`), every term kept for logging;
 * 4. micro-batches accumulated (mean of gradients), non-finite loss checked before any update,
 *    global-norm clipping, AdamW with the step's learning rate and weight decay;
 * 5. EMA teacher update with the step's momentum; objectives' `afterStep` with the teacher scores.
 *
 * Batches arrive as host data (`HostVideo`: Float32Array + shape) and become tensors inside the tidy
 * of the step, so nothing the data pipeline creates outlives a step.
 */

import { projectOntoConcepts } from '@lss/concepts';
import { NonFiniteLossError } from '@lss/core';
import type { AfterStepInputs, ConceptScores, ConceptSpace, ObjectiveInputs, WeightedObjective } from '@lss/objectives';
import { sumLossTerms } from '@lss/objectives';
import * as tf from '@tensorflow/tfjs-core';
import { updateTeacher } from './ema.js';
import type { AdamW } from './optim/adamw.js';
import { clipScale, globalNorm } from './optim/clip.js';
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
  /** Input `[B, T, H, W, 3]` (CLIP-normalised), output `[B, E]`. */
  call(video: tf.Tensor, options?: { training?: boolean; recompute?: boolean }): tf.Tensor2D;
  /** Every variable by full path, in a stable order. */
  variables(): Map<string, tf.Variable>;
  dispose(): void;
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
  readonly clipGradNorm: number | null;
  /** Recompute blocks in the backward pass (gradient checkpointing). */
  readonly recompute: boolean;
  /**
   * At most this many clips (views x batch) per tower call (default: all same-size views in one call).
   * 1 bounds the activation memory of a ViT-B/16 backward to one 8-frame clip (the 4 GiB wasm heap).
   */
  readonly maxClipsPerCall?: number;
  /**
   * Per-view backward (GradCache, Gao et al. 2021), default false (one joint tape over all views):
   * (1) the student embeds every view without a tape, keeping only `f_w [B, E]`; (2) the loss and
   * `dL/df_w` (and the gradients of objective-owned variables) come from a small tape whose inputs are
   * the `f_w`; (3) each view (and each chunk of `maxClipsPerCall` clips) is embedded again under
   * `tf.variableGrads(() => sum(f_w * dL/df_w))` over the student's variables, and its gradients are
   * added into host buffers before the next view starts. Mathematically the joint gradient; only one
   * clip's activations and one set of gradients are ever on the device. Costs one extra forward.
   */
  readonly viewwiseBackward?: boolean;
  /** Called after each phase of the step (teacher, each view's forward/backward, update), e.g. to log memory. */
  readonly trace?: (phase: string) => void;
}

export interface StepResult {
  /** Weighted total loss (mean over micro-batches). */
  readonly loss: number;
  /** Every objective's terms, `<id>/<term>`, mean over micro-batches. */
  readonly terms: Readonly<Record<string, number>>;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  readonly learningRate: number;
  readonly weightDecay: number;
  readonly teacherMomentum: number;
  /** Clips in the step (all micro-batches). */
  readonly numClips: number;
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

/**
 * Runs a tower on every view. Views of the same shape are concatenated along the batch axis and go
 * through one call; the output is split back into one `[B, E]` tensor per view, in view order.
 */
function embedViews(
  tower: VideoTower,
  views: readonly tf.Tensor[],
  options: { training?: boolean; recompute?: boolean },
  maxClipsPerCall = Number.POSITIVE_INFINITY,
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
    let features: tf.Tensor2D;
    if (rows <= maxClipsPerCall)
      features = tower.call(batch, options); // [(v b), E]
    else {
      const parts: tf.Tensor2D[] = [];
      for (let start = 0; start < rows; start += maxClipsPerCall) {
        const n = Math.min(maxClipsPerCall, rows - start);
        parts.push(tower.call(tf.slice(batch, [start, 0, 0, 0, 0], [n, -1, -1, -1, -1]), options)); // n t h w c -> [n, E]
      }
      features = tf.concat(parts, 0) as tf.Tensor2D; // [(v b), E]
    }
    const split = indices.length === 1 ? [features] : tf.split(features, indices.length, 0); // v x [b, E]
    indices.forEach((viewIndex, k) => {
      out[viewIndex] = split[k] as tf.Tensor2D;
    });
  }
  return out;
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

function toTensors(batch: HostBatch): tf.Tensor[] {
  return batch.views.map(viewToTensor);
}

/** The weighted objectives on the student embeddings of every view against the teacher's (one loss, shared by both backward modes). */
function objectiveLoss(
  state: TrainState,
  features: tf.Tensor2D[],
  teacherOut: { features: tf.Tensor2D[]; scores: ConceptScores },
  batch: HostBatch,
  time: { step: number; epoch: number },
): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
  const { objectives, concepts } = state;
  const inputs: ObjectiveInputs = {
    student: scoreViews(features, concepts),
    teacher: teacherOut.scores,
    numGlobalViews: batch.numGlobalViews,
    ...(concepts.relation ? { relation: concepts.relation } : {}),
    studentFeatures: features,
    teacherFeatures: teacherOut.features,
    step: time.step,
    epoch: time.epoch,
  };
  return sumLossTerms(objectives, inputs, { keepTerms: true });
}

/**
 * One optimizer step over `microBatches` (gradient accumulation: the mean of their gradients). Throws
 * {@link NonFiniteLossError} naming the non-finite terms before anything is updated.
 *
 * @param step Global optimizer step (0-based); indexes the schedules.
 */
export async function trainStep(state: TrainState, microBatches: readonly HostBatch[], step: number): Promise<StepResult> {
  const { student, teacher, objectives, optimizer, schedules, concepts } = state;
  if (microBatches.length === 0) throw new RangeError('trainStep needs at least one micro-batch.');
  if (step < 0 || step >= schedules.totalSteps) {
    throw new RangeError(`trainStep: step ${step} is outside the schedules (0..${schedules.totalSteps - 1}).`);
  }
  const epoch = step / schedules.stepsPerEpoch;
  const learningRate = schedules.learningRate[step] as number;
  const weightDecay = schedules.weightDecay[step] as number;
  const teacherMomentum = schedules.teacherMomentum[step] as number;
  const variables = optimizedVariables(student, objectives);
  const pathOfName = new Map([...variables].map(([path, v]) => [v.name, path]));
  const varList = [...variables.values()];

  let gradSum: tf.NamedTensorMap | null = null;
  /** Viewwise mode: gradient sums by checkpoint path, in host memory. */
  const hostGrads = new Map<string, { shape: number[]; data: Float32Array }>();
  const termSums = new Map<string, tf.Scalar>();
  const totals: tf.Scalar[] = [];
  const teacherKept: { scores: ConceptScores; features: tf.Tensor2D[] }[] = [];
  let numClips = 0;
  let numGlobalViews = 0;
  try {
    for (const batch of microBatches) {
      numGlobalViews = batch.numGlobalViews;
      numClips += batch.views[0]?.shape[0] ?? 0;
      // 1. Teacher, outside the tape. Kept until afterStep.
      const teacherOut = tf.tidy(() => {
        const globalViews = batch.views.slice(0, batch.numGlobalViews);
        // Every tower call tidies block by block (no tape here, so each block's activations are freed at once).
        const features = state.viewwiseBackward
          ? // one view at a time: its input is uploaded, embedded and freed before the next view's
            globalViews.map((v) =>
              tf.tidy(
                () =>
                  embedViews(
                    teacher,
                    [tf.tensor(v.data, [...v.shape], 'float32')],
                    { training: false },
                    state.maxClipsPerCall,
                  )[0] as tf.Tensor2D,
              ),
            )
          : embedViews(
              teacher,
              globalViews.map((v) => tf.tensor(v.data, [...v.shape], 'float32')),
              { training: false, recompute: state.recompute },
              state.maxClipsPerCall,
            );
        return { features, scores: scoreViews(features, concepts) } as unknown as tf.TensorContainerObject;
      }) as unknown as { features: tf.Tensor2D[]; scores: ConceptScores };
      teacherKept.push(teacherOut);
      state.trace?.('teacher forward');
      if (state.viewwiseBackward) {
        // 2-3 and 4a, one view at a time (GradCache); gradients accumulate on the host.
        const result = viewwiseGradients(state, batch, teacherOut, { step, epoch }, variables, hostGrads);
        totals.push(result.total);
        addTerms(termSums, result.terms);
        continue;
      }
      // 2-3. Student inside the tape.
      let terms: Record<string, tf.Scalar> = {};
      const { value, grads } = tf.variableGrads(() => {
        const views = toTensors(batch);
        const features = embedViews(student, views, { training: true, recompute: state.recompute }, state.maxClipsPerCall);
        const result = objectiveLoss(state, features, teacherOut, batch, { step, epoch });
        terms = result.terms;
        return result.total;
      }, varList);
      totals.push(value);
      addTerms(termSums, terms);
      // 4a. Accumulate gradients by checkpoint path.
      const byPath: tf.NamedTensorMap = {};
      for (const [name, g] of Object.entries(grads)) byPath[pathOfName.get(name) ?? name] = g;
      if (gradSum === null) gradSum = byPath;
      else {
        const previous: tf.NamedTensorMap = gradSum;
        gradSum = tf.tidy(() => Object.fromEntries(Object.entries(previous).map(([k, g]) => [k, tf.add(g, byPath[k] as tf.Tensor)])));
        tf.dispose([...Object.values(previous), ...Object.values(byPath)]);
      }
    }

    // Read the loss terms (one device sync) and stop before any update if one is not finite.
    const names = [...termSums.keys()];
    const packed = tf.tidy(() => tf.stack([...totals, ...names.map((n) => termSums.get(n) as tf.Scalar)]));
    const values = Array.from(await packed.data());
    packed.dispose();
    const scale = 1 / microBatches.length;
    const loss = values.slice(0, totals.length).reduce((a, b) => a + b, 0) * scale;
    const termValues: Record<string, number> = {};
    names.forEach((n, i) => {
      termValues[n] = (values[totals.length + i] as number) * scale;
    });
    const bad = Object.entries(termValues).filter(([, v]) => !Number.isFinite(v));
    if (!Number.isFinite(loss) || bad.length > 0) {
      throw new NonFiniteLossError(
        `Non-finite loss at step ${step}: ${bad.map(([n, v]) => `${n} = ${v}`).join(', ') || `total = ${loss}`}. ` +
          'The step was skipped (no update). Lower the learning rate, raise the temperatures, or check the input data.',
        step,
        { total: loss, ...termValues },
      );
    }

    // Viewwise: the host sums go to the device now, when no activation is left (one upload per variable).
    if (state.viewwiseBackward) {
      const uploaded: tf.NamedTensorMap = {};
      for (const [path, g] of hostGrads) uploaded[path] = tf.tensor(g.data, g.shape, 'float32');
      hostGrads.clear();
      gradSum = uploaded;
    }
    // 4b. Mean over micro-batches and global-norm clipping as one factor applied inside AdamW, one
    // variable at a time (no scaled copy of every gradient), then the update.
    const grads = gradSum as tf.NamedTensorMap;
    const normTensor = globalNorm(grads); // norm of the SUM over micro-batches
    const sumNorm = (await normTensor.data())[0] as number;
    normTensor.dispose();
    const gradNorm = sumNorm * scale; // norm of the mean gradient
    const gradScale = scale * (state.clipGradNorm === null ? 1 : clipScale(gradNorm, state.clipGradNorm));
    optimizer.step(variables, grads, { learningRate, weightDecay, gradScale });
    state.trace?.('optimizer');
    tf.dispose(Object.values(grads));
    gradSum = null;

    // 5. EMA teacher, then objectives' state updates with the teacher's outputs of the whole step.
    updateTeacher(relativeVariables(student), relativeVariables(teacher), teacherMomentum);
    const afterStepInputs = tf.tidy(() => mergeTeacherOutputs(teacherKept) as unknown as tf.TensorContainerObject) as unknown as ReturnType<
      typeof mergeTeacherOutputs
    >;
    try {
      for (const { objective } of objectives) {
        objective.afterStep?.({ ...afterStepInputs, numGlobalViews, teacherMomentum, step, epoch } satisfies AfterStepInputs);
      }
    } finally {
      if (teacherKept.length > 1) disposeTeacherOutputs(afterStepInputs);
    }
    return { loss, terms: termValues, gradNorm, learningRate, weightDecay, teacherMomentum, numClips };
  } finally {
    if (gradSum) tf.dispose(Object.values(gradSum));
    tf.dispose(totals);
    tf.dispose([...termSums.values()]);
    for (const kept of teacherKept) disposeTeacherOutputs(kept);
  }
}

function addTerms(termSums: Map<string, tf.Scalar>, terms: Record<string, tf.Scalar>): void {
  for (const [name, t] of Object.entries(terms)) {
    const prev = termSums.get(name);
    if (prev) {
      termSums.set(
        name,
        tf.tidy(() => tf.add(prev, t)),
      );
      prev.dispose();
      t.dispose();
    } else termSums.set(name, t);
  }
}

/** Adds `g` into the host buffer of `path` (created on first use), then disposes `g`. */
function addToHost(hostGrads: Map<string, { shape: number[]; data: Float32Array }>, path: string, g: tf.Tensor): void {
  const values = g.dataSync() as Float32Array;
  const slot = hostGrads.get(path);
  if (!slot) hostGrads.set(path, { shape: [...g.shape], data: Float32Array.from(values) });
  else {
    const sum = slot.data;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (values[i] as number);
  }
  g.dispose();
}

/**
 * The gradient of one micro-batch's loss, view by view (GradCache, see `TrainState.viewwiseBackward`),
 * added into `hostGrads` (keyed by checkpoint path). Returns the loss and its terms (the caller owns them).
 */
function viewwiseGradients(
  state: TrainState,
  batch: HostBatch,
  teacherOut: { features: tf.Tensor2D[]; scores: ConceptScores },
  time: { step: number; epoch: number },
  variables: ReadonlyMap<string, tf.Variable>,
  hostGrads: Map<string, { shape: number[]; data: Float32Array }>,
): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
  const { student } = state;
  const maxClips = state.maxClipsPerCall ?? Number.POSITIVE_INFINITY;
  const studentPaths = new Set(student.variables().keys());
  const studentVars: tf.Variable[] = [];
  const objectiveVars: tf.Variable[] = [];
  const pathOfName = new Map<string, string>();
  for (const [path, v] of variables) {
    pathOfName.set(v.name, path);
    (studentPaths.has(path) ? studentVars : objectiveVars).push(v);
  }
  // 1. Every view's embedding without a tape (each block's activations freed at once): f_w [B, E].
  const features: tf.Tensor2D[] = [];
  let cotangents: (tf.Tensor | undefined)[] = [];
  try {
    for (const v of batch.views) {
      features.push(tf.tidy(() => embedViews(student, [viewToTensor(v)], { training: true }, maxClips)[0] as tf.Tensor2D));
      state.trace?.(`student forward, view ${features.length - 1}`);
    }
    // 2. Loss and dL/df_w on a small tape whose inputs are the f_w (and the objectives' own variables).
    let terms: Record<string, tf.Scalar> = {};
    const xs: tf.Tensor[] = [...features, ...objectiveVars];
    const { value, grads } = tf.engine().gradients(
      () => {
        const result = objectiveLoss(state, features, teacherOut, batch, time);
        terms = result.terms;
        return result.total;
      },
      xs,
      undefined,
      true,
    );
    cotangents = grads.slice(0, features.length);
    state.trace?.('loss and dL/df');
    objectiveVars.forEach((v, i) => {
      const g = grads[features.length + i];
      if (g) addToHost(hostGrads, pathOfName.get(v.name) ?? v.name, g);
    });
    // 3. Per view (and chunk of clips): the student's gradient of sum(f_w * dL/df_w), dL/df_w held constant.
    try {
      backwardPerView();
    } catch (error) {
      tf.dispose([value, ...Object.values(terms)]);
      throw error;
    }
    return { total: value as tf.Scalar, terms };
  } finally {
    tf.dispose(features);
    tf.dispose(cotangents.filter((c): c is tf.Tensor => c !== undefined));
  }

  function backwardPerView(): void {
    batch.views.forEach((v, w) => {
      const dy = cotangents[w];
      if (!dy) return; // this view does not reach the loss
      const rows = v.shape[0] as number;
      for (let start = 0; start < rows; start += maxClips) {
        const n = Math.min(maxClips, rows - start);
        const { value: dot, grads: g } = tf.variableGrads(() => {
          const all = viewToTensor(v);
          const x = n === rows ? all : tf.slice(all, [start, 0, 0, 0, 0], [n, -1, -1, -1, -1]); // n t h w c
          const f = student.call(x, { training: true, recompute: state.recompute }); // [n, E]
          const c = n === rows ? dy : tf.slice(dy, [start, 0], [n, -1]); // [n, E]
          return tf.sum(tf.mul(f, c)) as tf.Scalar;
        }, studentVars);
        dot.dispose();
        for (const [name, grad] of Object.entries(g)) addToHost(hostGrads, pathOfName.get(name) ?? name, grad);
        state.trace?.(`student backward, view ${w}, clips ${start}..${start + n - 1}`);
      }
    });
  }
}

function disposeTeacherOutputs(o: {
  scores: ConceptScores;
  teacherFeatures?: readonly tf.Tensor2D[];
  features?: readonly tf.Tensor2D[];
}): void {
  for (const list of Object.values(o.scores ?? {})) tf.dispose([...(list ?? [])]);
  tf.dispose([...(o.features ?? []), ...(o.teacherFeatures ?? [])]);
}

/** Concatenates the teacher outputs of several micro-batches along the batch axis (one entry: as is). */
function mergeTeacherOutputs(kept: readonly { scores: ConceptScores; features: tf.Tensor2D[] }[]): {
  teacher: ConceptScores;
  teacherFeatures: tf.Tensor2D[];
  scores: ConceptScores;
} {
  const first = kept[0] as { scores: ConceptScores; features: tf.Tensor2D[] };
  if (kept.length === 1) return { teacher: first.scores, teacherFeatures: first.features, scores: first.scores };
  const teacher: Partial<Record<ConceptSpace, tf.Tensor2D[]>> = {};
  for (const space of Object.keys(first.scores) as ConceptSpace[]) {
    const numViews = first.scores[space]?.length ?? 0;
    teacher[space] = Array.from({ length: numViews }, (_, v) =>
      tf.concat(
        kept.map((k) => k.scores[space]?.[v] as tf.Tensor2D),
        0,
      ),
    );
  }
  const teacherFeatures = first.features.map((_, v) =>
    tf.concat(
      kept.map((k) => k.features[v] as tf.Tensor2D),
      0,
    ),
  );
  return { teacher, teacherFeatures, scores: teacher };
}
