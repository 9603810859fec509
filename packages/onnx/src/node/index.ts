/** `@lss/onnx/node`: onnxruntime-node sessions (optional peer dependency, loaded on first use). */
export { createOnnxSession, loadOnnxRuntime, ONNXRUNTIME_INSTALL_HINT, type OnnxSessionOptions, type OnnxVideoSession } from './session.js';
