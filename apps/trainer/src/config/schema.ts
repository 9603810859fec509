/**
 * The trainer's typed configuration: one zod 4 schema, every object `.strict()` so an unknown key is an
 * error, every default written here (and explained), `TrainConfig` inferred from it.
 *
 * The recipe is SVT's, made explicit (SPEC.md section 4): AdamW with linear warm-up then cosine decay
 * of the learning rate (`baseLearningRate × global batch / 256`), cosine weight decay 0.04 -> 0.4, EMA
 * teacher momentum cosine 0.996 -> 1, per-parameter gradient clipping at 3, 2 global + 8 local 8-frame
 * views. Objective defaults come from `@lss/objectives` (`DEFAULT_*`), never restated here. Objectives are a discriminated union on
 * `name` (SPEC.md section 3) or a `module` entry naming a file that exports an `Objective` factory.
 */

import { BACKEND_NAMES } from '@lss/core';
import { DEFAULT_CONCEPT_ALIGNMENT, DEFAULT_CONCEPT_DISTILLATION, DEFAULT_DINO, DEFAULT_UNIFORM_PRIOR } from '@lss/objectives';
import { z } from 'zod';
import { MEMORY_PLAN_CHOICES } from '../memory-plan.js';
import { CLIP_MODES } from '../optim/clip.js';

const positiveInt = z.number().int().positive();
/**
 * Upper bounds of the values that size allocations (issue 16: an unbounded `views.globalSize=100000`
 * ended in a raw RangeError). Each is far above any published setting (SVT: 224 px, 8 frames, 2 + 8
 * views, batch 32 per GPU; DINO head 65536) and stops typos and runaway products early, naming the key.
 */
export const CONFIG_LIMITS = {
  viewSize: 1024,
  numFrames: 256,
  numGlobal: 16,
  numLocal: 64,
  batchSize: 4096,
  accumulationSteps: 1024,
  syntheticClasses: 1000,
  syntheticVideosPerClass: 10_000,
  syntheticFrames: 1024,
  syntheticSize: 1024,
  headDim: 262_144,
  headLayers: 16,
} as const;
const bounded = (max: number) => positiveInt.max(max);
const nonNegativeInt = z.number().int().nonnegative();
const probability = z.number().min(0).max(1);
const positive = z.number().positive();
const range = z.tuple([z.number(), z.number()]).refine(([a, b]) => a <= b, { message: 'expected [low, high] with low <= high' });

/** The video backbone: where the CLIP weights come from and how the video tower is built. */
export const modelSchema = z
  .object({
    /**
     * A Hugging Face CLIP folder (`config.json` + `model.safetensors`) whose image tower initialises the
     * video tower. `null` starts from random weights of `preset` (benchmarks only).
     */
    clip: z.string().min(1).nullable().default(null),
    /** Architecture used when `clip` is null (random initialisation; benchmarks and tests). */
    preset: z.enum(['vit-b32', 'vit-b16', 'vit-l14']).default('vit-b16'),
    /** Frames per clip that the video tower is built for (temporal position embedding length). */
    numFrames: bounded(CONFIG_LIMITS.numFrames).default(8),
    /**
     * Stochastic depth (drop path) of the student, the rate of the last block, in [0, 1): each residual
     * branch of block `i` of `L` is dropped per clip with probability `dropPathRate · i / (L − 1)` and
     * scaled by `1 / (1 − p)` when kept (timm / DINO `drop_path_rate`); the teacher never drops.
     * Default 0.1: SVT's (TimeSformer `vit_base_patch16_224`, `drop_path_rate=0.1`). 0 turns it off.
     */
    dropPathRate: z.number().min(0).lt(1).default(0.1),
  })
  .strict();

