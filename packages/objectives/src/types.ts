/**
 * The contract between objectives and the trainer: what an objective receives each step, what it
 * returns, the state it owns, and the configs of the built-in objectives (LSS SPEC section 3; house
 * style section 4.7). Every built-in objective and every researcher-written one implements
 * {@link Objective}; the trainer only ever talks to this interface.
 *
 * Teacher gradient rule: teacher tensors (`ObjectiveInputs.teacher`, `teacherFeatures`) are computed
 * by the caller OUTSIDE the gradient tape (the teacher is an EMA of the student and receives no
 * gradient). Built-in objectives additionally pass every teacher tensor through `stopGradient`, so even
 * a teacher computed inside the tape gets a zero gradient from them.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The two concept spaces of LSS: action categories and their attribute descriptions. */
export const CONCEPT_SPACES = ['category', 'description'] as const;
export type ConceptSpace = (typeof CONCEPT_SPACES)[number];
/** Alias of {@link ConceptSpace} for code that also imports `@lss/concepts`' `ConceptSpace` class. */
export type ConceptSpaceName = ConceptSpace;

/**
 * Scores of one network in each concept space, one tensor per view.
 * Shape of each tensor: [B, K_space] (cosine similarities of video and concept embeddings, or free logits).
 * View order: global views first, then local views.
 */
export type ConceptScores = Readonly<Partial<Record<ConceptSpace, readonly tf.Tensor2D[]>>>;

/**
 * Forms a statistic over the WHOLE optimizer batch from this process's part of it (SPEC section 3:
 * every micro-batch of an accumulated step and every rank of a distributed one). Receives the mean over
 * the local rows (e.g. `p̄` [K] or a centre [1, K]) and the number of local rows; returns the mean over
 * the global batch, same shape. The trainer already hands every micro-batch of a step to `terms` at
 * once, so on one process this is the identity (the default when absent). A distributed trainer
 * all-reduces here (DINO `update_center`: `dist.all_reduce(batch_center)`); inside `terms` it must be
 * differentiable (e.g. a `tf.customGrad` whose backward passes `dy · localRows / globalRows`).
 */
export type BatchMean = (localMean: tf.Tensor, localRows: number) => tf.Tensor;

/** Everything an objective sees for one step. Tensors are owned by the caller; objectives never dispose them. */
export interface ObjectiveInputs {
  /** Student scores per space, one [B, K] tensor per view (G global views first, then L local). Inside the tape. */
  readonly student: ConceptScores;
  /** Teacher scores per space, one [B, K] tensor per GLOBAL view. Computed outside the gradient tape. */
  readonly teacher: ConceptScores;
  /** G, the number of global views (the first G student views; the teacher sees exactly these). */
  readonly numGlobalViews: number;
  /** Category-to-description relation M, 0/1, shape [K_category, K_description]. Needed by concept-alignment. */
  readonly relation?: tf.Tensor2D;
  /** Student backbone embeddings per view, [B, D] each (same view order as `student`). Needed by dino. */
  readonly studentFeatures?: readonly tf.Tensor2D[];
  /** Teacher backbone embeddings per global view, [B, D] each. Computed outside the tape. Needed by dino. */
  readonly teacherFeatures?: readonly tf.Tensor2D[];
  /**
   * Student class tokens per view, `[B, W]` each: the tower's class token after `ln_post`, before the
   * projection (W = tower width; TimeSformer's `forward_features`, what SVT's DINO head reads). Given when an
   * objective sets {@link Objective.needsClassTokens}. Inside the tape.
   */
  readonly studentClassTokens?: readonly tf.Tensor2D[];
  /** Teacher class tokens per global view, `[B, W]` each (see `studentClassTokens`). Computed outside the tape. */
  readonly teacherClassTokens?: readonly tf.Tensor2D[];
  /** Global optimizer step (0-based), for step-based schedules. */
  readonly step: number;
  /** Epoch (0-based; may be fractional), for epoch-based schedules such as the teacher temperature. */
  readonly epoch: number;
  /** Where batch statistics (`p̄`, a centre) become global-batch statistics; identity when absent. See {@link BatchMean}. */
  readonly batchMean?: BatchMean;
}

/**
 * What `afterStep` receives, after the optimizer step. Only teacher-side tensors (they live outside the
 * tape, so they are still valid after the step). `{ ...inputs, teacherMomentum }` satisfies it.
 */
