/**
 * `runTraining(config, options)`: the whole LSS run (flax `train_and_evaluate` style). Builds the
 * student/teacher from CLIP, the concept spaces (cached), the data, the objectives (config registry,
 * module files, or injected objects), AdamW and the schedules; resumes from the newest checkpoint
 * in `workdir/checkpoints` when there is one; trains with progress, metrics JSONL and periodic
 * atomic checkpoints; stops cleanly on SIGINT/SIGTERM (with a checkpoint) and after N non-finite
 * steps in a row (with a checkpoint); writes the loss/lr plot and the trained towers at the end.
 *
 * Data parallel (`options.group`, a `@lss/distributed` process group, e.g. under torchrun): rank 0 restores
 * or initialises and broadcasts the whole state (student, teacher, AdamW slots, objective state, counters),
 * so every rank starts identical; each rank reads its shard of every global batch (`StepPlanner`); the
 * step gathers embeddings and sums gradients (`trainStep`); the ranks agree on stopping after every step;
 * rank 0 alone writes checkpoints, metrics, the plot and the towers.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { saveVideoVit } from '@lss/backbone';
import { ConfigError, NonFiniteLossError, type RandomState, SeededRandom } from '@lss/core';
import { ensureWritableDir, writeFileAtomic } from '@lss/core/node';
import type { ProcessGroup } from '@lss/distributed';
import {
  asWeighted,
  createObjectives,
  linkTeacherDistributions,
  loadObjectiveVariables,
  type Objective,
  type ObjectiveSpec,
  objectiveVariables,
  type WeightedObjective,
} from '@lss/objectives';
import * as tf from '@tensorflow/tfjs-core';
import { type CheckpointMeta, readCheckpoint, restoreVariables, saveCheckpoint } from './checkpoint.js';
import { buildRunConcepts, conceptTensors, disposeConceptTensors, type RunConcepts } from './concepts.js';
import type { ModuleObjectiveConfig, ObjectiveConfig, TrainConfig } from './config/schema.js';
import { type BadVideo, type ClipSource, type DamagedVideo, openClipSource, StepPlanner, svtViewConfig, TrainInput } from './data.js';
import { copyStudentToTeacher } from './ema.js';
import { describeMemoryPlan, memoryPlanFor } from './memory-plan.js';
import { MetricsWriter, readMetrics } from './metrics.js';
import { buildTowers, type Towers } from './model.js';
import { AdamW, OPTIMIZER_ROOT } from './optim/adamw.js';
import { renderTrainingPlot } from './plot.js';
import { ProgressReporter } from './progress.js';
import { acquireRunLock } from './run-lock.js';
import { buildSchedules } from './schedules.js';
import { type HostBatch, optimizedVariables, relativeVariables, type StepResult, type TrainState, trainStep } from './train-step.js';

/** What a module-file objective factory receives besides its `options`. */
export interface ObjectiveContext {
  /** Width E of the video embedding (the input of a learned head on the embedding). */
  readonly embedDim: number;
  /** Width W of the tower's class token before the projection (the input of SVT's DINO head). */
  readonly width: number;
  readonly numCategories: number;
  readonly numDescriptions: number;
  readonly config: TrainConfig;
}

/** A factory exported by an objective module file (`objectives: [{ name: module, module: ./x.ts }]`). */
export type ObjectiveModuleFactory = (options: Record<string, unknown>, context: ObjectiveContext) => Objective | Promise<Objective>;

export interface RunOptions {
  /** Objectives to use instead of `config.objectives` (bare objectives get weight 1). The run disposes them. */
  readonly objectives?: readonly (WeightedObjective | Objective)[];
  /** Training clips to use instead of `config.data` (e.g. a `MemoryClipSource` in tests). */
  readonly source?: ClipSource;
  /** Resume from the newest checkpoint in `workdir/checkpoints` (default true). */
  readonly resume?: boolean;
  /** Stop (with a checkpoint) once this many steps are complete: simulates an interruption. */
  readonly stopAfterStep?: number;
  /** Install SIGINT/SIGTERM handlers that stop after the current step with a checkpoint (the CLI does). */
  readonly handleSignals?: boolean;
  /** Log lines (default: the progress reporter's stderr). */
  readonly log?: (line: string) => void;
  /** Called after every step with its result. */
  readonly onStep?: (step: number, result: StepResult | null) => void;
  /** Skip writing the trained towers as safetensors at the end (tests). */
  readonly exportTowers?: boolean;
  /** Print the resolved config at start (default true; it is always written to `workdir/config.json`). */
  readonly printConfig?: boolean;
  /**
   * Train data-parallel over this process group (`ProcessGroup.init(rendezvousFromEnv())`): `training.batchSize`
   * is then per rank, the global batch is `batchSize x accumulationSteps x worldSize`. The caller destroys it.
   */
  readonly group?: ProcessGroup;
}