/** The concept spaces the scores live in (SPEC.md section 2), built once per run and cached. */
export const conceptsSchema = z
  .object({
    /** CLIP folder for the text encoder; defaults to `model.clip`. */
    textModel: z.string().min(1).nullable().default(null),
    /**
     * Category label set: `lss-a` (K400), `lss-b` (K400 ∪ UCF-101 ∪ HMDB-51), `lss-c` (LM vocabulary); for the
     * synthetic action world (`concepts.world`): `world` (its action names, lss-a style) or `world-vocabulary`
     * (its larger generated vocabulary, lss-b style).
     */
    categories: z.enum(['lss-a', 'lss-b', 'lss-c', 'world', 'world-vocabulary']).default('lss-a'),
    /** `world.json` of a synthetic action world (`@lss/data/node` `generateActionWorld`): labels and descriptions. */
    world: z.string().min(1).nullable().default(null),
    /** Prompt templates for the category ensemble: `default` (the package's set) or a JSON file of strings with `{}`. */
    templates: z.string().min(1).default('default'),
    /** Build the description space too (needed by concept alignment and description distillation). */
    descriptions: z.boolean().default(true),
    /** Where concept spaces are cached, keyed by model hash and inputs (relative to the repository root or absolute). */
    cacheDir: z.string().min(1).default('.lss-cache/concepts'),
    /**
     * Keep only the first N categories (and their descriptions). For small demo runs on tiny models;
     * null keeps all.
     */
    limitCategories: positiveInt.nullable().default(null),
  })
  .strict();

/** How training views are made, for every kind of data. */
const inputFields = {
  /** Worker threads decoding and augmenting views while the model steps; null: one per core but one, 1 to 4. 0: the main thread. */
  numWorkers: nonNegativeInt.nullable().default(null),
  /** Steps whose views are made ahead of the one the model is on. */
  prefetchSteps: nonNegativeInt.default(2),
  /**
   * Unreadable videos are replaced by other clips (deterministically) and counted; the run stops, listing them,
   * once more than this fraction of the training videos is unreadable.
   */
  maxBadFraction: z.number().min(0).max(1).default(0.1),
};

/** Synthetic data: generated videos in UCF-101 layout (moving shapes, one class per motion pattern). */
const syntheticDataSchema = z
  .object({
    kind: z.literal('synthetic'),
    /** Folder the generated dataset lives in; created when absent. */
    root: z.string().min(1),
    numClasses: bounded(CONFIG_LIMITS.syntheticClasses).default(4),
    videosPerClass: bounded(CONFIG_LIMITS.syntheticVideosPerClass).default(6),
    /** Frames per generated video. */
    numFrames: bounded(CONFIG_LIMITS.syntheticFrames).default(16),
    /** Frame size of the generated videos (square). */
    size: bounded(CONFIG_LIMITS.syntheticSize).default(64),
    /** Generator seed (independent of the training seed so the dataset is fixed across runs). */
    seed: nonNegativeInt.default(0),
    /** Official-style split whose training subset is used (the generator writes three). */
    split: z.number().int().min(1).max(3).default(1),
    /** Decode each video once and keep its frames in memory (small datasets only). */
    cacheFrames: z.boolean().default(true),
    ...inputFields,
  })
  .strict();

/**
 * A real dataset read by `@lss/data/node` (labels are never used by the trainer):
 * `ucf101` (root = videos folder, annotations = `ucfTrainTestlist/`), `hmdb51` (annotations =
 * `testTrainMulti_7030_splits/`), `kinetics400` (annotations = the CSV), `folder` (one sub-folder per
 * class), `list` (annotations = a `path label` file, root = base folder).
 */
const datasetSchema = z
  .object({
    kind: z.enum(['ucf101', 'hmdb51', 'kinetics400', 'folder', 'list']),
    root: z.string().min(1),
    annotations: z.string().min(1).nullable().default(null),
    /** Official split number (UCF-101, HMDB-51); its training subset is used. */
    split: z.number().int().min(1).max(3).default(1),
    /** Decode each video once and keep its frames in memory (small datasets only; off for Kinetics). */
    cacheFrames: z.boolean().default(false),
    ...inputFields,
  })
  .strict();

