/**
 * `@lss/core`: the small runtime shared by LSS.js packages.
 *
 * @example
 * import { initBackend, readSafetensors, SeededRandom } from '@lss/core';
 * await initBackend('wasm');
 */
export { gelu } from './activations.js';
export * as autograd from './autograd.js';
export {
  BACKEND_NAMES,
  type BackendInfo,
  type BackendName,
  type BackendOptions,
  describeBackend,
  initBackend,
} from './backend.js';
export {
  BackendUnavailableError,
  ConfigError,
  DataError,
  echoValue,
  formatShape,
  LssError,
  MAX_ECHO_CHARS,
  NonFiniteLossError,
  OutputError,
  ShapeError,
  WeightsError,
} from './errors.js';
export {
  applyGradientFixes,
  GRADIENT_FIXES,
  reduceToShape,
  registerGradientFixes,
  transposeLastTwo,
  withOriginalGradient,
} from './gradients.js';
export { hashString, type RandomState, SeededRandom } from './random.js';
export { type L2NormalizeOptions, l2NormalizeRows } from './rows.js';
export {
  decodeTensor,
  float16ToFloat32,
  float32ToBfloat16,
  float32ToFloat16,
  MAX_HEADER_BYTES,
  MAX_HEADER_DEPTH,
  parseSafetensorsHeader,
  readHeaderLength,
  readSafetensors,
  readSafetensorsHeader,
  type SafetensorsContents,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsHeader,
  type SafetensorsInput,
  type SafetensorsTensor,
  writeSafetensors,
} from './safetensors.js';
export const VERSION = '0.1.0';