export interface RunResult {
  readonly workdir: string;
  /** Optimizer steps completed (the next step to run). */
  readonly step: number;
  readonly totalSteps: number;
  readonly stoppedBy: 'done' | 'signal' | 'stopAfterStep' | 'non-finite';
  readonly resumedFrom: number | null;
  readonly lastCheckpoint: string | null;
  readonly metricsPath: string;
  readonly plotPath: string | null;
  /** Trained towers as `@lss/backbone` video-ViT safetensors (when exported). */
  readonly studentPath: string | null;
  readonly teacherPath: string | null;
  readonly concepts: { readonly numCategories: number; readonly numDescriptions: number; readonly cached: boolean };
  /**
   * Unreadable training videos (replaced by other clips): clip draws replaced, and the videos with the reason. In a
   * data-parallel run these are every rank's (each video with the rank that met it), the same on every rank.
   */
  readonly input: {
    readonly replacedClips: number;
    readonly badVideos: readonly BadVideo[];
    /** Frames substituted by a repeat of the last decoded frame over the clip draws used. */
    readonly substitutedFrames: number;
    /** Clip draws decoded with substituted frames or decoder errors. */
    readonly damagedClips: number;
    /** Distinct damaged videos used, with what the decoder reported. */
    readonly damagedVideos: readonly DamagedVideo[];
  };
}

/** Resolves on the next turn of the event loop (after pending I/O callbacks and signal handlers). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The git commit of the working tree, or null outside a repository. */
export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return null;
  }
}

/** Builds the configured objectives: registry entries through `@lss/objectives`, module entries by import. */
export async function buildObjectives(config: TrainConfig, context: ObjectiveContext): Promise<WeightedObjective[]> {
  const out: WeightedObjective[] = [];
  try {
    for (const entry of config.objectives) {
      checkSpaces(entry, config);
      if (entry.name === 'module') out.push({ objective: await loadModuleObjective(entry, context), weight: entry.weight });
      else out.push(...createObjectives([toSpec(entry, context)]));
    }
  } catch (error) {
    for (const { objective } of out) objective.dispose();
    throw error;
  }
  linkTeacherDistributions(out); // concept alignment uses concept distillation's p_t (SPEC section 3)
  return out;
}

function checkSpaces(entry: ObjectiveConfig, config: TrainConfig): void {
  if (config.concepts.descriptions) return;
  const needs = entry.name === 'concept-alignment' || (('spaces' in entry && entry.spaces.includes('description')) as boolean);
  if (needs) {
    throw new ConfigError(
      `Objective ${entry.name} needs the description space, but concepts.descriptions is false. Set concepts.descriptions=true, or limit the objective to spaces: [category].`,
    );
  }
}

/**
 * The `@lss/objectives` spec of a config arm (they share field names; dino gets `inputDim` from the model:
 * the tower width for `headInput: 'class-token'`, the embedding width for `'embedding'`).
 */
function toSpec(entry: Exclude<ObjectiveConfig, ModuleObjectiveConfig>, context: ObjectiveContext): ObjectiveSpec {
  if (entry.name === 'dino') return { ...entry, inputDim: entry.headInput === 'class-token' ? context.width : context.embedDim };
  return entry as ObjectiveSpec;
}

async function loadModuleObjective(entry: ModuleObjectiveConfig, context: ObjectiveContext): Promise<Objective> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(entry.module).href)) as Record<string, unknown>;
  } catch (cause) {
    throw new ConfigError(
      `Cannot import objective module ${entry.module}: ${(cause as Error).message}. Check the path (relative to the config file).`,
      {
        cause,
      },
    );
  }
  const factory = mod[entry.export];
  if (typeof factory !== 'function') {
    throw new ConfigError(
      `Objective module ${entry.module} has no function export ${JSON.stringify(entry.export)}; it exports: ${Object.keys(mod).join(', ') || 'nothing'}. Export a factory (options, context) => Objective.`,
    );
  }
  const objective = await (factory as ObjectiveModuleFactory)(entry.options, context);
  if (!objective || typeof objective.id !== 'string' || typeof objective.terms !== 'function' || typeof objective.dispose !== 'function') {
    throw new ConfigError(`The factory ${entry.export} of ${entry.module} did not return an Objective (id, terms(), dispose()).`);
  }
  return objective;
}

/** Keys whose values differ between two resolved configs (for the resume warning). */
function configDiff(a: unknown, b: unknown, prefix = ''): string[] {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(root)'];
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) =>
    configDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k),
  );
}