export const dataSchema = z.discriminatedUnion('kind', [syntheticDataSchema, datasetSchema]);

/** SVT's global and local spatio-temporal views and their augmentations (SPEC.md section 4). */
export const viewsSchema = z
  .object({
    numGlobal: bounded(CONFIG_LIMITS.numGlobal).default(2),
    numLocal: nonNegativeInt.max(CONFIG_LIMITS.numLocal).default(8),
    /** Frames per view (global and local alike, as in SVT). */
    numFrames: bounded(CONFIG_LIMITS.numFrames).default(8),
    globalSize: bounded(CONFIG_LIMITS.viewSize).default(224),
    localSize: bounded(CONFIG_LIMITS.viewSize).default(96),
    /** Random-resized-crop area ranges (DINO's defaults). */
    globalScale: range.default([0.4, 1]),
    localScale: range.default([0.05, 0.4]),
    /** Flip probability. */
    flip: probability.default(0.5),
    /** Colour jitter probability (brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1). */
    colorJitter: probability.default(0.8),
    grayscale: probability.default(0.2),
    /** Gaussian blur probabilities (first global view, second global view, local views), as DINO. */
    blur: z.tuple([probability, probability, probability]).default([1, 0.1, 0.5]),
    /** Solarisation probability on the second global view, as DINO. */
    solarize: probability.default(0.2),
  })
  .strict();

/** AdamW with schedules (DINO `cosine_scheduler` style) and clipping. */
export const optimizerSchema = z
  .object({
    /**
     * Peak learning rate after warm-up for a batch of `referenceBatchSize` clips (SVT/DINO `lr`). The
     * run uses `baseLearningRate × global batch / referenceBatchSize` (global batch = `training.batchSize`
     * × `accumulationSteps` × processes), applied where the schedules are built and printed at start.
     */
    baseLearningRate: positive.default(5e-4),
    /** The batch size `baseLearningRate` is given for (SVT/DINO: 256). */
    referenceBatchSize: positiveInt.default(256),
    /** Final learning rate of the cosine decay (not scaled, as DINO's `min_lr`). */
    minLearningRate: z.number().nonnegative().default(1e-6),
    /** Linear warm-up length in epochs (fractions allowed). SVT: 10. */
    warmupEpochs: z.number().nonnegative().default(10),
    /** Weight decay at the start and end of the cosine schedule. */
    weightDecay: z.number().nonnegative().default(0.04),
    weightDecayEnd: z.number().nonnegative().default(0.4),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: positive.default(1e-8),
    /** Gradient-norm clipping threshold; null turns clipping off. */
    clipGradNorm: positive.nullable().default(3),
    /**
     * `per-parameter`: each parameter tensor's gradient is clipped to `clipGradNorm` on its own (DINO's
     * `clip_gradients`, which SVT calls; the recipe's). `global`: the norm over all gradients together
     * (`torch.nn.utils.clip_grad_norm_`).
     */
    clipMode: z.enum(CLIP_MODES).default('per-parameter'),
    /** Micro-batches accumulated per optimizer step (invisible: the same step as one batch of batchSize × accumulationSteps). */
    accumulationSteps: bounded(CONFIG_LIMITS.accumulationSteps).default(1),
  })
  .strict();

/** EMA teacher: momentum follows a cosine from `momentum` to `momentumEnd` over training. */
export const teacherSchema = z
  .object({
    momentum: probability.default(0.996),
    momentumEnd: probability.default(1),
  })
  .strict();

