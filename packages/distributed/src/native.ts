/** Loads the compiled c10d binding (`build/Release/lss_distributed.node`), or explains how to get it. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackendUnavailableError } from '@lss/core';

/** What the native `ProcessGroup` constructor takes. */
export interface NativeGroupOptions {
  readonly rank: number;
  readonly size: number;
  readonly timeoutMs: number;
  readonly store: 'tcp' | 'file';
  readonly host?: string;
  readonly port?: number;
  readonly isServer?: boolean;
  readonly path?: string;
  readonly prefix?: string;
}

/** Element types the binding reduces and moves (float32, float64, int32, uint8). */
export type CollectiveArray = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface NativeProcessGroup {
  readonly rank: number;
  readonly size: number;
  allReduce(arrays: CollectiveArray[], op: string, bucketBytes: number): Promise<void>;
  allReduce(arrays: CollectiveArray[], op: string, bucketBytes: number, sync: true): undefined;
  broadcast(array: CollectiveArray, root: number): Promise<void>;
  allGather(input: CollectiveArray, output: CollectiveArray): Promise<void>;
  barrier(): Promise<void>;
  destroy(): void;
}

interface Binding {
  ProcessGroup: new (options: NativeGroupOptions) => NativeProcessGroup;
  torchVersion: string;
}

let cached: Binding | undefined;

/** The package root, from `src/` (sources) or `dist/` (built). */
function packageRoot(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..');
}

/**
 * The c10d binding. Throws {@link BackendUnavailableError} with the install steps when it was not built
 * (no libtorch at install time).
 */
export function loadBinding(): Binding {
  if (cached) return cached;
  const file = join(packageRoot(), 'build', 'Release', 'lss_distributed.node');
  if (!existsSync(file)) {
    throw new BackendUnavailableError(
      `Distributed training needs the c10d binding ${file}, which was not built (no libtorch was found when @lss/distributed was installed). Install libtorch with c10d (Debian: apt-get install libtorch-dev libgloo-dev; or pip install torch, or set LSS_LIBTORCH=<libtorch folder>), then rebuild it: pnpm --filter @lss/distributed build:native (or npm rebuild @lss/distributed).`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(file) as Binding;
  } catch (cause) {
    throw new BackendUnavailableError(
      `The c10d binding ${file} exists but does not load (${(cause as Error).message.slice(0, 300)}). It was probably built against another libtorch or Node: rebuild it with pnpm --filter @lss/distributed build:native.`,
      { cause },
    );
  }
  return cached;
}