export interface AfterStepInputs {
  readonly teacher: ConceptScores;
  readonly teacherFeatures?: readonly tf.Tensor2D[];
  readonly teacherClassTokens?: readonly tf.Tensor2D[];
  readonly numGlobalViews: number;
  /** The trainer's EMA momentum for the teacher at this step (objectives owning a teacher copy use it). */
  readonly teacherMomentum: number;
  readonly step: number;
  readonly epoch: number;
  /** See {@link BatchMean}; identity when absent. */
  readonly batchMean?: BatchMean;
}

/**
 * Named scalar terms returned by {@link Objective.terms}. `loss` is the objective's (unweighted)
 * contribution to the total loss; every other key is a diagnostic for logging only and is NOT summed.
 */
export type ObjectiveTerms = Readonly<Record<string, tf.Scalar>> & { readonly loss: tf.Scalar };

/** Values to restore into an objective's variables: keys as returned by `variables()`. */
export type VariableValues = ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>;

/** A loss term. Built-in ids: see `objectiveFactories`. */
export interface Objective {
  /** Registry id, e.g. 'concept-distillation'; the metric prefix (`<id>/<term>`). */
  readonly id: string;
  /**
   * Differentiable terms for one step; runs inside the gradient tape. Must contain `loss`. Every
   * returned scalar is new (the caller disposes it). Must not change any state (state changes go in `afterStep`).
   */
  terms(inputs: ObjectiveInputs): ObjectiveTerms;
  /**
   * Non-differentiable state update after the optimizer step: running centres (DINO `update_center`),
   * EMA of an owned teacher head. Creates no tensors that outlive the call.
   */
  afterStep?(inputs: AfterStepInputs): void;
  /**
   * All state to checkpoint (centres, head weights of student and teacher), keyed by checkpoint path,
   * which is also the tf.Variable name, e.g. `objectives/concept-distillation/center/category`.
   */
  variables?(): ReadonlyMap<string, tf.Variable>;
  /** Restores state saved from `variables()` (shapes are checked; unknown or missing keys throw). */
  loadVariables?(values: VariableValues): void;
  /**
   * True when `terms` / `afterStep` read `studentClassTokens` / `teacherClassTokens` (dino with
   * `headInput: 'class-token'`); the trainer then computes them in the same forward as the embeddings.
   */
  readonly needsClassTokens?: boolean;
  /** The variables the trainer's optimizer must update (e.g. the dino student head), in a stable order. */
  trainableVariables?(): readonly tf.Variable[];
  /**
   * Trainable variables that get no update at this step (their gradient is dropped after clipping):
   * DINO's `cancel_gradients_last_layer` freezes the head's last layer during the first epoch.
   */
  frozenVariables?(at: { readonly step: number; readonly epoch: number }): readonly tf.Variable[];
  /** Disposes every variable this objective owns. */
  dispose(): void;
}

/** An objective with its weight in the total loss. */
export interface WeightedObjective {
  readonly objective: Objective;
  readonly weight: number;
}

/**
 * A schedule warmed up linearly from `start` to `end` over `warmupLength` units of `unit`, then
 * constant at `end`; DINO's `np.concatenate((np.linspace(start, end, warmupLength), np.ones(...) * end))`
 * indexed by the integer epoch (or step).
 */
export interface WarmupSchedule {
  readonly start: number;
  readonly end: number;
  /** Number of epochs (or steps) in the warm-up, including the first one at `start` and the last at `end`. */
  readonly warmupLength: number;
  readonly unit: 'epoch' | 'step';
}

/** A constant temperature or a warm-up schedule. */
export type TemperatureSetting = number | WarmupSchedule;

/** `concept-distillation` (SPEC 3): teacher sharpening + student temperature, per space, over cross-view pairs. */
export interface ConceptDistillationConfig {
  /** τ_s. Default 0.01 (CLIP's logit scale 100). */
  readonly studentTemperature: number;
  /** τ_t. Default: 0.004 → 0.007 linearly over the first 5 epochs, then constant. */
  readonly teacherTemperature: TemperatureSetting;
  /** Subtract a running centre from teacher scores before sharpening (DINO). Default false. */
  readonly centering: boolean;
  /** Centre EMA momentum m: c ← m c + (1 − m) mean(teacher). Default 0.9. */
  readonly centerMomentum: number;
  /** Concept spaces to distil (the loss is their mean). Default ['category', 'description']. */
  readonly spaces: readonly ConceptSpace[];
  /** Checkpoint/variable path prefix. Default 'objectives/concept-distillation'. */
  readonly scope: string;
}