/** Everything a run builds (flax `create_train_state`): one object, one `dispose()`. */
interface RunContext {
  readonly config: TrainConfig;
  readonly checkpointDir: string;
  readonly commit: string | null;
  readonly progress: ProgressReporter;
  readonly log: (line: string) => void;
  readonly state: TrainState;
  /** The student and teacher as `@lss/backbone` towers (checkpoint metadata, export). */
  readonly towers: Pick<Towers, 'student' | 'teacher'>;
  readonly concepts: RunConcepts;
  readonly source: ClipSource;
  readonly planner: StepPlanner;
  /** The steps' host batches, made ahead by worker threads; unreadable clips replaced and counted. */
  readonly input: TrainInput;
  readonly rng: SeededRandom;
  readonly metrics: MetricsWriter;
  /** The step after which the run stops (`training.maxSteps` or the schedules' end). */
  readonly endStep: number;
  /** The data-parallel process group, when there is one. */
  readonly group: ProcessGroup | undefined;
  /** True on the process that writes checkpoints, metrics and plots (rank 0, or the only process). */
  readonly writer: boolean;
  /** Optimizer steps completed (the next step to run). */
  step: number;
  nonFiniteStreak: number;
  resumedFrom: number | null;
  lastCheckpoint: string | null;
  dispose(): Promise<void>;
}

type StoppedBy = RunResult['stoppedBy'];

/**
 * Trains: setup, restore or initialise, the loop, the outputs. Resumes from `workdir/checkpoints` when a
 * checkpoint is there (unless `resume: false`).
 *
 * @example
 * const config = loadConfig('lss-tiny-synthetic', { overrides: ['training.maxSteps=4'] });
 * await initBackend(config.backend);
 * const result = await runTraining(config);
 */
export async function runTraining(config: TrainConfig, options: RunOptions = {}): Promise<RunResult> {
  // Before any expensive work: the run folder must be writable (real cause named: read-only, disk
  // full...), and no other trainer may use it (run.lock; a stale lock of a killed trainer is taken over).
  // In a data-parallel job rank 0 alone writes there (and holds the lock).
  const writer = (options.group?.rank ?? 0) === 0;
  if (writer) {
    ensureWritableDir(config.workdir, 'run folder');
    ensureWritableDir(join(config.workdir, 'checkpoints'), 'checkpoint folder');
  }
  const lock = writer ? acquireRunLock(config.workdir, { log: options.log ?? ((line) => process.stderr.write(`${line}\n`)) }) : null;
  try {
    const run = await setupRun(config, options);
    try {
      await restoreOrInit(run, options.resume !== false);
      const stoppedBy = await trainLoop(run, options);
      return await finishRun(run, stoppedBy, options);
    } finally {
      await run.dispose();
    }
  } finally {
    lock?.release();
  }
}

/**
 * Runs `work` on rank 0 first, then (after a barrier) on the other ranks: for work that fills a shared cache
 * or folder (the synthetic dataset, the concept spaces), so the others find it made instead of racing.
 */
async function rankZeroFirst<T>(group: ProcessGroup | undefined, work: () => Promise<T>): Promise<T> {
  if (!group) return work();
  if (group.rank === 0) {
    const out = await work();
    await group.barrier();
    return out;
  }
  await group.barrier();
  return work();
}

