/**
 * Backend selection for LSS.js apps: wasm (default), cpu (reference), torch (libtorch through the
 * optional `@lss/backend-torch` addon), auto (torch when it loads, else wasm), tensorflow (native,
 * optional), webgpu (experimental). Libraries never choose a backend; apps call {@link initBackend} once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, ConfigError } from './errors.js';
import { registerGradientFixes } from './gradients.js';

export const BACKEND_NAMES = ['wasm', 'cpu', 'torch', 'auto', 'tensorflow', 'webgpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** The backend tfjs reports as active. */
  readonly name: string;
  /** The tfjs-core version in use. */
  readonly tfjsVersion: string;
  /** For `tensorflow`: which package provided it. */
  readonly provider?: string;
  /** For `torch`: `cpu` or `cuda`. */
  readonly device?: string;
  /** For `torch`: libtorch intra-op/OpenMP/OpenBLAS threads. */
  readonly threads?: number;
  /** For `auto` when torch did not load: why (one line). */
  readonly fallbackReason?: string;
}

/** Options of {@link initBackend} for the torch backend (others ignore them). */
export interface BackendOptions {
  /** libtorch threads (default `LSS_TORCH_THREADS`, else the machine's cores). */
  readonly threads?: number;
  /** `cpu` or `cuda` (default `LSS_TORCH_DEVICE`, else `cpu`). */
  readonly device?: 'cpu' | 'cuda';
}

// Dynamic specifiers stop bundlers and TypeScript from requiring optional packages at build time.
const importOptional = (specifier: string): Promise<unknown> => import(/* @vite-ignore */ specifier);

/**
 * Selects and initialises a tfjs backend, registers every gradient and applies LSS.js's gradient
 * fixes (once). Returns the backend in use.
 *
 * @example
 * import { initBackend } from '@lss/core';
 * const { name } = await initBackend(); // 'wasm'
 */
export async function initBackend(name: BackendName = 'wasm', options: BackendOptions = {}): Promise<BackendInfo> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(`Unknown backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.join(', ')}.`);
  }
  await registerGradientFixes();
  if (name === 'auto') {
    try {
      return await initBackend('torch', options);
    } catch (error) {
      if (!(error instanceof BackendUnavailableError)) throw error;
      const info = await initBackend('wasm');
      return { ...info, fallbackReason: error.message.split('\n')[0] ?? '' };
    }
  }
  const listenersBefore = processListeners();
  let provider: string | undefined;
  let torch: { device: string; threads: number } | undefined;
  switch (name) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      break;
    case 'torch':
      torch = await loadTorch(options);
      break;
    case 'tensorflow':
      provider = await loadNativeTensorflow();
      break;
    case 'webgpu':
      if (typeof (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu === 'undefined') {
        throw new BackendUnavailableError(
          'The webgpu backend needs navigator.gpu, which this runtime does not provide (Node has no WebGPU). Use --backend wasm, or run in a browser with WebGPU enabled.',
        );
      }
      try {
        await importOptional('@tensorflow/tfjs-backend-webgpu');
      } catch (cause) {
        throw new BackendUnavailableError(
          'The webgpu backend needs @tensorflow/tfjs-backend-webgpu@4.22.0: install it with `pnpm add @tensorflow/tfjs-backend-webgpu@4.22.0`.',
          { cause },
        );
      }
      break;
  }
  const ok = await tf.setBackend(name);
  if (!ok)
    throw new BackendUnavailableError(
      `tfjs could not initialise the ${name} backend on this machine; try --backend wasm or --backend cpu.`,
    );
  await tf.ready();
  removeListenersAddedSince(listenersBefore);
  if (name === 'cpu') absorbCpuBanner();
  return {
    name: tf.getBackend(),
    tfjsVersion: tf.version_core,
    ...(provider ? { provider } : {}),
    ...(torch ? { device: torch.device, threads: torch.threads } : {}),
  };
}

/** One line for CLIs: `backend torch (cpu, 2 threads)` / `backend wasm (torch unavailable: ...)`. */
export function describeBackend(info: BackendInfo): string {
  if (info.name === 'torch') return `backend torch (device ${info.device ?? 'cpu'}, ${info.threads ?? '?'} threads)`;
  const reason = info.fallbackReason ? ` (torch unavailable: ${info.fallbackReason})` : '';
  return `backend ${info.name}${reason}`;
}

