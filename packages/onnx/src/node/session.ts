/**
 * onnxruntime-node inference (optional peer dependency: its install script downloads CUDA libraries and
 * fails offline, so it is not pulled by a plain install; `loadOnnxRuntime` says how to install it).
 */
import { existsSync } from 'node:fs';
import { BackendUnavailableError, ShapeError, WeightsError } from '@lss/core';

type OrtModule = typeof import('onnxruntime-node');
let cached: Promise<OrtModule> | undefined;

export const ONNXRUNTIME_INSTALL_HINT =
  'install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (npm) or `ONNXRUNTIME_NODE_INSTALL=skip pnpm add onnxruntime-node --allow-build=onnxruntime-node` (pnpm 12); the CPU binaries ship inside the npm package';

/** The onnxruntime-node module, or a {@link BackendUnavailableError} saying how to install it. */
export function loadOnnxRuntime(importer: () => Promise<unknown> = () => import('onnxruntime-node')): Promise<OrtModule> {
  cached ??= importer().then(
    (m) => ((m as { default?: OrtModule }).default ?? m) as OrtModule,
    (e: unknown) => {
      cached = undefined;
      throw new BackendUnavailableError(
        `The ONNX engine needs the npm package onnxruntime-node, which could not be loaded (${(e as Error).message.split('\n')[0]}); ${ONNXRUNTIME_INSTALL_HINT}.`,
      );
    },
  );
  return cached;
}

export interface OnnxSessionOptions {
  /** Intra-op threads (default: onnxruntime's choice, all cores). */
  readonly threads?: number;
}

/** A one-input, one-output float model (e.g. `pixel_values` -> `video_embeds`). */
export interface OnnxVideoSession {
  readonly inputName: string;
  readonly outputName: string;
  /**
   * Runs the model. Input: row-major float32 data of `shape` (e.g. `[B, T, H, W, 3]`). Output: `[B, D]`
   * row-major (the output's own shape in `shape`).
   */
  run(data: Float32Array, shape: readonly number[]): Promise<{ data: Float32Array; shape: number[] }>;
  release(): Promise<void>;
}

/**
 * Opens an ONNX file with onnxruntime-node (CPU). A missing or corrupt file is a {@link WeightsError}
 * naming it; a model with other than one input and one output is a {@link ShapeError}.
 */
export async function createOnnxSession(path: string, options: OnnxSessionOptions = {}): Promise<OnnxVideoSession> {
  if (!existsSync(path)) throw new WeightsError(`ONNX model ${path} does not exist; expected a file written by lss-eval export-onnx.`);
  const ort = await loadOnnxRuntime();
  let session: Awaited<ReturnType<OrtModule['InferenceSession']['create']>>;
  try {
    session = await ort.InferenceSession.create(path, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
    });
  } catch (e) {
    throw new WeightsError(
      `ONNX model ${path} could not be loaded by onnxruntime (${(e as Error).message.split('\n')[0]}); expected a complete ONNX file (re-export it with lss-eval export-onnx).`,
    );
  }
  if (session.inputNames.length !== 1 || session.outputNames.length !== 1) {
    const names = `inputs [${session.inputNames.join(', ')}], outputs [${session.outputNames.join(', ')}]`;
    await session.release();
    throw new ShapeError(`ONNX model ${path} has ${names}; expected one input (pixel_values) and one output (video_embeds).`);
  }
  const inputName = session.inputNames[0] as string;
  const outputName = session.outputNames[0] as string;
  return {
    inputName,
    outputName,
    async run(data, shape) {
      const out = await session.run({ [inputName]: new ort.Tensor('float32', data, [...shape]) });
      const y = out[outputName];
      if (!y) throw new ShapeError(`ONNX model ${path} returned no ${outputName}.`);
      return { data: y.data as Float32Array, shape: [...y.dims] };
    },
    release: () => session.release(),
  };
}