/** Builds everything: towers, concept spaces, data, objectives, optimizer, schedules, memory plan. */
async function setupRun(config: TrainConfig, options: RunOptions): Promise<RunContext> {
  const workdir = config.workdir;
  const checkpointDir = join(workdir, 'checkpoints');
  const { group } = options;
  const writer = (group?.rank ?? 0) === 0;
  if (writer) mkdirSync(checkpointDir, { recursive: true });
  const progress = new ProgressReporter(writer ? config.logging.progress : 'off');
  // Other ranks print their log lines as plain lines with the rank (torchrun --tee adds its own prefix too).
  const rankLog = (line: string) => {
    if (config.logging.progress !== 'off') process.stderr.write(`[rank ${group?.rank}] ${line}\n`);
  };
  const log = options.log ?? (writer ? (line: string) => progress.log(line) : rankLog);
  const commit = gitCommit();
  const backend = tf.getBackend();
  log(`lss-train ${config.name}: backend ${backend}, git commit ${commit ?? 'unknown'}, workdir ${workdir}`);
  if (group) log(`data parallel: rank ${group.rank} of ${group.worldSize} (${group.backend}, timeout ${group.timeoutMs / 1000} s)`);
  if (options.printConfig !== false && writer) log(`resolved config:\n${JSON.stringify(config, null, 2)}`);
  if (writer) writeFileAtomic(join(workdir, 'config.json'), `${JSON.stringify({ ...config, gitCommit: commit }, null, 2)}\n`);

  const disposers: (() => void | Promise<void>)[] = [];
  const disposeAll = async () => {
    for (const d of disposers.reverse()) await d();
  };
  try {
    // Model and concept spaces (the CLIP text tower is only needed to build them).
    const towers = await buildTowers(config);
    const { student, teacher } = towers;
    disposers.push(
      () => student.dispose(),
      () => teacher.dispose(),
    );
    let concepts: RunConcepts;
    try {
      concepts = await rankZeroFirst(group, () => buildRunConcepts(config, towers.clip, log)); // one rank fills the cache
    } finally {
      towers.clip?.dispose();
    }
    log(
      `concept spaces: ${concepts.category.size} categories (${config.concepts.categories})` +
        (concepts.description ? `, ${concepts.description.size} descriptions` : '') +
        (concepts.cached ? ' (from the cache)' : ''),
    );
    const conceptT = conceptTensors(concepts);
    disposers.push(() => disposeConceptTensors(conceptT));

    // Data and schedules: the learning rate follows SVT's rule, base x global batch / reference batch.
    const source = options.source ?? (await rankZeroFirst(group, () => openClipSource(config, log))); // one rank generates the synthetic set
    disposers.push(async () => {
      await source.close?.();
    });
    const { batchSize, stepsPerEpoch } = config.training;
    const { accumulationSteps } = config.optimizer;
    const worldSize = group?.worldSize ?? 1;
    const planner = new StepPlanner(source.numClips, batchSize, accumulationSteps, config.seed, stepsPerEpoch, {
      rank: group?.rank ?? 0,
      worldSize,
    });
    const globalBatch = batchSize * accumulationSteps * worldSize;
    const schedules = buildSchedules({
      epochs: config.training.epochs,
      stepsPerEpoch: planner.stepsPerEpoch,
      baseLearningRate: config.optimizer.baseLearningRate,
      batchSize: globalBatch,
      referenceBatchSize: config.optimizer.referenceBatchSize,
      minLearningRate: config.optimizer.minLearningRate,
      warmupEpochs: config.optimizer.warmupEpochs,
      weightDecay: config.optimizer.weightDecay,
      weightDecayEnd: config.optimizer.weightDecayEnd,
      momentum: config.teacher.momentum,
      momentumEnd: config.teacher.momentumEnd,
    });
    log(
      `learning rate ${config.optimizer.baseLearningRate} x ${globalBatch} / ${config.optimizer.referenceBatchSize} = ${schedules.peakLearningRate} ` +
        `(global batch ${batchSize} x ${accumulationSteps} micro-batches${worldSize > 1 ? ` x ${worldSize} ranks` : ''}); clipping ${config.optimizer.clipGradNorm === null ? 'off' : `${config.optimizer.clipMode} at ${config.optimizer.clipGradNorm}`}`,
    );

    // Objectives, optimizer, memory plan.
    const context: ObjectiveContext = {
      embedDim: student.embedDim,
      width: student.vision.config.width,
      numCategories: concepts.category.size,
      numDescriptions: concepts.description?.size ?? 0,
      config,
    };
    const objectives = options.objectives
      ? [...linkTeacherDistributions(options.objectives.map(asWeighted))]
      : await buildObjectives(config, context);
    disposers.push(() => {
      for (const { objective } of objectives) objective.dispose();
    });
    const numParameters = [...student.variables().values()].reduce((n, v) => n + v.size, 0);
    const memory = memoryPlanFor(backend, config.training.memoryPlan, numParameters);
    log(describeMemoryPlan(memory, backend));
    const optimizer = new AdamW({ ...pick(config.optimizer, 'beta1', 'beta2', 'epsilon'), hostSlots: memory.hostSlots });
    disposers.push(() => optimizer.dispose());
    const clipGradNorm = config.optimizer.clipGradNorm;
    const state: TrainState = {
      student,
      teacher,
      objectives,
      optimizer,
      schedules,
      concepts: conceptT,
      clipping: clipGradNorm === null ? null : { mode: config.optimizer.clipMode, maxNorm: clipGradNorm },
      memory,
      dropPath: { rate: config.model.dropPathRate, seed: config.seed },
      ...(group ? { dataParallel: group } : {}),
    };
    return {
      config,
      checkpointDir,
      commit,
      progress,
      log,
      state,
      towers: { student, teacher },
      concepts,
      source,
      planner,
      input: new TrainInput(source, planner, svtViewConfig(config.views), {
        seed: config.seed,
        prefetchSteps: config.data.prefetchSteps,
        maxBadFraction: config.data.maxBadFraction,
        // With a group every rank learns every rank's unreadable videos; rank 0 logs them, with the rank.
        onBadVideo: (b, replacement) => {
          if (!writer) return;
          const where = b.rank !== undefined ? ` on rank ${b.rank}` : '';
          log(
            `unreadable training video ${b.path}${where}: ${b.reason}${replacement !== null ? ` (replaced by clip ${replacement})` : ''}`,
          );
        },
        ...(group ? { group } : {}),
      }),
      rng: new SeededRandom(config.seed),
      metrics: new MetricsWriter(join(workdir, 'metrics.jsonl')),
      endStep: Math.min(schedules.totalSteps, config.training.maxSteps ?? schedules.totalSteps),
      group,
      writer,
      step: 0,
      nonFiniteStreak: 0,
      resumedFrom: null,
      lastCheckpoint: null,
      dispose: disposeAll,
    };
  } catch (error) {
    await disposeAll();
    throw error;
  }
}