/** Training length and batching. */
export const trainingSchema = z
  .object({
    epochs: z.number().positive().default(20),
    /** Clips per micro-batch. */
    batchSize: bounded(CONFIG_LIMITS.batchSize).default(32),
    /** Optimizer steps per epoch; null derives it from the dataset size (floor(clips / (batch * accumulation))). */
    stepsPerEpoch: positiveInt.nullable().default(null),
    /** Stop after this many optimizer steps (the schedules still span `epochs`); null runs to the end. */
    maxSteps: positiveInt.nullable().default(null),
    /**
     * Where activations, gradients and AdamW's moments live (the maths is the same): `auto` picks from
     * the backend (wasm: `low-memory`, the 4 GiB heap workarounds; otherwise `joint`, the plain step).
     */
    memoryPlan: z.enum(MEMORY_PLAN_CHOICES).default('auto'),
  })
  .strict();

export const checkpointSchema = z
  .object({
    /** Save every N optimizer steps (and always at the end and on SIGINT/SIGTERM). */
    every: positiveInt.default(1000),
    /** Number of step checkpoints to keep (`latest` is a pointer to the newest). */
    keepLast: positiveInt.default(3),
  })
  .strict();

export const loggingSchema = z
  .object({
    /** Read loss values (a device sync) and write a metrics line every N steps. */
    every: positiveInt.default(10),
    /** `auto`: a bar on a TTY, plain lines otherwise; `off` prints nothing per step. */
    progress: z.enum(['auto', 'bar', 'plain', 'off']).default('auto'),
    /** Stop the run (after a checkpoint) once this many steps in a row had a non-finite loss. */
    maxNonFiniteSteps: positiveInt.default(3),
  })
  .strict();

const weight = z.number().nonnegative().default(1);
const temperature = positive;
const spaces = z
  .array(z.enum(['category', 'description']))
  .min(1)
  .default(['category', 'description']);

/**
 * A temperature: a constant, or a linear warm-up from `start` to `end` over `warmupLength` epochs (or
 * steps), then constant (DINO's teacher-temperature schedule; `@lss/objectives` `WarmupSchedule`).
 */
const temperatureSetting = z.union([
  temperature,
  z
    .object({
      start: temperature,
      end: temperature,
      warmupLength: nonNegativeInt,
      unit: z.enum(['epoch', 'step']).default('epoch'),
    })
    .strict(),
]);

/** `concept-distillation` (SPEC.md section 3). Defaults are the spec's. */
export const conceptDistillationSchema = z
  .object({
    name: z.literal('concept-distillation'),
    weight,
    studentTemperature: temperature.default(DEFAULT_CONCEPT_DISTILLATION.studentTemperature),
    /** The teacher distribution's temperature; concept alignment uses the same distribution (SPEC section 3). */
    teacherTemperature: temperatureSetting.default(DEFAULT_CONCEPT_DISTILLATION.teacherTemperature as z.output<typeof temperatureSetting>),
    /** DINO-style running centre of the teacher scores (off by default); concept alignment sees it too. */
    centering: z.boolean().default(DEFAULT_CONCEPT_DISTILLATION.centering),
    centerMomentum: probability.default(DEFAULT_CONCEPT_DISTILLATION.centerMomentum),
    spaces,
  })
  .strict();

/**
 * `concept-alignment` (SPEC.md section 3). Its teacher distributions are concept distillation's (same
 * temperature, same centre), so it has no teacher temperature of its own.
 */
export const conceptAlignmentSchema = z
  .object({
    name: z.literal('concept-alignment'),
    weight,
    studentTemperature: temperature.default(DEFAULT_CONCEPT_ALIGNMENT.studentTemperature),
  })
  .strict();

/** `uniform-prior` (SPEC.md section 3). */
export const uniformPriorSchema = z
  .object({
    name: z.literal('uniform-prior'),
    weight,
    studentTemperature: temperature.default(DEFAULT_UNIFORM_PRIOR.studentTemperature),
    spaces,
  })
  .strict();

/**
 * `dino` baseline on a learned projection head (SVT / DINO), for ablations, with SVT's defaults
 * (`DEFAULT_DINO`: head on the class token, teacher temperature 0.04, last layer frozen in the first epoch).
 * `inputDim` comes from the model.
 */
