/**
 * Backend selection for LSS.js apps: wasm (default), cpu (reference), tensorflow (native, optional),
 * webgpu (experimental). Libraries never choose a backend; apps call {@link initBackend} once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, ConfigError } from './errors.js';
import { registerGradientFixes } from './gradients.js';

export const BACKEND_NAMES = ['wasm', 'cpu', 'tensorflow', 'webgpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** The backend tfjs reports as active. */
  readonly name: string;
  /** The tfjs-core version in use. */
  readonly tfjsVersion: string;
  /** For `tensorflow`: which package provided it. */
  readonly provider?: string;
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
export async function initBackend(name: BackendName = 'wasm'): Promise<BackendInfo> {
  if (!(BACKEND_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(`Unknown backend ${JSON.stringify(name)}; expected one of ${BACKEND_NAMES.join(', ')}.`);
  }
  await registerGradientFixes();
  const listenersBefore = processListeners();
  let provider: string | undefined;
  switch (name) {
    case 'wasm':
      await import('@tensorflow/tfjs-backend-wasm');
      break;
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
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
  return { name: tf.getBackend(), tfjsVersion: tf.version_core, ...(provider ? { provider } : {}) };
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
      'Otherwise use --backend wasm (the default).',
    ].join('\n'),
  );
}