/**
 * Resumes from the newest checkpoint (every role, the optimizer, the objectives, the RNG), or starts the teacher
 * as a copy of the student. In a data-parallel job rank 0 does this and broadcasts the result to every rank.
 */
async function restoreOrInit(run: RunContext, resume: boolean): Promise<void> {
  if (run.writer) restoreOrInitLocal(run, resume);
  if (run.group) await syncFromRankZero(run, run.group);
}

function restoreOrInitLocal(run: RunContext, resume: boolean): void {
  const { student, teacher } = run.state;
  const latest = resume ? newestCheckpoint(run.checkpointDir) : null;
  if (!latest) {
    copyStudentToTeacher(relativeVariables(student), relativeVariables(teacher));
    run.metrics.truncateFrom(0);
    return;
  }
  const diff = configDiff(latest.meta.config, JSON.parse(JSON.stringify(run.config)) as unknown).filter(
    (k) => !/^(training\.maxSteps|logging\.|checkpoint\.|workdir|backend)/.test(k),
  );
  if (diff.length > 0) run.log(`warning: resuming with a config that differs from the checkpoint's in: ${diff.join(', ')}`);
  const savedWorld = latest.meta.worldSize ?? 1;
  const worldSize = run.group?.worldSize ?? 1;
  if (savedWorld !== worldSize) {
    run.log(
      `warning: the checkpoint was written by a run of ${savedWorld} process(es), this run has ${worldSize}: the global batch ` +
        `(training.batchSize x ranks) and therefore the data order change from here on; the weights, optimizer and schedules continue.`,
    );
  }
  applyState(run, latest.tensors, latest.meta);
  run.resumedFrom = run.step;
  run.lastCheckpoint = latest.path;
  run.metrics.truncateFrom(run.step);
  run.log(`resumed from ${latest.path} at step ${run.step}`);
}

/** The counters a checkpoint's sidecar holds besides the tensors. */
type RunCounters = Pick<CheckpointMeta, 'step' | 'rngState' | 'optimizerStep' | 'nonFiniteStreak' | 'input'>;

/** Sets every role, the optimizer, the objectives' state and the counters from checkpoint tensors. */
function applyState(
  run: RunContext,
  tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  meta: RunCounters,
): void {
  const { student, teacher, objectives, optimizer } = run.state;
  restoreVariables(tensors, student.variables(), [student.root], tf);
  restoreVariables(tensors, teacher.variables(), [teacher.root], tf);
  const slots = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [k, v] of tensors) if (k.startsWith(`${OPTIMIZER_ROOT}/`)) slots.set(k.slice(OPTIMIZER_ROOT.length + 1), v);
  optimizer.setState({ step: meta.optimizerStep, slots }, optimizedVariables(student, objectives));
  const objectiveState = new Map<string, tf.Tensor>();
  for (const [k, v] of tensors) {
    // Every objective variable, trainable heads included: the objectives route them (loadObjectiveVariables).
    if (k.startsWith('objectives/')) objectiveState.set(k, tf.tensor(v.data, [...v.shape], 'float32'));
  }
  try {
    if (objectiveState.size > 0) loadObjectiveVariables(objectives, objectiveState);
  } finally {
    tf.dispose([...objectiveState.values()]);
  }
  run.rng.setState(meta.rngState);
  run.input.restore(meta.input);
  run.step = meta.step;
  run.nonFiniteStreak = meta.nonFiniteStreak;
}

