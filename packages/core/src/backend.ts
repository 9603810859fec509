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
  return { name: tf.getBackend(), tfjsVersion: tf.version_core, ...(provider ? { provider } : {}) };
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