/** `uniform-prior` (SPEC 3): Σ_X KL(mean student distribution ‖ uniform). */
export interface UniformPriorConfig {
  /** τ_s. Default 0.01. */
  readonly studentTemperature: number;
  /** Spaces to sum over. Default ['category', 'description']. */
  readonly spaces: readonly ConceptSpace[];
}

/**
 * `concept-alignment` (SPEC 3): category ↔ description through the relation matrix, across views. Its
 * teacher distributions are concept distillation's (one `p_t`), so it has no teacher temperature.
 */
export interface ConceptAlignmentConfig {
  /** τ_s. Default 0.01. */
  readonly studentTemperature: number;
}

/** Which backbone output the dino head reads (see {@link DinoConfig.headInput}). */
export type DinoHeadInput = 'class-token' | 'embedding';

/** `dino` baseline (SVT / DINO): DINO head on backbone features + DINO loss with centring. */
export interface DinoConfig {
  /**
   * The width of what the head reads: the tower width W with `headInput: 'class-token'` (768 for ViT-B),
   * the embedding width E with `'embedding'` (512 for ViT-B/16). Required.
   */
  readonly inputDim: number;
  /**
   * What the head reads: `'class-token'` (default, SVT: the class token after the final LayerNorm, before
   * CLIP's projection; `studentClassTokens` / `teacherClassTokens`) or `'embedding'` (the projected tower
   * output the concept spaces use; `studentFeatures` / `teacherFeatures`).
   */
  readonly headInput: DinoHeadInput;
  /** Hidden width of the head MLP. Default 2048 (DINO). */
  readonly hiddenDim: number;
  /** Bottleneck width (L2-normalised). Default 256 (DINO). */
  readonly bottleneckDim: number;
  /** Number of prototypes (head outputs). Default 65536 (DINO). */
  readonly outDim: number;
  /** Number of linear layers in the MLP (≥ 1). Default 3 (DINO). */
  readonly numLayers: number;
  /** Student temperature. Default 0.1 (DINO). */
  readonly studentTemperature: number;
  /** Teacher temperature. Default 0.04, constant (SVT's `teacher_temp`; DINO's ViT recipe warms 0.04 → 0.07 over 30 epochs). */
  readonly teacherTemperature: TemperatureSetting;
  /** Centre momentum. Default 0.9 (DINO). */
  readonly centerMomentum: number;
  /**
   * The head's last layer gets no update during the first N epochs (DINO/SVT `freeze_last_layer`,
   * `cancel_gradients_last_layer`). Default 1; 0 never freezes it.
   */
  readonly freezeLastLayerEpochs: number;
  /** Seed of the head initialisation. Default 0. */
  readonly seed: number;
  /** Checkpoint/variable path prefix. Default 'objectives/dino'. */
  readonly scope: string;
}

/** Config-file entries ("select by name and weight"). `weight` defaults to 1 (SPEC: λ_CA = λ_U = 1). */
export type ConceptDistillationSpec = {
  readonly name: 'concept-distillation';
  readonly weight?: number;
} & Partial<ConceptDistillationConfig>;
export type UniformPriorSpec = { readonly name: 'uniform-prior'; readonly weight?: number } & Partial<UniformPriorConfig>;
export type ConceptAlignmentSpec = { readonly name: 'concept-alignment'; readonly weight?: number } & Partial<ConceptAlignmentConfig>;
export type DinoSpec = { readonly name: 'dino'; readonly weight?: number; readonly inputDim: number } & Partial<
  Omit<DinoConfig, 'inputDim'>
>;
/** A built-in objective's config entry (a discriminated union on `name`). */
export type BuiltinObjectiveSpec = ConceptDistillationSpec | UniformPriorSpec | ConceptAlignmentSpec | DinoSpec;
/** A config entry for an objective added with `registerObjective`. */
export interface CustomObjectiveSpec {
  readonly name: string;
  readonly weight?: number;
  readonly [option: string]: unknown;
}
export type ObjectiveSpec = BuiltinObjectiveSpec | CustomObjectiveSpec;

/** Builds an objective from its config entry (the `name` and `weight` fields are ignored by factories). */
export type ObjectiveFactory<S = CustomObjectiveSpec> = (spec: S) => Objective;
