/**
 * The trainer's typed configuration: one zod 4 schema, every object `.strict()` so an unknown key is an
 * error, every default written here (and explained), `TrainConfig` inferred from it.
 *
 * The recipe is SVT's, made explicit (SPEC.md section 4): AdamW with linear warm-up then cosine decay
 * of the learning rate, cosine weight decay 0.04 -> 0.4, EMA teacher momentum cosine 0.996 -> 1,
 * gradient-norm clipping, 2 global + 8 local 8-frame views. Objectives are a discriminated union on
 * `name` (SPEC.md section 3) or a `module` entry naming a file that exports an `Objective` factory.
 */

import { BACKEND_NAMES } from '@lss/core';
import { z } from 'zod';

const positiveInt = z.number().int().positive();
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
    numFrames: positiveInt.default(8),
    /** Recompute each block in the backward pass (gradient checkpointing): trades time for memory. */
    recompute: z.boolean().default(false),
    /**
     * At most this many clips (views x batch) per tower call; null puts all same-size views of a
     * micro-batch in one call. 1 keeps a ViT-B/16 step inside the 4 GiB wasm heap.
     */
    maxClipsPerCall: positiveInt.nullable().default(null),
    /**
     * Per-view backward (GradCache, Gao et al. 2021): the student embeds every view without a tape, the
     * loss gives dL/df per view, then each view is embedded again under its own small tape with dL/df held
     * constant and its gradients are summed in host memory. Same gradient as the joint backward (tested),
     * one extra forward; the device holds one clip's activations and one set of gradients at a time
     * instead of all views' (what lets a ViT-B/16 step fit the 4 GiB wasm heap). false: one tape over all views.
     */
    viewwiseBackward: z.boolean().default(false),
  })
  .strict();

/** The concept spaces the scores live in (SPEC.md section 2), built once per run and cached. */
export const conceptsSchema = z
  .object({
    /** CLIP folder for the text encoder; defaults to `model.clip`. */
    textModel: z.string().min(1).nullable().default(null),
    /** Category label set: `lss-a` (K400), `lss-b` (K400 ∪ UCF-101 ∪ HMDB-51), `lss-c` (LM vocabulary). */
    categories: z.enum(['lss-a', 'lss-b', 'lss-c']).default('lss-a'),
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

/** Synthetic data: generated videos in UCF-101 layout (moving shapes, one class per motion pattern). */
const syntheticDataSchema = z
  .object({
    kind: z.literal('synthetic'),
    /** Folder the generated dataset lives in; created when absent. */
    root: z.string().min(1),
    numClasses: positiveInt.default(4),
    videosPerClass: positiveInt.default(6),
    /** Frames per generated video. */
    numFrames: positiveInt.default(16),
    /** Frame size of the generated videos (square). */
    size: positiveInt.default(64),
    /** Generator seed (independent of the training seed so the dataset is fixed across runs). */
    seed: nonNegativeInt.default(0),
    /** Official-style split whose training subset is used (the generator writes three). */
    split: z.number().int().min(1).max(3).default(1),
    /** Decode each video once and keep its frames in memory (small datasets only). */
    cacheFrames: z.boolean().default(true),
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
  })
  .strict();

export const dataSchema = z.discriminatedUnion('kind', [syntheticDataSchema, datasetSchema]);

/** SVT's global and local spatio-temporal views and their augmentations (SPEC.md section 4). */
export const viewsSchema = z
  .object({
    numGlobal: positiveInt.default(2),
    numLocal: nonNegativeInt.default(8),
    /** Frames per view (global and local alike, as in SVT). */
    numFrames: positiveInt.default(8),
    globalSize: positiveInt.default(224),
    localSize: positiveInt.default(96),
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
    /** Peak learning rate after warm-up (already scaled for the batch size; we do not rescale). */
    learningRate: positive.default(5e-4),
    /** Final learning rate of the cosine decay. */
    minLearningRate: z.number().nonnegative().default(1e-6),
    /** Linear warm-up length in epochs (fractions allowed). */
    warmupEpochs: z.number().nonnegative().default(10),
    /** Weight decay at the start and end of the cosine schedule. */
    weightDecay: z.number().nonnegative().default(0.04),
    weightDecayEnd: z.number().nonnegative().default(0.4),
    beta1: z.number().min(0).lt(1).default(0.9),
    beta2: z.number().min(0).lt(1).default(0.999),
    epsilon: positive.default(1e-8),
    /** Global gradient-norm clipping; null turns it off. */
    clipGradNorm: positive.nullable().default(3),
    /** Micro-batches accumulated per optimizer step. */
    accumulationSteps: positiveInt.default(1),
    /** Keep AdamW's m and v in host memory (frees 8 bytes per parameter on the device, e.g. the wasm heap). */
    hostSlots: z.boolean().default(false),
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
    batchSize: positiveInt.default(32),
    /** Optimizer steps per epoch; null derives it from the dataset size (floor(clips / (batch * accumulation))). */
    stepsPerEpoch: positiveInt.nullable().default(null),
    /** Stop after this many optimizer steps (the schedules still span `epochs`); null runs to the end. */
    maxSteps: positiveInt.nullable().default(null),
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

/** SPEC.md: τ_t warmed up linearly from 0.004 to 0.007 over the first epochs (5 here). */
const SPEC_TEACHER_TEMPERATURE = { start: 0.004, end: 0.007, warmupLength: 5, unit: 'epoch' as const };

/** `concept-distillation` (SPEC.md section 3). Defaults are the spec's. */
export const conceptDistillationSchema = z
  .object({
    name: z.literal('concept-distillation'),
    weight,
    studentTemperature: temperature.default(0.01),
    teacherTemperature: temperatureSetting.default(SPEC_TEACHER_TEMPERATURE),
    /** DINO-style running centre of the teacher scores (off by default). */
    centering: z.boolean().default(false),
    centerMomentum: probability.default(0.9),
    spaces,
  })
  .strict();

/** `concept-alignment` (SPEC.md section 3). */
export const conceptAlignmentSchema = z
  .object({
    name: z.literal('concept-alignment'),
    weight,
    studentTemperature: temperature.default(0.01),
    teacherTemperature: temperatureSetting.default(SPEC_TEACHER_TEMPERATURE),
  })
  .strict();

/** `uniform-prior` (SPEC.md section 3). */
export const uniformPriorSchema = z
  .object({
    name: z.literal('uniform-prior'),
    weight,
    studentTemperature: temperature.default(0.01),
    spaces,
  })
  .strict();

/** `dino` baseline on a learned projection head (SVT / DINO), for ablations. `inputDim` comes from the model. */
export const dinoSchema = z
  .object({
    name: z.literal('dino'),
    weight,
    outDim: positiveInt.default(65536),
    hiddenDim: positiveInt.default(2048),
    bottleneckDim: positiveInt.default(256),
    numLayers: positiveInt.default(3),
    studentTemperature: temperature.default(0.1),
    teacherTemperature: temperatureSetting.default({ start: 0.04, end: 0.07, warmupLength: 30, unit: 'epoch' }),
    centerMomentum: probability.default(0.9),
    seed: nonNegativeInt.default(0),
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
