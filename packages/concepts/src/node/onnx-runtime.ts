/**
 * onnxruntime-node, loaded on first use. It is an optional peer dependency of `@lss/concepts`: its own
 * install script downloads CUDA libraries (it fails offline), so a plain `npm install @lss/concepts` does not
 * pull it; install it yourself for the ONNX text engine (`ONNXRUNTIME_NODE_INSTALL=skip npm install
 * onnxruntime-node`: the CPU binaries ship inside the npm package).
 */
import { BackendUnavailableError } from '@lss/core';

type OrtModule = typeof import('onnxruntime-node');
let cached: Promise<OrtModule> | undefined;

/** How to install onnxruntime-node without its CUDA download (shown in the error). */
export const ONNXRUNTIME_INSTALL_HINT =
  'install it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` (npm) or `ONNXRUNTIME_NODE_INSTALL=skip pnpm add onnxruntime-node --allow-build=onnxruntime-node` (pnpm 12); the CPU binaries ship inside the npm package';

/**
 * The onnxruntime-node module. A missing package is a {@link BackendUnavailableError} that says how to
 * install it; `importer` is for tests.
 */
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
