/**
 * Vitest setup shared by every package: registers all gradients plus LSS.js's fixes and selects the
 * backend named by LSS_TEST_BACKEND (default `cpu`, the reference backend; `wasm` for speed).
 */
import { type BackendName, initBackend } from '@lss/core';

await initBackend((process.env.LSS_TEST_BACKEND as BackendName | undefined) ?? 'cpu');