/** Every tensor a checkpoint holds (student, teacher, AdamW slots, objective state and heads), by checkpoint path. */
function stateTensors(run: RunContext): Map<string, tf.Tensor | { shape: readonly number[]; data: Float32Array }> {
  const { student, teacher, optimizer, objectives } = run.state;
  const all = new Map<string, tf.Tensor | { shape: readonly number[]; data: Float32Array }>([
    ...student.variables(),
    ...teacher.variables(),
  ]);
  for (const [k, v] of optimizer.slotTensors()) all.set(k, v);
  for (const [k, v] of objectiveVariables(objectives)) all.set(k, v);
  for (const { objective } of objectives) for (const v of objective.trainableVariables?.() ?? []) all.set(v.name, v);
  return all;
}

/** Header of the state broadcast: what rank 0 restored, the tensors' names and shapes. */
interface StateHeader {
  readonly counters: RunCounters;
  readonly resumedFrom: number | null;
  readonly lastCheckpoint: string | null;
  readonly tensors: readonly { readonly name: string; readonly shape: readonly number[] }[];
}

/**
 * Rank 0's whole state to every rank (PyTorch DDP broadcasts the module's state from rank 0 at construction;
 * here the optimizer and objectives too, so a resumed job continues identically on every rank and only rank 0
 * needs to read the checkpoint). Fails with a ConfigError naming the rank whose model or objectives differ.
 */
async function syncFromRankZero(run: RunContext, group: ProcessGroup): Promise<void> {
  const own = stateTensors(run);
  let header: StateHeader | null = null;
  if (group.rank === 0) {
    header = {
      counters: {
        step: run.step,
        rngState: run.rng.state(),
        optimizerStep: run.state.optimizer.iterations,
        nonFiniteStreak: run.nonFiniteStreak,
        input: run.input.state(),
      },
      resumedFrom: run.resumedFrom,
      lastCheckpoint: run.lastCheckpoint,
      tensors: [...own].map(([name, v]) => ({ name, shape: [...v.shape] })),
    };
  }
  const headerBytes = await broadcastBytes(group, header ? new TextEncoder().encode(JSON.stringify(header)) : null);
  header = JSON.parse(new TextDecoder().decode(headerBytes)) as StateHeader;
  // Every rank checks that it has the variables rank 0 sends (AdamW slots do not exist yet on a fresh rank).
  const theirs = new Map(header.tensors.map((t) => [t.name, t.shape]));
  const mismatch = [...own]
    .filter(([name]) => !name.startsWith(`${OPTIMIZER_ROOT}/`))
    .filter(([name, v]) => JSON.stringify(theirs.get(name)) !== JSON.stringify([...v.shape]))
    .map(([name, v]) => `${name} [${v.shape.join(', ')}] vs rank 0's ${theirs.has(name) ? `[${theirs.get(name)?.join(', ')}]` : 'none'}`);
  const mismatchFlag = Float32Array.of(mismatch.length > 0 ? group.rank + 1 : 0);
  await group.allReduce([mismatchFlag], 'max');
  if (mismatch.length > 0) {
    throw new ConfigError(
      `Rank ${group.rank}'s model or objectives differ from rank 0's in ${mismatch.length} tensor(s): ${mismatch.slice(0, 5).join('; ')}. Every rank must run the same config and code.`,
    );
  }
  if ((mismatchFlag[0] as number) > 0) {
    throw new ConfigError(
      `Rank ${(mismatchFlag[0] as number) - 1}'s model or objectives differ from rank 0's; every rank must run the same config and code.`,
    );
  }
  const received = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const { name, shape } of header.tensors) {
    const data = new Float32Array(shape.reduce((n, d) => n * d, 1));
    if (group.rank === 0) {
      const v = own.get(name) as tf.Tensor | { data: Float32Array };
      data.set(v instanceof tf.Tensor ? ((await v.data()) as Float32Array) : v.data);
    }
    await group.broadcast(data, 0);
    received.set(name, { shape, data });
  }
  if (group.rank !== 0) {
    applyState(run, received, header.counters);
    run.resumedFrom = header.resumedFrom;
    run.lastCheckpoint = header.lastCheckpoint;
    if (run.resumedFrom !== null) run.log(`resumed from rank 0's ${header.lastCheckpoint} at step ${run.step}`);
  }
}

/** `bytes` of rank 0 on every rank (length first, then the payload). */
async function broadcastBytes(group: ProcessGroup, bytes: Uint8Array | null): Promise<Uint8Array> {
  const length = Int32Array.of(bytes?.length ?? 0);
  await group.broadcast(length, 0);
  const out = bytes ?? new Uint8Array(length[0] as number);
  await group.broadcast(out, 0);
  return out;
}

function newestCheckpoint(dir: string): ReturnType<typeof readCheckpoint> | null {
  try {
    return readCheckpoint(dir);
  } catch {
    return null;
  }
}

