/**
 * Checkpoints: every role's variables in one safetensors file (readable by PyTorch's
 * `safetensors.torch.load_file`) plus a JSON sidecar, as DINO's role-keyed `save_dict`:
 *
 * - `student/...`, `teacher/...`: the towers (paths rooted at the role);
 * - `optimizer/<variable path>/m|v`: AdamW slots (the step count is in the sidecar);
 * - `objectives/<id>/...`: objective state (centres, dino heads).
 *
 * The sidecar holds the step, the RNG state, the resolved config, the git commit and the format
 * version. Both files are written atomically (temporary file, fsync, rename), the sidecar after the
 * tensors, and `latest.json` (a pointer) last: a crash at any moment leaves the previous checkpoint
 * usable, and a half-written one (tensors without sidecar) is ignored. Only the last `keepLast`
 * checkpoints are kept.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { RandomState } from '@lss/core';
import { WeightsError } from '@lss/core';
import { listStepFiles, readSafetensorsFile, removeStaleTemporaryFiles, writeFileAtomic, writeSafetensorsFile } from '@lss/core/node';
import type * as tf from '@tensorflow/tfjs-core';
import type { InputState } from './data.js';

export const CHECKPOINT_FORMAT = 'lss-trainer-checkpoint';
export const CHECKPOINT_FORMAT_VERSION = 1;

/** The JSON sidecar of a checkpoint. */
export interface CheckpointMeta {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly formatVersion: number;
  /** Optimizer steps completed; training resumes at this step. */
  readonly step: number;
  /** `step / stepsPerEpoch`. */
  readonly epoch: number;
  /** The run's RNG state after `step` steps. */
  readonly rngState: RandomState;
  /** AdamW's step count (t in the bias corrections). */
  readonly optimizerStep: number;
  /** Consecutive non-finite steps at save time. */
  readonly nonFiniteStreak: number;
  readonly gitCommit: string | null;
  readonly savedAt: string;
  /** The resolved training config. */
  readonly config: unknown;
  /** The video tower's config (so a checkpoint rebuilds the model alone). */
  readonly backbone: unknown;
  /** The safetensors file next to this sidecar. */
  readonly tensorsFile: string;
  /** Unreadable training videos met so far (absent in checkpoints written before it existed). */
  readonly input?: InputState;
  /** Processes of the data-parallel run that wrote it (absent: 1). Resuming with another number changes the data order. */
  readonly worldSize?: number;
}

export interface LoadedCheckpoint {
  readonly meta: CheckpointMeta;
  readonly tensors: Map<string, { shape: readonly number[]; data: Float32Array }>;
  /** Path of the safetensors file. */
  readonly path: string;
}

const stem = (step: number) => `step-${String(step).padStart(8, '0')}`;

/**
 * Writes a checkpoint of `variables` (keyed by checkpoint path) to `dir`, then prunes to the last
 * `keepLast`. Reads variables one at a time (async device reads), so peak extra host memory is the
 * encoded file's largest tensor plus the host copies.
 */
export async function saveCheckpoint(
  dir: string,
  variables: ReadonlyMap<string, tf.Tensor | { readonly shape: readonly number[]; readonly data: Float32Array }>,
  meta: Omit<CheckpointMeta, 'format' | 'formatVersion' | 'savedAt' | 'tensorsFile'>,
  keepLast: number,
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, v] of variables) {
    // Device tensors are read one at a time; host arrays (e.g. AdamW slots kept on the host) as they are.
    tensors.set(
      name,
      v.data instanceof Float32Array
        ? { shape: v.shape, data: v.data }
        : { shape: v.shape, data: (await (v as tf.Tensor).data()) as Float32Array },
    );
  }
  const base = join(dir, stem(meta.step));
  const full: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    savedAt: new Date().toISOString(),
    tensorsFile: `${stem(meta.step)}.safetensors`,
    ...meta,
  };
  writeSafetensorsFile(`${base}.safetensors`, tensors, { format: CHECKPOINT_FORMAT, step: String(meta.step) });
  writeFileAtomic(`${base}.json`, `${JSON.stringify(full, null, 2)}\n`);
  writeFileAtomic(join(dir, 'latest.json'), `${JSON.stringify({ step: meta.step, file: full.tensorsFile }, null, 2)}\n`);
  pruneCheckpoints(dir, keepLast);
  return `${base}.safetensors`;
}

