/**
 * `@lss/onnx`: ONNX export of tfjs computations by kernel tracing (the exported graph is exactly what the
 * tfjs code dispatched, so it cannot drift from the tfjs model), with optional int8 linear weights.
 * Node-only inference helpers (onnxruntime-node, an optional peer) are in `@lss/onnx/node`.
 */
export {
  buildOnnx,
  type ExportTraces,
  exportToOnnx,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  type OnnxExport,
  type OnnxExportOptions,
  SUPPORTED_KERNELS,
  traceForExport,
} from './export.js';
export { type KernelTrace, type TracedConstant, type TracedOp, traceKernels } from './trace.js';
