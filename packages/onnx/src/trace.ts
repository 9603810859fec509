/**
 * Kernel tracing: runs a tfjs function once and records every kernel the tfjs engine dispatched
 * (name, input tensors, attributes, outputs with shapes and dtypes). Tensors that reach a kernel
 * without having been produced by an earlier recorded kernel (weights, scalars made by ops) are captured
 * as constants. The exported ONNX graph is built from this record, so it is the computation the tfjs
 * code really ran: there is no second definition of the architecture to keep in sync.
 */
import { ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';

/** One recorded kernel call. */
export interface TracedOp {
  /** tfjs kernel name (`BatchMatMul`, `Reshape`, ...). */
  readonly kernel: string;
  /** Input tensor ids in the kernel's own order (named inputs, or the list of `Concat`/`Pack`). */
  readonly inputs: readonly { readonly name: string; readonly id: number }[];
  readonly attrs: Readonly<Record<string, unknown>>;
  readonly outputs: readonly number[];
  readonly outputShapes: readonly (readonly number[])[];
  readonly outputDtypes: readonly tf.DataType[];
  /**
   * The output values when every input was a constant (or such an output) and the trace read
   * constants: the exporter folds the kernel away when its attributes and shapes do not depend on the batch.
   */
  readonly constantOutputs?: readonly (Float32Array | Int32Array | Uint8Array)[];
}

/** A captured constant (a weight or a scalar created inside an op). */
export interface TracedConstant {
  readonly shape: readonly number[];
  readonly dtype: tf.DataType;
  /** The values (absent when the trace was made with `readConstants: false`). */
  readonly data?: Float32Array | Int32Array | Uint8Array;
}

export interface KernelTrace {
  readonly ops: readonly TracedOp[];
  readonly constants: ReadonlyMap<number, TracedConstant>;
  readonly inputId: number;
  readonly inputShape: readonly number[];
  readonly inputDtype: tf.DataType;
  readonly outputId: number;
  readonly outputShape: readonly number[];
}

interface PatchableEngine {
  runKernel(kernelName: string, inputs: Record<string, tf.Tensor | tf.Tensor[]>, attrs?: Record<string, unknown>): tf.Tensor | tf.Tensor[];
}

/**
 * Runs `fn(x)` under `tf.tidy` and records the kernels. `readConstants` copies the constants' values
 * (needed for the trace the graph is built from). Kernels called from inside another kernel are not
 * recorded (only the outermost dispatch is).
 */
export function traceKernels(fn: (x: tf.Tensor) => tf.Tensor, x: tf.Tensor, options: { readConstants?: boolean } = {}): KernelTrace {
  const engine = tf.engine() as unknown as PatchableEngine;
  const original = engine.runKernel;
  const ops: TracedOp[] = [];
  const constants = new Map<number, TracedConstant>();
  const produced = new Set<number>([x.id]);
  const constLike = new Set<number>();
  let depth = 0;
  engine.runKernel = function (this: unknown, kernelName, inputs, attrs) {
    depth++;
    let out: tf.Tensor | tf.Tensor[];
    try {
      out = original.call(this, kernelName, inputs, attrs);
    } finally {
      depth--;
    }
    if (depth === 0) {
      const ins = Object.entries(inputs).map(([name, t]) => ({ name, t: t as tf.Tensor }));
      for (const { t } of ins) {
        if (!produced.has(t.id) && !constants.has(t.id)) {
          constLike.add(t.id);
          constants.set(t.id, {
            shape: [...t.shape],
            dtype: t.dtype,
            ...(options.readConstants ? { data: (t.dataSync() as Float32Array | Int32Array | Uint8Array).slice() } : {}),
          });
        }
      }
      const outs = Array.isArray(out) ? out : [out];
      for (const o of outs) produced.add(o.id);
      const constantOnly = ins.length > 0 && ins.every(({ t }) => constLike.has(t.id));
      if (constantOnly) for (const o of outs) constLike.add(o.id);
      ops.push({
        ...(constantOnly && options.readConstants
          ? { constantOutputs: outs.map((o) => (o.dataSync() as Float32Array | Int32Array | Uint8Array).slice()) }
          : {}),
        kernel: kernelName,
        inputs: ins.map(({ name, t }) => ({ name, id: t.id })),
        attrs: { ...(attrs ?? {}) },
        outputs: outs.map((o) => o.id),
        outputShapes: outs.map((o) => [...o.shape]),
        outputDtypes: outs.map((o) => o.dtype),
      });
    }
    return out;
  };
  let y: tf.Tensor;
  try {
    y = tf.tidy(() => fn(x));
  } finally {
    engine.runKernel = original;
  }
  const outputId = y.id;
  const outputShape = [...y.shape];
  y.dispose();
  if (!produced.has(outputId) || outputId === x.id) {
    throw new ShapeError('traceKernels: the function returned a tensor no recorded kernel produced; expected a computation of its input.');
  }
  return { ops, constants, inputId: x.id, inputShape: [...x.shape], inputDtype: x.dtype, outputId, outputShape };
}