/** Complete checkpoints in `dir` (tensors and sidecar both present), oldest first (`listStepFiles` of `@lss/core/node`). */
export function listCheckpoints(dir: string): { step: number; path: string }[] {
  return listStepFiles(dir).map(({ step, path }) => ({ step, path }));
}

/** Deletes all but the newest `keepLast` complete checkpoints, and temporary files left by writers that are gone. */
export function pruneCheckpoints(dir: string, keepLast: number): void {
  const all = listCheckpoints(dir);
  for (const c of all.slice(0, Math.max(0, all.length - keepLast))) {
    rmSync(c.path, { force: true });
    rmSync(c.path.replace(/\.safetensors$/, '.json'), { force: true });
  }
  removeStaleTemporaryFiles(dir);
}

/** The newest complete checkpoint in `dir`, or null. */
export function findLatestCheckpoint(dir: string): string | null {
  const all = listCheckpoints(dir);
  return all.length > 0 ? (all[all.length - 1] as { path: string }).path : null;
}

/** Reads a checkpoint (path to the `.safetensors`, its `.json`, or a folder holding checkpoints: the newest). */
export function readCheckpoint(pathOrDir: string): LoadedCheckpoint {
  let path = pathOrDir;
  if (existsSync(path) && !path.endsWith('.safetensors') && !path.endsWith('.json')) {
    const latest = findLatestCheckpoint(path);
    if (!latest) throw new WeightsError(`No complete checkpoint (step-*.safetensors + .json) in ${path}.`);
    path = latest;
  }
  if (path.endsWith('.json')) path = path.replace(/\.json$/, '.safetensors');
  const sidecar = path.replace(/\.safetensors$/, '.json');
  if (!existsSync(sidecar))
    throw new WeightsError(`Checkpoint ${path} has no sidecar ${sidecar}; it is incomplete (interrupted while saving?).`);
  const meta = JSON.parse(readFileSync(sidecar, 'utf8')) as CheckpointMeta;
  if (meta.format !== CHECKPOINT_FORMAT || meta.formatVersion !== CHECKPOINT_FORMAT_VERSION) {
    throw new WeightsError(
      `${sidecar}: format ${meta.format} v${meta.formatVersion}; expected ${CHECKPOINT_FORMAT} v${CHECKPOINT_FORMAT_VERSION}.`,
    );
  }
  const contents = readSafetensorsFile(path);
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, t] of contents.tensors) tensors.set(name, { shape: t.shape, data: t.data as Float32Array });
  return { meta, tensors, path };
}

/**
 * Assigns saved values to variables by path. Every variable must be present with its shape; saved
 * keys under `roots` that match no variable are an error too (the checkpoint belongs to another model).
 */
export function restoreVariables(
  saved: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>,
  variables: ReadonlyMap<string, tf.Variable>,
  roots: readonly string[],
  tfModule: typeof tf,
): void {
  const missing = [...variables.keys()].filter((k) => !saved.has(k));
  const extra = [...saved.keys()].filter((k) => roots.some((r) => k.startsWith(`${r}/`)) && !variables.has(k));
  if (missing.length > 0 || extra.length > 0) {
    throw new WeightsError(
      `Checkpoint does not match the model: missing ${missing.length} keys [${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ', ...' : ''}], ` +
        `unexpected ${extra.length} keys [${extra.slice(0, 6).join(', ')}${extra.length > 6 ? ', ...' : ''}]. Resume with the config the checkpoint was written with.`,
    );
  }
  for (const [path, v] of variables) {
    const t = saved.get(path) as { shape: readonly number[]; data: Float32Array };
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      throw new WeightsError(`Checkpoint tensor ${path} has shape [${t.shape.join(', ')}]; the model expects [${v.shape.join(', ')}].`);
    }
    tfModule.tidy(() => v.assign(tfModule.tensor(t.data, [...v.shape], 'float32')));
  }
}
