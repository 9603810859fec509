/**
 * Loads the N-API addon (build/Release/lss_torch.node) and says precisely why when it cannot.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's functions (see src/native/addon.cc). Ids are handles into the addon's tensor table. */
export interface NativeTorch {
  setMeta(meta: Float64Array): void;
  fromArray(values: ArrayBufferView, shape: readonly number[], dtype: number): number;
  read(id: number): Float32Array | Int32Array | Uint8Array;
  readAsync(id: number): Promise<Float32Array | Int32Array | Uint8Array>;
  free(id: number): void;
  freeAll(): void;
  stats(): { handles: number; bytes: number; storageBytes: number };
  shapeOf(id: number): number;
  setThreads(n: number): number;
  getThreads(): number;
  setDevice(device: 'cpu' | 'cuda'): void;
  hasCuda(): boolean;
  sync(): void;
  config(): { torchVersion: string; cuda: boolean; parallelInfo: string };
  unary(op: number, x: number, out: number, alpha?: number): number;
  binary(op: number, a: number, b: number, out: number): number;
  reduce(op: number, x: number, axes: readonly number[], keepDims: boolean, out: number): number;
  argReduce(isMax: boolean, x: number, axis: number): number;
  softmax(x: number, dim: number, log: boolean): number;
  matMul(a: number, b: number, transposeA: boolean, transposeB: boolean): number;
  reshape(x: number, shape: readonly number[], out: number): number;
  transpose(x: number, perm: readonly number[], out: number): number;
  slice(x: number, begin: readonly number[], size: readonly number[], out: number): number;
  stridedSlice(
    x: number,
    begin: readonly number[],
    end: readonly number[],
    strides: readonly number[],
    finalShape: readonly number[],
    out: number,
  ): number;
  concat(ids: readonly number[], axis: number, out: number): number;
  stack(ids: readonly number[], axis: number, out: number): number;
  unbind(x: number, axis: number, out: number): number[];
  splitSizes(x: number, sizes: readonly number[], axis: number, out: number): number[];
  tile(x: number, reps: readonly number[], out: number): number;
  reverse(x: number, dims: readonly number[], out: number): number;
  pad(x: number, paddings: readonly number[], value: number, out: number, mode: number): number;
  gather(x: number, indices: number, axis: number, batchDims: number, out: number): number;
  range(start: number, stop: number, step: number, out: number): number;
  fill(shape: readonly number[], value: number, out: number): number;
  cast(x: number, out: number): number;
  addN(ids: readonly number[], out: number): number;
  topK(x: number, k: number, sorted: boolean): [number, number];
  select(condition: number, a: number, b: number, out: number): number;
  oneHot(indices: number, depth: number, on: number, off: number, out: number): number;
  segmentSum(x: number, ids: number, numSegments: number, out: number): number;
  clip(x: number, lo: number, hi: number, out: number): number;
  cumsum(x: number, axis: number, exclusive: boolean, reverse: boolean, out: number, prod?: boolean): number;
  prelu(x: number, alpha: number): number;
  conv2d(
    x: number,
    filter: number,
    strides: readonly number[],
    pads: readonly number[],
    dilations: readonly number[],
    groups: number,
  ): number;
}

/** The addon could not be loaded; `message` says why and how to get one. */
export class TorchUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TorchUnavailableError';
  }
}

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the install step puts the addon (`LSS_TORCH_ADDON` overrides: the GPU check builds its own). */
export const ADDON_PATH = process.env.LSS_TORCH_ADDON ?? join(pkgDir, 'build/Release/lss_torch.node');
const STATUS_PATH = join(pkgDir, 'build/status.json');

let cached: NativeTorch | undefined;

/** Loads the addon once; throws {@link TorchUnavailableError} with the install step's reason. */
export function loadNative(): NativeTorch {
  if (cached) return cached;
  if (!existsSync(ADDON_PATH)) {
    let reason = 'The addon was never built (the install step did not run).';
    if (existsSync(STATUS_PATH)) {
      try {
        reason = (JSON.parse(readFileSync(STATUS_PATH, 'utf8')) as { reason?: string }).reason ?? reason;
      } catch {
        // keep the default reason
      }
    }
    throw new TorchUnavailableError(
      `@lss/backend-torch has no compiled addon at ${ADDON_PATH}.\n${reason}\nAfter fixing it, rebuild with \`pnpm --filter @lss/backend-torch run build:native\` (or \`pnpm rebuild @lss/backend-torch\`).`,
    );
  }
  try {
    cached = createRequire(import.meta.url)(ADDON_PATH) as NativeTorch;
  } catch (cause) {
    throw new TorchUnavailableError(
      `@lss/backend-torch's addon failed to load: ${(cause as Error).message.split('\n')[0]}\nIt must be built against the libtorch it loads: rebuild with \`pnpm --filter @lss/backend-torch run build:native\`.`,
      { cause },
    );
  }
  return cached;
}
