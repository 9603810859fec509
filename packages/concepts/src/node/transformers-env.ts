/** Lazy import of transformers.js and scoped setting of its global `env` for one load. */
import { basename, dirname, resolve, sep } from 'node:path';

type TransformersModule = typeof import('@huggingface/transformers');
let cached: Promise<TransformersModule> | undefined;

/** The transformers.js module (imported on first use: it is large). */
export function transformers(): Promise<TransformersModule> {
  cached ??= import('@huggingface/transformers');
  return cached;
}

/**
 * Runs `load(id)` with transformers.js pointed at a local folder (`env.localModelPath` = its parent,
 * `env.allowRemoteModels = false`, id = folder name) or, for a hub id, with remote models allowed.
 * The previous `env` values are restored afterwards.
 */
export function withModelLocation<T>(modelDirOrId: string, local: boolean, load: (id: string) => Promise<T>): Promise<T> {
  // Loads are serialised: `env` is global, and two overlapping loads would see each other's paths.
  const run = queue.then(() => loadAt(modelDirOrId, local, load));
  queue = run.then(
    () => undefined,
    () => undefined,
  );
  return run;
}

let queue: Promise<void> = Promise.resolve();

async function loadAt<T>(modelDirOrId: string, local: boolean, load: (id: string) => Promise<T>): Promise<T> {
  const { env } = await transformers();
  const saved = { allowRemoteModels: env.allowRemoteModels, allowLocalModels: env.allowLocalModels, localModelPath: env.localModelPath };
  try {
    if (local) {
      const dir = resolve(modelDirOrId);
      env.allowLocalModels = true;
      env.allowRemoteModels = false;
      env.localModelPath = dirname(dir) + sep;
      return await load(basename(dir));
    }
    env.allowRemoteModels = true;
    return await load(modelDirOrId);
  } finally {
    env.allowRemoteModels = saved.allowRemoteModels;
    env.allowLocalModels = saved.allowLocalModels;
    env.localModelPath = saved.localModelPath;
  }
}
