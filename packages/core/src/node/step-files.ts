/**
 * The file layout of step checkpoints, one definition for the writer (the trainer) and the readers
 * (trainer resume, evaluation): `step-<digits>.safetensors` plus its JSON sidecar `step-<digits>.json`,
 * complete only when both exist (the sidecar is written last). Temporary files of atomic writes are
 * `<name>.tmp-<pid>-<random>` (see `writeFileAtomic`).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const STEP_FILE = /^step-(\d+)\.safetensors$/;
const TEMPORARY = /\.tmp-(\d+)(?:-[0-9a-f]+)?$/;

/** A complete step checkpoint in a folder. */
export interface StepFile {
  readonly step: number;
  /** The `.safetensors` file. */
  readonly path: string;
  /** Its `.json` sidecar. */
  readonly sidecar: string;
}

/** Complete step checkpoints in `dir` (tensors and sidecar both present), in step order (numeric); [] for a missing folder. */
export function listStepFiles(dir: string): StepFile[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => STEP_FILE.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const path = join(dir, m[0]);
      return { step: Number(m[1]), path, sidecar: path.replace(/\.safetensors$/, '.json') };
    })
    .filter((c) => existsSync(c.sidecar))
    .sort((a, b) => a.step - b.step);
}

/** The complete step checkpoint with the highest step in `dir`, or null. */
export function newestStepFile(dir: string): StepFile | null {
  return listStepFiles(dir).at(-1) ?? null;
}

/**
 * Removes temporary files of atomic writes (`*.tmp-<pid>[-<random>]`) in `dir` whose writer is no longer
 * running (a killed process leaves them behind); files of live processes, this one included, are kept.
 * Returns the removed names.
 */
export function removeStaleTemporaryFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const f of readdirSync(dir)) {
    const m = TEMPORARY.exec(f);
    if (!m || isRunning(Number(m[1]))) continue;
    rmSync(join(dir, f), { force: true });
    removed.push(f);
  }
  return removed;
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}