interface TorchModule {
  registerTorchBackend(options: BackendOptions): { device: string; threads: number };
}

async function loadTorch(options: BackendOptions): Promise<{ device: string; threads: number }> {
  let mod: TorchModule;
  try {
    mod = (await importOptional('@lss/backend-torch')) as TorchModule;
  } catch (cause) {
    throw new BackendUnavailableError(
      [
        `The torch backend needs the package @lss/backend-torch, which could not be imported (${(cause as Error).message.split('\n')[0]}).`,
        'Install it next to @lss/core: `pnpm add @lss/backend-torch` (it builds against a local libtorch: Debian `apt-get install libtorch-dev libopenblas0-pthread`, or a pip PyTorch).',
        'Otherwise use --backend wasm.',
      ].join('\n'),
      { cause },
    );
  }
  try {
    return mod.registerTorchBackend(options);
  } catch (cause) {
    throw new BackendUnavailableError(`The torch backend could not start: ${(cause as Error).message}`, { cause });
  }
}

type ProcessEvent = 'uncaughtException' | 'unhandledRejection';
const PROCESS_EVENTS: readonly ProcessEvent[] = ['uncaughtException', 'unhandledRejection'];
type Listeners = Map<ProcessEvent, readonly unknown[]>;
interface ProcessLike {
  listeners(event: ProcessEvent): unknown[];
  removeListener(event: ProcessEvent, listener: unknown): void;
}
const nodeProcess = (): ProcessLike | undefined => {
  const p = (globalThis as { process?: Partial<ProcessLike> }).process;
  return typeof p?.listeners === 'function' && typeof p.removeListener === 'function' ? (p as ProcessLike) : undefined;
};

function processListeners(): Listeners {
  const p = nodeProcess();
  return new Map(PROCESS_EVENTS.map((e) => [e, p ? [...p.listeners(e)] : []]));
}

/**
 * The wasm backend's Emscripten module installs `uncaughtException` and `unhandledRejection` handlers
 * that rethrow from inside its one-line, 36 KB minified source: Node then prints that whole line
 * above any later uncaught error and exits with code 7. Removing the handlers it added restores
 * Node's own report (the error and its stack, exit code 1).
 */
function removeListenersAddedSince(before: Listeners): void {
  const p = nodeProcess();
  if (!p) return;
  for (const event of PROCESS_EVENTS) {
    const old = before.get(event) ?? [];
    for (const listener of p.listeners(event)) if (!old.includes(listener)) p.removeListener(event, listener);
  }
}

/**
 * tfjs-backend-cpu prints "Hi, looks like you are running TensorFlow.js in Node.js ... install our
 * node backend" on its first tensor in Node. The caller chose cpu on purpose, so that first write
 * happens here with tfjs's own logging switched off for its duration (tfjs's `PROD` flag only
 * silences `log.warn`/`log.log`).
 */
function absorbCpuBanner(): void {
  const env = tf.env();
  const prod = env.getBool('PROD');
  env.set('PROD', true);
  try {
    tf.tensor1d([0]).dispose();
  } finally {
    env.set('PROD', prod);
  }
}

async function loadNativeTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await importOptional(pkg);
      return pkg;
    } catch (error) {
      errors.push(`${pkg}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new BackendUnavailableError(
    [
      'The tensorflow backend needs a native TensorFlow binding, and neither could be loaded:',
      ...errors.map((e) => `  - ${e}`),
      'Install one of them next to @tensorflow/tfjs-core 4.22.0:',
      '  - GPU: `pnpm add @tensorflow/tfjs-node-gpu@4.22.0` (Linux x64, CUDA 11.2 and cuDNN 8.1 on the library path);',
      '  - CPU: `pnpm add @tensorflow/tfjs-node@4.22.0`.',
      'Both download libtensorflow 2.9.1 while installing, so the machine needs access to storage.googleapis.com.',
      'Otherwise use --backend torch (libtorch, @lss/backend-torch) or wasm; auto (the default) picks torch when it is built.',
    ].join('\n'),
  );
}
