/**
 * `@lss/backend-torch`: a tfjs backend named `'torch'` whose kernels run on libtorch (PyTorch's C++
 * library) through a Node N-API addon. Apps normally reach it through `initBackend('torch' | 'auto')`
 * of `@lss/core`; this module registers it directly.
 *
 * @example
 * import * as tf from '@tensorflow/tfjs-core';
 * import { registerTorchBackend } from '@lss/backend-torch';
 * const info = registerTorchBackend({ threads: 2 });
 * await tf.setBackend('torch');
 * console.log(info.device, info.threads, tf.matMul(tf.ones([2, 3]), tf.ones([3, 4])).shape);
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { TorchBackend, type TorchDevice, TorchKernelError } from './backend.js';
import { BACKEND_NAME, TORCH_KERNEL_NAMES, torchKernelConfigs } from './kernels.js';
import { loadNative, type NativeTorch, TorchUnavailableError } from './native.js';

export { TorchBackend, type TorchDevice, TorchKernelError } from './backend.js';
export { BACKEND_NAME, TORCH_KERNEL_NAMES } from './kernels.js';
export { ADDON_PATH, TorchUnavailableError } from './native.js';

export interface TorchBackendOptions {
  /** libtorch intra-op, OpenMP and OpenBLAS threads. Default: `LSS_TORCH_THREADS`, else the machine's cores. */
  readonly threads?: number;
  /** `cpu` or `cuda`. Default: `LSS_TORCH_DEVICE`, else `cpu`. */
  readonly device?: TorchDevice;
  /** tfjs backend priority (default 1, below wasm's 2, so registering does not change the default backend). */
  readonly priority?: number;
}

export interface TorchBackendInfo {
  readonly name: 'torch';
  readonly device: TorchDevice;
  readonly threads: number;
  /** libtorch's version (Debian's 1.13 here). */
  readonly torchVersion: string;
  /** Whether the libtorch the addon was built against has CUDA and sees a GPU. */
  readonly cudaAvailable: boolean;
  /** `OMP_WAIT_POLICY` libgomp was loaded with (`PASSIVE` unless the environment set another). */
  readonly ompWaitPolicy: string;
}

let registered: TorchBackendInfo | undefined;

function resolveThreads(threads?: number): number {
  const fromEnv = process.env.LSS_TORCH_THREADS;
  const n = threads ?? (fromEnv ? Number(fromEnv) : availableParallelism());
  if (!Number.isInteger(n) || n < 1) {
    throw new TorchUnavailableError(
      `Torch threads must be a positive integer; received ${threads ?? `LSS_TORCH_THREADS=${fromEnv}`}. Set e.g. LSS_TORCH_THREADS=2.`,
    );
  }
  return n;
}

function resolveDevice(native: NativeTorch, device?: string): TorchDevice {
  const d = device ?? process.env.LSS_TORCH_DEVICE ?? 'cpu';
  if (d !== 'cpu' && d !== 'cuda') {
    throw new TorchUnavailableError(`Torch device must be cpu or cuda; received ${JSON.stringify(d)} (LSS_TORCH_DEVICE).`);
  }
  if (d === 'cuda' && !native.hasCuda()) {
    throw new TorchUnavailableError(
      'LSS_TORCH_DEVICE=cuda, but the libtorch this addon was built against has no CUDA or sees no GPU. Build against a CUDA PyTorch (`LSS_LIBTORCH=python pnpm --filter @lss/backend-torch run build:native`) on a machine with a GPU, or use cpu.',
    );
  }
  return d;
}

/**
 * Loads the addon, sets threads and device, registers the `'torch'` backend and its kernels with tfjs
 * (once; later calls return the first call's info). Does not make it the active backend.
 *
 * @throws {TorchUnavailableError} when the addon is not built or cannot load (the message says how to fix it).
 */
export function registerTorchBackend(options: TorchBackendOptions = {}): TorchBackendInfo {
  if (registered) return registered;
  const threads = resolveThreads(options.threads);
  // OpenBLAS and OpenMP read these when they load (with the addon), so set them first.
  process.env.OMP_NUM_THREADS ??= String(threads);
  process.env.OPENBLAS_NUM_THREADS ??= String(threads);
  // libgomp's threads spin while they wait for each other at the end of every parallel region; on a machine
  // whose cores are shared with other work a spinning thread holds a core its partner needs, and small ops
  // (the demo's tiny models: thousands of kernels per step) then cost 2.5-3.6x more wall time (measured: 8 CLIP
  // pretraining steps on torch, load ~10, 25-36 s by default vs 10 s PASSIVE, same losses). PASSIVE makes them
  // sleep instead. Set OMP_WAIT_POLICY yourself to choose: ACTIVE, or empty for libgomp's own spin-then-sleep.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  const native = loadNative();
  const device = resolveDevice(native, options.device);
  native.setDevice(device);
  native.setThreads(threads);
  const { torchVersion } = native.config();
  tf.registerBackend(BACKEND_NAME, () => new TorchBackend(native, device), options.priority ?? 1);
  const implemented = new Set<string>();
  for (const config of torchKernelConfigs()) {
    tf.registerKernel(config);
    implemented.add(config.kernelName);
  }
  for (const name of allTfjsKernelNames()) {
    if (implemented.has(name)) continue;
    tf.registerKernel({ kernelName: name, backendName: BACKEND_NAME, kernelFunc: () => missingKernel(name) });
  }
  registered = {
    name: 'torch',
    device,
    threads: native.getThreads(),
    torchVersion,
    cudaAvailable: native.hasCuda(),
    ompWaitPolicy: process.env.OMP_WAIT_POLICY ?? 'PASSIVE',
  };
  return registered;
}

/**
 * Live native tensor handles, the bytes they span (views counted each; for leak checks) and the bytes
 * of the distinct storages behind them (`storageBytes`: what libtorch has allocated for them).
 */
export function torchMemory(): { handles: number; bytes: number; storageBytes: number } {
  return loadNative().stats();
}

// Every kernel name tfjs-core declares (its exports `Add = 'Add'`, ...).
function allTfjsKernelNames(): string[] {
  return Object.entries(tf)
    .filter(([k, v]) => typeof v === 'string' && k === v && /^_?[A-Z]/.test(k))
    .map(([k]) => k);
}

function missingKernel(name: string): never {
  const others = ['cpu', 'wasm', 'tensorflow', 'webgl', 'webgpu'].filter((b) => tf.getKernel(name, b) !== undefined);
  const where = others.length
    ? `The ${others.join(' and ')} backend${others.length > 1 ? 's have' : ' has'} it: use initBackend('${others.includes('wasm') ? 'wasm' : others[0]}') for this model.`
    : 'No backend loaded in this process has it (tfjs-backend-cpu lists every kernel: load it to check).';
  throw new TorchKernelError(
    `Kernel '${name}' is not implemented by the torch backend (it implements ${TORCH_KERNEL_NAMES.length} kernels, listed in @lss/backend-torch's README). ${where}`,
    name,
  );
}