export const dinoSchema = z
  .object({
    name: z.literal('dino'),
    weight,
    /**
     * What the head reads: `class-token` (SVT: the class token after the final LayerNorm, before CLIP's
     * projection; `inputDim` = the tower width) or `embedding` (the projected output the concept spaces use).
     */
    headInput: z.enum(['class-token', 'embedding']).default(DEFAULT_DINO.headInput),
    outDim: bounded(CONFIG_LIMITS.headDim).default(DEFAULT_DINO.outDim),
    hiddenDim: bounded(CONFIG_LIMITS.headDim).default(DEFAULT_DINO.hiddenDim),
    bottleneckDim: bounded(CONFIG_LIMITS.headDim).default(DEFAULT_DINO.bottleneckDim),
    numLayers: bounded(CONFIG_LIMITS.headLayers).default(DEFAULT_DINO.numLayers),
    studentTemperature: temperature.default(DEFAULT_DINO.studentTemperature),
    teacherTemperature: temperatureSetting.default(DEFAULT_DINO.teacherTemperature as z.output<typeof temperatureSetting>),
    centerMomentum: probability.default(DEFAULT_DINO.centerMomentum),
    /** Epochs during which the head's last layer is not updated (DINO `freeze_last_layer`). */
    freezeLastLayerEpochs: z.number().nonnegative().default(DEFAULT_DINO.freezeLastLayerEpochs),
    seed: nonNegativeInt.default(DEFAULT_DINO.seed),
  })
  .strict();

/**
 * A user objective from a file: the module's `export` (default `default`) is a factory
 * `(options, context) => Objective`. Paths are relative to the config file that names them.
 */
export const moduleObjectiveSchema = z
  .object({
    name: z.literal('module'),
    module: z.string().min(1),
    export: z.string().min(1).default('default'),
    weight,
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const OBJECTIVE_NAMES = ['concept-distillation', 'concept-alignment', 'uniform-prior', 'dino', 'module'] as const;

export const objectiveSchema = z.discriminatedUnion('name', [
  conceptDistillationSchema,
  conceptAlignmentSchema,
  uniformPriorSchema,
  dinoSchema,
  moduleObjectiveSchema,
]);

export const trainConfigSchema = z
  .object({
    /** Free-form run name, used in logs and as the default work-dir name. */
    name: z.string().min(1).default('lss'),
    seed: nonNegativeInt.default(0),
    backend: z.enum(BACKEND_NAMES).default('auto'),
    /** Where checkpoints, metrics, the plot and the resolved config go. */
    workdir: z.string().min(1).default('runs/lss'),
    model: modelSchema.default(modelSchema.parse({})),
    concepts: conceptsSchema.default(conceptsSchema.parse({})),
    data: dataSchema,
    views: viewsSchema.default(viewsSchema.parse({})),
    optimizer: optimizerSchema.default(optimizerSchema.parse({})),
    teacher: teacherSchema.default(teacherSchema.parse({})),
    training: trainingSchema.default(trainingSchema.parse({})),
    checkpoint: checkpointSchema.default(checkpointSchema.parse({})),
    logging: loggingSchema.default(loggingSchema.parse({})),
    objectives: z
      .array(objectiveSchema)
      .min(1)
      .default([
        conceptDistillationSchema.parse({ name: 'concept-distillation' }),
        conceptAlignmentSchema.parse({ name: 'concept-alignment' }),
        uniformPriorSchema.parse({ name: 'uniform-prior' }),
      ]),
  })
  .strict();

/** The resolved, validated training configuration. */
export type TrainConfig = z.infer<typeof trainConfigSchema>;
/** What a config file may contain before defaults are applied. */
export type TrainConfigInput = z.input<typeof trainConfigSchema>;
export type ObjectiveConfig = z.infer<typeof objectiveSchema>;
export type ModuleObjectiveConfig = z.infer<typeof moduleObjectiveSchema>;
export type DataConfig = z.infer<typeof dataSchema>;