/**
 * The loop (timm `train_one_epoch`, nanoGPT): take the step's micro-batches, step, report, checkpoint;
 * stop at the end, on a signal, at `stopAfterStep`, or after N non-finite steps in a row.
 */
async function trainLoop(run: RunContext, options: RunOptions): Promise<StoppedBy> {
  const { config } = run;
  const signals = options.handleSignals ? watchSignals(run.log) : null;
  const timer = new StepTimer(run.endStep);
  try {
    while (run.step < run.endStep) {
      timer.start();
      const microBatches = await run.input.take(run.step, run.endStep); // the next steps' views are made meanwhile
      const rngState = run.rng.state();
      const result = await stepOrSkip(run, microBatches);
      const step = run.step;
      run.step += 1;
      options.onStep?.(step, result);
      if (result) report(run, step, result, timer.stop(run.step, result.numClips));
      // Let the event loop run once per step: signal handlers (and timers) run only from libuv's loop,
      // and with an in-memory or cached source every await above resolves through microtasks alone.
      await yieldToEventLoop();
      if (run.nonFiniteStreak >= config.logging.maxNonFiniteSteps) {
        const path = await save(run, rngState);
        run.progress.done();
        run.log(`stopping: ${run.nonFiniteStreak} non-finite steps in a row; checkpoint ${path}`);
        return 'non-finite';
      }
      const signalled = run.group ? await anyRank(run.group, signals?.requested ?? false) : (signals?.requested ?? false);
      const stop: StoppedBy | null = signalled
        ? 'signal'
        : options.stopAfterStep !== undefined && run.step >= options.stopAfterStep
          ? 'stopAfterStep'
          : null;
      if (run.step % config.checkpoint.every === 0 || run.step === run.endStep || stop) await save(run, rngState);
      if (stop) {
        run.progress.done();
        run.log(`stopped after step ${run.step}; checkpoint ${run.lastCheckpoint}. Run the same command again to resume.`);
        return stop;
      }
    }
    return 'done';
  } finally {
    run.progress.done();
    await run.input.close();
    signals?.dispose();
  }
}

/** True on every rank when `flag` is true on any rank (the ranks stop on a signal after the same step). */
async function anyRank(group: ProcessGroup, flag: boolean): Promise<boolean> {
  const value = Int32Array.of(flag ? 1 : 0);
  await group.allReduce([value], 'max');
  return (value[0] as number) > 0;
}

/** One optimizer step; a non-finite loss or gradient skips it (logged, written to the metrics, counted). */
async function stepOrSkip(run: RunContext, microBatches: HostBatch[]): Promise<StepResult | null> {
  const { step, state } = run;
  try {
    const result = await trainStep(state, microBatches, step);
    run.nonFiniteStreak = 0;
    return result;
  } catch (error) {
    if (!(error instanceof NonFiniteLossError)) throw error;
    run.nonFiniteStreak += 1;
    run.log(`${error.message} (${run.nonFiniteStreak} in a row; the run stops after ${run.config.logging.maxNonFiniteSteps})`);
    if (!run.writer) return null;
    const { total, gradNorm, ...terms } = error.terms;
    run.metrics.write({
      step,
      epoch: step / state.schedules.stepsPerEpoch,
      loss: total ?? Number.NaN,
      terms,
      learningRate: state.schedules.learningRate[step] as number,
      weightDecay: state.schedules.weightDecay[step] as number,
      teacherMomentum: state.schedules.teacherMomentum[step] as number,
      gradNorm: gradNorm ?? Number.NaN,
      clipsPerSecond: 0,
      seconds: run.metrics.elapsedSeconds(),
      nonFinite: true,
      ...run.input.counts(),
    });
    return null;
  }
}

/** Metrics line (every `logging.every` steps and the last) and the progress bar. */
function report(run: RunContext, step: number, result: StepResult, timing: { clipsPerSecond: number; etaSeconds: number }): void {
  if (run.writer && (step % run.config.logging.every === 0 || step + 1 === run.endStep)) {
    run.metrics.write({
      step,
      epoch: step / run.state.schedules.stepsPerEpoch,
      loss: result.loss,
      terms: result.terms,
      learningRate: result.learningRate,
      weightDecay: result.weightDecay,
      teacherMomentum: result.teacherMomentum,
      gradNorm: result.gradNorm,
      clipsPerSecond: timing.clipsPerSecond,
      seconds: run.metrics.elapsedSeconds(),
      ...run.input.counts(),
    });
  }
  run.progress.update({
    step: step + 1,
    totalSteps: run.endStep,
    clipsPerSecond: timing.clipsPerSecond,
    etaSeconds: timing.etaSeconds,
    loss: result.loss,
    terms: result.terms,
    learningRate: result.learningRate,
  });
}

