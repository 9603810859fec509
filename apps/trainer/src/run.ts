/**
 * `runTraining(config, options)`: the whole LSS run (flax `train_and_evaluate` style). Builds the
 * student/teacher from CLIP, the concept spaces (cached), the data, the objectives (config registry,
 * module files, or injected objects), AdamW and the schedules; resumes from the newest checkpoint
 * in `workdir/checkpoints` when there is one; trains with progress, metrics JSONL and periodic
 * atomic checkpoints; stops cleanly on SIGINT/SIGTERM (with a checkpoint) and after N non-finite
 * steps in a row (with a checkpoint); writes the loss/lr plot and the trained towers at the end.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { saveVideoVit } from '@lss/backbone';
import { ConfigError, NonFiniteLossError, SeededRandom } from '@lss/core';
import { ensureWritableDir, writeFileAtomic } from '@lss/core/node';
import {
  createObjectives,
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
import { type ClipSource, loadStep, openClipSource, StepPlanner, svtViewConfig } from './data.js';
import { copyStudentToTeacher } from './ema.js';
import { MetricsWriter, readMetrics } from './metrics.js';
import { buildTowers } from './model.js';
import { AdamW, OPTIMIZER_ROOT } from './optim/adamw.js';
import { renderTrainingPlot } from './plot.js';
import { ProgressReporter } from './progress.js';
import { acquireRunLock } from './run-lock.js';
import { buildSchedules } from './schedules.js';
import { type HostBatch, optimizedVariables, type StepResult, type TrainState, trainStep } from './train-step.js';

/** What a module-file objective factory receives besides its `options`. */
export interface ObjectiveContext {
  /** Width E of the video embedding (the input of a learned head). */
  readonly embedDim: number;
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

/** The `@lss/objectives` spec of a config arm (they share field names; dino gets `inputDim` from the model). */
function toSpec(entry: Exclude<ObjectiveConfig, ModuleObjectiveConfig>, context: ObjectiveContext): ObjectiveSpec {
  if (entry.name === 'dino') return { ...entry, inputDim: context.embedDim };
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

function asWeighted(list: readonly (WeightedObjective | Objective)[]): WeightedObjective[] {
  return list.map((o) =>
    'objective' in o && typeof (o as WeightedObjective).weight === 'number'
      ? (o as WeightedObjective)
      : { objective: o as Objective, weight: 1 },
  );
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

/**
 * Trains. Resumes from `workdir/checkpoints` when a checkpoint is there (unless `resume: false`).
 *
 * @example
 * const config = loadConfig('lss-tiny-synthetic', { overrides: ['training.maxSteps=4'] });
 * await initBackend(config.backend);
 * const result = await runTraining(config);
 */
export async function runTraining(config: TrainConfig, options: RunOptions = {}): Promise<RunResult> {
  // Before any expensive work: the run folder must be writable (real cause named: read-only, disk
  // full...), and no other trainer may use it (run.lock; a stale lock of a killed trainer is taken over).
  ensureWritableDir(config.workdir, 'run folder');
  ensureWritableDir(join(config.workdir, 'checkpoints'), 'checkpoint folder');
  const lock = acquireRunLock(config.workdir, { log: options.log ?? ((line) => process.stderr.write(`${line}\n`)) });
  try {
    return await runLocked(config, options);
  } finally {
    lock.release();
  }
}

async function runLocked(config: TrainConfig, options: RunOptions): Promise<RunResult> {
  const workdir = config.workdir;
  const checkpointDir = join(workdir, 'checkpoints');
  mkdirSync(checkpointDir, { recursive: true });
  const progress = new ProgressReporter(config.logging.progress);
  const log = options.log ?? ((line: string) => progress.log(line));
  const commit = gitCommit();
  log(`lss-train ${config.name}: backend ${tf.getBackend()}, git commit ${commit ?? 'unknown'}, workdir ${workdir}`);
  if (options.printConfig !== false) log(`resolved config:\n${JSON.stringify(config, null, 2)}`);
  writeFileAtomic(join(workdir, 'config.json'), `${JSON.stringify({ ...config, gitCommit: commit }, null, 2)}\n`);

  // Model, concept spaces, data, objectives, optimizer.
  const towers = await buildTowers(config);
  const { student, teacher } = towers;
  let concepts: RunConcepts;
  try {
    concepts = await buildRunConcepts(config, towers.clip, log);
  } finally {
    towers.clip?.dispose(); // the student and teacher are copies; the text tower is no longer needed
  }
  log(
    `concept spaces: ${concepts.category.size} categories (${config.concepts.categories})` +
      (concepts.description ? `, ${concepts.description.size} descriptions` : '') +
      (concepts.cached ? ' (from the cache)' : ''),
  );
  const conceptT = conceptTensors(concepts);
  const source = options.source ?? (await openClipSource(config, log));
  const planner = new StepPlanner(
    source.numClips,
    config.training.batchSize,
    config.optimizer.accumulationSteps,
    config.seed,
    config.training.stepsPerEpoch,
  );
  const schedules = buildSchedules({
    epochs: config.training.epochs,
    stepsPerEpoch: planner.stepsPerEpoch,
    learningRate: config.optimizer.learningRate,
    minLearningRate: config.optimizer.minLearningRate,
    warmupEpochs: config.optimizer.warmupEpochs,
    weightDecay: config.optimizer.weightDecay,
    weightDecayEnd: config.optimizer.weightDecayEnd,
    momentum: config.teacher.momentum,
    momentumEnd: config.teacher.momentumEnd,
  });
  const context: ObjectiveContext = {
    embedDim: student.embedDim,
    numCategories: concepts.category.size,
    numDescriptions: concepts.description?.size ?? 0,
    config,
  };
  const objectives = options.objectives ? asWeighted(options.objectives) : await buildObjectives(config, context);
  const optimizer = new AdamW({
    beta1: config.optimizer.beta1,
    beta2: config.optimizer.beta2,
    epsilon: config.optimizer.epsilon,
    hostSlots: config.optimizer.hostSlots,
  });
  const state: TrainState = {
    student,
    teacher,
    objectives,
    optimizer,
    schedules,
    concepts: conceptT,
    clipGradNorm: config.optimizer.clipGradNorm,
    recompute: config.model.recompute,
    viewwiseBackward: config.model.viewwiseBackward,
    ...(config.model.maxClipsPerCall !== null ? { maxClipsPerCall: config.model.maxClipsPerCall } : {}),
  };
  const viewConfig = svtViewConfig(config.views);
  const rng = new SeededRandom(config.seed);
  const metrics = new MetricsWriter(join(workdir, 'metrics.jsonl'));
  const endStep = Math.min(schedules.totalSteps, config.training.maxSteps ?? schedules.totalSteps);
  let step = 0;
  let resumedFrom: number | null = null;
  let nonFiniteStreak = 0;
  let lastCheckpoint: string | null = null;

  // Resume.
  const latest =
    options.resume === false
      ? null
      : (() => {
          try {
            return readCheckpoint(checkpointDir);
          } catch {
            return null;
          }
        })();
  if (latest) {
    const diff = configDiff(latest.meta.config, JSON.parse(JSON.stringify(config)) as unknown).filter(
      (k) => !/^(training\.maxSteps|logging\.|checkpoint\.|workdir|backend)/.test(k),
    );
    if (diff.length > 0) log(`warning: resuming with a config that differs from the checkpoint's in: ${diff.join(', ')}`);
    restoreVariables(latest.tensors, student.variables(), [student.root], tf);
    restoreVariables(latest.tensors, teacher.variables(), [teacher.root], tf);
    const optimized = optimizedVariables(student, objectives);
    const slots = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [k, v] of latest.tensors) if (k.startsWith(`${OPTIMIZER_ROOT}/`)) slots.set(k.slice(OPTIMIZER_ROOT.length + 1), v);
    optimizer.setState({ step: latest.meta.optimizerStep, slots }, optimized);
    const objectiveState = new Map<string, tf.Tensor>();
    for (const [k, v] of latest.tensors) {
      // Every objective variable, trainable heads included: the objectives route them (loadObjectiveVariables).
      if (k.startsWith('objectives/')) objectiveState.set(k, tf.tensor(v.data, [...v.shape], 'float32'));
    }
    try {
      if (objectiveState.size > 0) loadObjectiveVariables(objectives, objectiveState);
    } finally {
      tf.dispose([...objectiveState.values()]);
    }
    rng.setState(latest.meta.rngState);
    step = latest.meta.step;
    nonFiniteStreak = latest.meta.nonFiniteStreak;
    resumedFrom = step;
    lastCheckpoint = latest.path;
    metrics.truncateFrom(step);
    log(`resumed from ${latest.path} at step ${step}`);
  } else {
    copyStudentToTeacher(
      new Map([...student.variables()].map(([k, v]) => [k.slice(student.root.length + 1), v])),
      new Map([...teacher.variables()].map(([k, v]) => [k.slice(teacher.root.length + 1), v])),
    );
    metrics.truncateFrom(0);
  }

  // Signals: finish the current step, save, exit cleanly. A second signal exits at once.
  let stopRequested: string | null = null;
  const onSignal = (signal?: NodeJS.Signals) => {
    const name = signal ?? 'signal';
    if (stopRequested !== null) {
      log(`${name} again: exiting without a checkpoint.`);
      process.exit(130);
    }
    stopRequested = name;
    log(`${name}: stopping after the current step and saving a checkpoint (send it again to exit at once).`);
  };
  if (options.handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const save = async (completed: number, rngState: ReturnType<SeededRandom['state']>): Promise<string> => {
    const all = new Map<string, tf.Tensor | { shape: readonly number[]; data: Float32Array }>([
      ...student.variables(),
      ...teacher.variables(),
    ]);
    for (const [k, v] of optimizer.slotTensors()) all.set(k, v);
    for (const [k, v] of objectiveVariables(objectives)) all.set(k, v);
    for (const { objective } of objectives) for (const v of objective.trainableVariables?.() ?? []) all.set(v.name, v);
    const meta: Omit<CheckpointMeta, 'format' | 'formatVersion' | 'savedAt' | 'tensorsFile'> = {
      step: completed,
      epoch: completed / schedules.stepsPerEpoch,
      rngState,
      optimizerStep: optimizer.iterations,
      nonFiniteStreak,
      gitCommit: commit,
      config: JSON.parse(JSON.stringify(config)) as unknown,
      backbone: student.vision.config,
    };
    const path = await saveCheckpoint(checkpointDir, all, meta, config.checkpoint.keepLast);
    lastCheckpoint = path;
    return path;
  };

  // Step seeds come from the run RNG, drawn in step order (also when prefetching); the state after
  // drawing step s's seed is what a checkpoint after step s saves.
  const seedStates = new Map<number, { seed: number; stateAfter: ReturnType<SeededRandom['state']> }>();
  const drawSeed = (s: number) => {
    const seed = rng.next();
    seedStates.set(s, { seed, stateAfter: rng.state() });
    return seed;
  };
  const fetch = (s: number): Promise<HostBatch[]> => {
    return loadStep(source, planner, viewConfig, s, drawSeed(s));
  };

  let stoppedBy: RunResult['stoppedBy'] = 'done';
  const started = performance.now();
  let stepsTimed = 0;
  let avgStepSeconds = 0;
  let prefetch: Promise<HostBatch[]> | null = step < endStep ? fetch(step) : null;
  try {
    while (step < endStep) {
      const t0 = performance.now();
      const batches = await (prefetch as Promise<HostBatch[]>);
      prefetch = step + 1 < endStep ? fetch(step + 1) : null;
      prefetch?.catch(() => undefined); // surfaced when awaited
      let result: StepResult | null = null;
      try {
        result = await trainStep(state, batches, step);
        nonFiniteStreak = 0;
      } catch (error) {
        if (!(error instanceof NonFiniteLossError)) throw error;
        nonFiniteStreak += 1;
        log(`${error.message} (${nonFiniteStreak} in a row; the run stops after ${config.logging.maxNonFiniteSteps})`);
        metrics.write({
          step,
          epoch: step / schedules.stepsPerEpoch,
          loss: error.terms.total ?? Number.NaN,
          terms: Object.fromEntries(Object.entries(error.terms).filter(([k]) => k !== 'total')),
          learningRate: schedules.learningRate[step] as number,
          weightDecay: schedules.weightDecay[step] as number,
          teacherMomentum: schedules.teacherMomentum[step] as number,
          gradNorm: Number.NaN,
          clipsPerSecond: 0,
          seconds: (performance.now() - started) / 1000,
          nonFinite: true,
        });
      }
      const seconds = (performance.now() - t0) / 1000;
      stepsTimed += 1;
      avgStepSeconds = stepsTimed === 1 ? seconds : 0.8 * avgStepSeconds + 0.2 * seconds;
      const completed = step + 1;
      const rngState = (seedStates.get(step) as { stateAfter: ReturnType<SeededRandom['state']> }).stateAfter;
      seedStates.delete(step);
      options.onStep?.(step, result);
      if (result) {
        const clipsPerSecond = result.numClips / seconds;
        if (step % config.logging.every === 0 || completed === endStep) {
          metrics.write({
            step,
            epoch: step / schedules.stepsPerEpoch,
            loss: result.loss,
            terms: result.terms,
            learningRate: result.learningRate,
            weightDecay: result.weightDecay,
            teacherMomentum: result.teacherMomentum,
            gradNorm: result.gradNorm,
            clipsPerSecond,
            seconds: (performance.now() - started) / 1000,
          });
        }
        progress.update({
          step: completed,
          totalSteps: endStep,
          clipsPerSecond,
          etaSeconds: (endStep - completed) * avgStepSeconds,
          loss: result.loss,
          terms: result.terms,
          learningRate: result.learningRate,
        });
      }
      step = completed;
      // Let the event loop run once per step: signal handlers (and timers) run only from libuv's loop,
      // and with an in-memory or cached source every await above resolves through microtasks alone.
      await yieldToEventLoop();
      if (nonFiniteStreak >= config.logging.maxNonFiniteSteps) {
        const path = await save(step, rngState);
        progress.done();
        log(`stopping: ${nonFiniteStreak} non-finite steps in a row; checkpoint ${path}`);
        stoppedBy = 'non-finite';
        break;
      }
      const stopNow = stopRequested !== null || (options.stopAfterStep !== undefined && step >= options.stopAfterStep);
      if (step % config.checkpoint.every === 0 || step === endStep || stopNow) await save(step, rngState);
      if (stopNow) {
        stoppedBy = stopRequested !== null ? 'signal' : 'stopAfterStep';
        progress.done();
        log(`stopped after step ${step}; checkpoint ${lastCheckpoint}. Run the same command again to resume.`);
        break;
      }
    }
  } finally {
    progress.done();
    if (prefetch) await prefetch.catch(() => undefined);
    if (options.handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  // Outputs: plot, trained towers.
  let plotPath: string | null = null;
  let studentPath: string | null = null;
  let teacherPath: string | null = null;
  try {
    const records = readMetrics(metrics.path);
    plotPath = join(workdir, 'training.svg');
    writeFileSync(plotPath, renderTrainingPlot(records, schedules.learningRate, `${config.name}: ${step}/${endStep} steps`));
    if (options.exportTowers !== false && stoppedBy === 'done') {
      studentPath = join(workdir, 'student.safetensors');
      teacherPath = join(workdir, 'teacher.safetensors');
      await saveVideoVit(student.vision, studentPath, { metadata: { role: 'student', step: String(step) } });
      await saveVideoVit(teacher.vision, teacherPath, { metadata: { role: 'teacher', step: String(step) } });
      log(`trained towers: ${teacherPath} (EMA teacher, use for evaluation), ${studentPath}`);
    }
  } finally {
    for (const { objective } of objectives) objective.dispose();
    optimizer.dispose();
    disposeConceptTensors(conceptT);
    student.dispose();
    teacher.dispose();
    await source.close?.();
  }
  log(`done: ${step}/${endStep} steps (${stoppedBy}); metrics ${metrics.path}; plot ${plotPath}`);
  return {
    workdir,
    step,
    totalSteps: endStep,
    stoppedBy,
    resumedFrom,
    lastCheckpoint,
    metricsPath: metrics.path,
    plotPath,
    studentPath,
    teacherPath,
    concepts: { numCategories: concepts.category.size, numDescriptions: concepts.description?.size ?? 0, cached: concepts.cached },
  };
}