/** Writes a checkpoint of everything the run owns after `run.step` completed steps (rank 0 only in a data-parallel job). */
async function save(run: RunContext, rngState: RandomState): Promise<string | null> {
  if (!run.writer) return run.lastCheckpoint;
  const { optimizer, schedules } = run.state;
  const meta: Omit<CheckpointMeta, 'format' | 'formatVersion' | 'savedAt' | 'tensorsFile'> = {
    step: run.step,
    epoch: run.step / schedules.stepsPerEpoch,
    rngState,
    input: run.input.state(),
    optimizerStep: optimizer.iterations,
    nonFiniteStreak: run.nonFiniteStreak,
    gitCommit: run.commit,
    config: JSON.parse(JSON.stringify(run.config)) as unknown,
    backbone: run.towers.student.vision.config,
    worldSize: run.group?.worldSize ?? 1,
  };
  run.lastCheckpoint = await saveCheckpoint(run.checkpointDir, stateTensors(run), meta, run.config.checkpoint.keepLast);
  return run.lastCheckpoint;
}

/** Writes the plot and (after a complete run) the trained towers; returns the run's summary. */
async function finishRun(run: RunContext, stoppedBy: StoppedBy, options: RunOptions): Promise<RunResult> {
  const { config, state, metrics } = run;
  const workdir = config.workdir;
  const plotPath = run.writer ? join(workdir, 'training.svg') : null;
  if (plotPath) {
    writeFileSync(
      plotPath,
      renderTrainingPlot(readMetrics(metrics.path), state.schedules.learningRate, `${config.name}: ${run.step}/${run.endStep} steps`),
    );
  }
  let studentPath: string | null = null;
  let teacherPath: string | null = null;
  if (run.writer && options.exportTowers !== false && stoppedBy === 'done') {
    studentPath = join(workdir, 'student.safetensors');
    teacherPath = join(workdir, 'teacher.safetensors');
    const { towers } = run;
    await saveVideoVit(towers.student.vision, studentPath, { metadata: { role: 'student', step: String(run.step) } });
    await saveVideoVit(towers.teacher.vision, teacherPath, { metadata: { role: 'teacher', step: String(run.step) } });
    run.log(`trained towers: ${teacherPath} (EMA teacher, use for evaluation), ${studentPath}`);
  }
  if (run.writer) run.log(`input: ${run.input.summary()}${run.group ? ` (all ${run.group.worldSize} ranks)` : ''}`);
  run.log(`done: ${run.step}/${run.endStep} steps (${stoppedBy})${run.writer ? `; metrics ${metrics.path}; plot ${plotPath}` : ''}`);
  return {
    workdir,
    step: run.step,
    totalSteps: run.endStep,
    stoppedBy,
    resumedFrom: run.resumedFrom,
    lastCheckpoint: run.lastCheckpoint,
    metricsPath: metrics.path,
    plotPath,
    studentPath,
    teacherPath,
    concepts: {
      numCategories: run.concepts.category.size,
      numDescriptions: run.concepts.description?.size ?? 0,
      cached: run.concepts.cached,
    },
    input: { ...run.input.counts(), badVideos: run.input.state().badVideos, damagedVideos: run.input.state().damagedVideos ?? [] },
  };
}

/** Clips per second and an ETA from a smoothed step time. */
class StepTimer {
  private t0 = 0;
  private timed = 0;
  private average = 0;

  constructor(private readonly endStep: number) {}

  start(): void {
    this.t0 = performance.now();
  }

  stop(completed: number, numClips: number): { clipsPerSecond: number; etaSeconds: number } {
    const seconds = (performance.now() - this.t0) / 1000;
    this.timed += 1;
    this.average = this.timed === 1 ? seconds : 0.8 * this.average + 0.2 * seconds;
    return { clipsPerSecond: numClips / seconds, etaSeconds: (this.endStep - completed) * this.average };
  }
}

/** SIGINT/SIGTERM: finish the current step, save, exit cleanly. A second signal exits at once. */
function watchSignals(log: (line: string) => void): { readonly requested: boolean; dispose(): void } {
  let requested: string | null = null;
  const onSignal = (signal?: NodeJS.Signals) => {
    const name = signal ?? 'signal';
    if (requested !== null) {
      log(`${name} again: exiting without a checkpoint.`);
      process.exit(130);
    }
    requested = name;
    log(`${name}: stopping after the current step and saving a checkpoint (send it again to exit at once).`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    get requested() {
      return requested !== null;
    },
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function pick<T extends object, K extends keyof T>(object: T, ...keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((k) => [k, object[k]])) as Pick<T, K>;
}
