/**
 * The kernels of the 'torch' backend. Each one is a thin call into libtorch (src/native/addon.cc); output
 * dtypes follow tfjs's cpu backend (for example Sum of int32 is int32, libtorch's int64 results are cast
 * back to int32). Every failure becomes a {@link TorchKernelError} naming the kernel and the input shapes.
 */
import {
  backend_util,
  type DataType,
  type KernelConfig,
  type NamedAttrMap,
  type NamedTensorInfoMap,
  slice_util,
  type TensorInfo,
  upcastType,
  util,
} from '@tensorflow/tfjs-core';
import { dtypeCode, type TorchBackend, TorchKernelError } from './backend.js';

export const BACKEND_NAME = 'torch';

type Kernel = (inputs: NamedTensorInfoMap, backend: TorchBackend, attrs: NamedAttrMap) => TensorInfo | TensorInfo[];

const kernels = new Map<string, Kernel>();

function describe(inputs: NamedTensorInfoMap | TensorInfo[]): string {
  const entries = Array.isArray(inputs) ? inputs.map((t, i) => [String(i), t] as const) : Object.entries(inputs);
  return entries
    .filter(([, t]) => t != null)
    .map(([k, t]) => `${k}: ${(t as TensorInfo).dtype}[${(t as TensorInfo).shape.join(', ')}]`)
    .join(', ');
}

/** Wraps a kernel so that any error names the kernel and its inputs' shapes. */
function wrap(name: string, fn: Kernel): KernelConfig['kernelFunc'] {
  return ({ inputs, backend, attrs }) => {
    try {
      return fn(inputs, backend as TorchBackend, (attrs ?? {}) as NamedAttrMap);
    } catch (error) {
      if (error instanceof TorchKernelError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new TorchKernelError(`${name} failed on the torch backend for inputs (${describe(inputs)}): ${message}`, name, {
        cause: error,
      });
    }
  };
}

const floatOut = (): DataType => 'float32';
const sameOut = (x: TensorInfo): DataType => x.dtype;

// Unary op codes: the index is the op code of Unary in addon.cc.
const UNARY: ReadonlyArray<readonly [string, (x: TensorInfo) => DataType]> = [
  ['Exp', floatOut],
  ['Log', floatOut],
  ['Sqrt', floatOut],
  ['Rsqrt', floatOut],
  ['Square', sameOut],
  ['Neg', sameOut],
  ['Sigmoid', floatOut],
  ['Abs', sameOut],
  ['Erf', floatOut],
  ['Tanh', floatOut],
  ['Relu', sameOut],
  ['Relu6', sameOut],
  ['Floor', floatOut],
  ['Ceil', floatOut],
  ['Round', sameOut],
  ['Sign', sameOut],
  ['Sin', floatOut],
  ['Cos', floatOut],
  ['Tan', floatOut],
  ['Asin', floatOut],
  ['Acos', floatOut],
  ['Atan', floatOut],
  ['Sinh', floatOut],
  ['Cosh', floatOut],
  ['Log1p', floatOut],
  ['Expm1', floatOut],
  ['Reciprocal', floatOut],
  ['Softplus', floatOut],
  ['Elu', floatOut],
  ['Selu', floatOut],
  ['IsNan', () => 'bool'],
  ['IsInf', () => 'bool'],
  ['IsFinite', () => 'bool'],
  ['LogicalNot', () => 'bool'],
  ['Step', sameOut],
  ['LeakyRelu', floatOut],
  ['Asinh', floatOut],
  ['Acosh', floatOut],
  ['Atanh', floatOut],
];
UNARY.forEach(([name, outType], code) => {
  kernels.set(name, ({ x }, b, attrs) => {
    const out = outType(x as TensorInfo);
    const alpha = name === 'Step' || name === 'LeakyRelu' ? ((attrs.alpha as number | undefined) ?? 0) : 0;
    return b.output(b.native.unary(code, b.handle(x as TensorInfo), dtypeCode(out, name), alpha), out);
  });
});

// Binary op codes: the index is the op code of Binary in addon.cc.
const upcast = (a: TensorInfo, b: TensorInfo): DataType => upcastType(a.dtype, b.dtype);
const BINARY: ReadonlyArray<readonly [string, (a: TensorInfo, b: TensorInfo) => DataType]> = [
  ['Add', upcast],
  ['Sub', upcast],
  ['Multiply', upcast],
  ['RealDiv', floatOut],
  ['Maximum', upcast],
  ['Minimum', upcast],
  ['Pow', upcast],
  ['SquaredDifference', upcast],
  ['FloorDiv', upcast],
  ['Mod', upcast],
  ['Equal', () => 'bool'],
  ['NotEqual', () => 'bool'],
  ['Greater', () => 'bool'],
  ['GreaterEqual', () => 'bool'],
  ['Less', () => 'bool'],
  ['LessEqual', () => 'bool'],
  ['LogicalAnd', () => 'bool'],
  ['LogicalOr', () => 'bool'],
  ['Atan2', floatOut],
  ['LogicalXor', () => 'bool'],
];
BINARY.forEach(([name, outType], code) => {
  kernels.set(name, ({ a, b: bb }, b, _attrs) => {
    const ta = a as TensorInfo;
    const tb = bb as TensorInfo;
    let out = outType(ta, tb);
    if (out === 'bool' && code <= 9) out = 'int32';
    return b.output(b.native.binary(code, b.handle(ta), b.handle(tb), dtypeCode(out, name)), out);
  });
});

function reduceKernel(name: string, op: number, axisAttr: string, outType: (x: TensorInfo) => DataType): void {
  kernels.set(name, ({ x }, b, attrs) => {
    const t = x as TensorInfo;
    const axes = util.parseAxisParam(attrs[axisAttr] as number | number[], t.shape);
    const out = outType(t);
    return b.output(b.native.reduce(op, b.handle(t), axes, Boolean(attrs.keepDims), dtypeCode(out, name)), out);
  });
}
reduceKernel('Sum', 0, 'axis', (x) => upcastType(x.dtype, 'int32'));
reduceKernel('Mean', 1, 'axis', () => 'float32');
reduceKernel('Max', 2, 'reductionIndices', sameOut);
reduceKernel('Min', 3, 'axis', sameOut);
reduceKernel('Prod', 4, 'axis', (x) => upcastType(x.dtype, 'int32'));
reduceKernel('All', 5, 'axis', () => 'bool');
reduceKernel('Any', 6, 'axis', () => 'bool');

for (const [name, isMax] of [
  ['ArgMax', true],
  ['ArgMin', false],
] as const) {
  kernels.set(name, ({ x }, b, attrs) => {
    const t = x as TensorInfo;
    const [axis] = util.parseAxisParam(attrs.axis as number, t.shape);
    return b.output(b.native.argReduce(isMax, b.handle(t), axis as number), 'int32');
  });
}

kernels.set('Softmax', ({ logits }, b, attrs) => {
  const t = logits as TensorInfo;
  const dim = (attrs.dim as number) < 0 ? t.shape.length + (attrs.dim as number) : (attrs.dim as number);
  return b.output(b.native.softmax(b.handle(t), dim, false), 'float32');
});

kernels.set('BatchMatMul', ({ a, b: bb }, b, attrs) => {
  const ta = a as TensorInfo;
  const tb = bb as TensorInfo;
  if (ta.shape.length < 2 || tb.shape.length < 2) {
    throw new TorchKernelError(
      `BatchMatMul needs inputs of rank >= 2; received a: [${ta.shape.join(', ')}], b: [${tb.shape.join(', ')}]. Reshape a vector to [1, n] or [n, 1] first.`,
      'BatchMatMul',
    );
  }
  const out: DataType = ta.dtype === 'int32' ? 'int32' : 'float32';
  return b.output(b.native.matMul(b.handle(ta), b.handle(tb), Boolean(attrs.transposeA), Boolean(attrs.transposeB)), out);
});

// Identity shares the input's storage (a tfjs refcount, as the cpu backend does): the engine's
// kernel-leak check counts a new data id made by Identity as a leak.
kernels.set('Identity', ({ x }, b) => {
  const t = x as TensorInfo;
  b.incRef(t.dataId);
  return { dataId: t.dataId, shape: t.shape, dtype: t.dtype };
});

kernels.set('Reshape', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const shape = util.inferFromImplicitShape(attrs.shape as number[], util.sizeFromShape(t.shape));
  return b.output(b.native.reshape(b.handle(t), shape, dtypeCode(t.dtype)), t.dtype);
});

kernels.set('ExpandDims', ({ input }, b, attrs) => {
  const t = input as TensorInfo;
  const rank = t.shape.length;
  let dim = attrs.dim as number;
  if (dim > rank || dim < -(rank + 1)) {
    throw new TorchKernelError(
      `ExpandDims: axis ${dim} is out of range for a rank-${rank} input; expected -${rank + 1}..${rank}.`,
      'ExpandDims',
    );
  }
  if (dim < 0) dim = rank + 1 + dim;
  const shape = t.shape.slice();
  shape.splice(dim, 0, 1);
  return b.output(b.native.reshape(b.handle(t), shape, dtypeCode(t.dtype)), t.dtype);
});

kernels.set('Transpose', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  return b.output(b.native.transpose(b.handle(t), attrs.perm as number[], dtypeCode(t.dtype)), t.dtype);
});

kernels.set('Slice', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const [begin, size] = slice_util.parseSliceParams(t as never, attrs.begin as number[], attrs.size as number[]) as [number[], number[]];
  slice_util.assertParamsValid(t as never, begin, size);
  return b.output(b.native.slice(b.handle(t), begin, size, dtypeCode(t.dtype)), t.dtype);
});

kernels.set('StridedSlice', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const info = slice_util.sliceInfo(
    t.shape,
    attrs.begin as number[],
    attrs.end as number[],
    attrs.strides as number[],
    attrs.beginMask as number,
    attrs.endMask as number,
    attrs.ellipsisMask as number,
    attrs.newAxisMask as number,
    attrs.shrinkAxisMask as number,
  );
  const code = dtypeCode(t.dtype);
  if (info.isIdentity) return b.output(b.native.reshape(b.handle(t), info.finalShape, code), t.dtype);
  if (info.finalShape.some((d) => d === 0) || info.finalShapeSparse.some((d) => d === 0)) {
    return b.output(b.native.fill(info.finalShape, 0, code), t.dtype);
  }
  if (info.isSimpleSlice) {
    const size = info.end.map((e, i) => e - (info.begin[i] as number));
    const sliced = b.native.slice(b.handle(t), info.begin, size, code);
    const id = b.native.reshape(sliced, info.finalShape, code);
    b.native.free(sliced);
    return b.output(id, t.dtype);
  }
  return b.output(b.native.stridedSlice(b.handle(t), info.begin, info.end, info.strides, info.finalShape, code), t.dtype);
});

kernels.set('Concat', (inputs, b, attrs) => {
  const ts = inputs as unknown as TensorInfo[];
  const axis = util.parseAxisParam(attrs.axis as number, ts[0]!.shape)[0] as number;
  const out = ts.map((t) => t.dtype).reduce((p, c) => upcastType(p, c));
  backend_util.assertParamsConsistent(
    ts.map((t) => t.shape),
    axis,
  );
  // tfjs allows empty tensors of other shapes next to non-empty ones: leave them out.
  const nonEmpty = ts.filter((t) => util.sizeFromShape(t.shape) > 0);
  if (nonEmpty.length === 0) {
    const shape = backend_util.computeOutShape(
      ts.map((t) => t.shape),
      axis,
    ) as number[];
    return b.output(b.native.fill(shape, 0, dtypeCode(out)), out);
  }
  if (nonEmpty.length === 1) {
    const t = nonEmpty[0]!;
    return b.output(b.native.cast(b.handle(t), dtypeCode(out, 'Concat')), out);
  }
  return b.output(
    b.native.concat(
      nonEmpty.map((t) => b.handle(t)),
      axis,
      dtypeCode(out, 'Concat'),
    ),
    out,
  );
});

kernels.set('Pack', (inputs, b, attrs) => {
  const ts = inputs as unknown as TensorInfo[];
  for (const t of ts) {
    util.assertShapesMatch(ts[0]!.shape, t.shape, 'All tensors passed to stack must have matching shapes');
    util.assert(ts[0]!.dtype === t.dtype, () => 'All tensors passed to stack must have matching dtypes');
  }
  const out = ts.map((t) => t.dtype).reduce((p, c) => upcastType(p, c));
  const rank = ts[0]!.shape.length + 1;
  const axis = (attrs.axis as number) < 0 ? rank + (attrs.axis as number) : (attrs.axis as number);
  return b.output(
    b.native.stack(
      ts.map((t) => b.handle(t)),
      axis,
      dtypeCode(out, 'Pack'),
    ),
    out,
  );
});

kernels.set('Unpack', ({ value }, b, attrs) => {
  const t = value as TensorInfo;
  const axis = util.parseAxisParam(attrs.axis as number, t.shape)[0] as number;
  return b.native.unbind(b.handle(t), axis, dtypeCode(t.dtype)).map((id) => b.outputOf(id, t.dtype));
});

kernels.set('SplitV', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const axis = util.parseAxisParam(attrs.axis as number, t.shape)[0] as number;
  const sizes = backend_util.prepareSplitSize(t as never, attrs.numOrSizeSplits as number | number[], axis);
  return b.native.splitSizes(b.handle(t), sizes, axis, dtypeCode(t.dtype)).map((id) => b.outputOf(id, t.dtype));
});

kernels.set('Tile', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  return b.output(b.native.tile(b.handle(t), attrs.reps as number[], dtypeCode(t.dtype)), t.dtype);
});

kernels.set('Reverse', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const dims = util.parseAxisParam(attrs.dims as number | number[], t.shape);
  return b.output(b.native.reverse(b.handle(t), dims, dtypeCode(t.dtype)), t.dtype);
});

kernels.set('PadV2', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const paddings = (attrs.paddings as [number, number][]).flat();
  return b.output(b.native.pad(b.handle(t), paddings, attrs.constantValue as number, dtypeCode(t.dtype), 0), t.dtype);
});

kernels.set('MirrorPad', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const paddings = (attrs.paddings as [number, number][]).flat();
  const mode = attrs.mode === 'reflect' ? 1 : 2;
  return b.output(b.native.pad(b.handle(t), paddings, 0, dtypeCode(t.dtype), mode), t.dtype);
});

kernels.set('GatherV2', ({ x, indices }, b, attrs) => {
  const t = x as TensorInfo;
  const ind = indices as TensorInfo;
  const axis = util.parseAxisParam(attrs.axis as number, t.shape)[0] as number;
  let batchDims = (attrs.batchDims as number | undefined) ?? 0;
  if (batchDims < 0) batchDims += ind.shape.length;
  // the same shape checks (and messages) as tfjs's cpu kernel
  backend_util.segment_util.collectGatherOpShapeInfo(t as never, ind as never, axis, batchDims);
  return b.output(b.native.gather(b.handle(t), b.handle(ind), axis, batchDims, dtypeCode(t.dtype)), t.dtype);
});

kernels.set('Range', (_inputs, b, attrs) => {
  const dtype = (attrs.dtype as DataType | undefined) ?? 'float32';
  const start = attrs.start as number;
  const stop = attrs.stop as number;
  let step = attrs.step as number;
  // tfjs: a decreasing range with the default step 1 counts down; a step > 1 the wrong way is empty
  if (stop < start && step === 1) step = -1;
  return b.output(b.native.range(start, stop, step, dtypeCode(dtype, 'Range')), dtype);
});

kernels.set('Fill', (_inputs, b, attrs) => {
  const dtype = (attrs.dtype as DataType | undefined) ?? 'float32';
  const value = attrs.value as number | string;
  if (typeof value === 'string') {
    throw new TorchKernelError('Fill: the torch backend holds no string tensors; received a string value.', 'Fill');
  }
  return b.output(b.native.fill(attrs.shape as number[], value, dtypeCode(dtype, 'Fill')), dtype);
});

kernels.set('ZerosLike', ({ x }, b) => {
  const t = x as TensorInfo;
  return b.output(b.native.fill(t.shape, 0, dtypeCode(t.dtype, 'ZerosLike')), t.dtype);
});

kernels.set('OnesLike', ({ x }, b) => {
  const t = x as TensorInfo;
  return b.output(b.native.fill(t.shape, 1, dtypeCode(t.dtype, 'OnesLike')), t.dtype);
});

kernels.set('Cast', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const dtype = attrs.dtype as DataType;
  return b.output(b.native.cast(b.handle(t), dtypeCode(dtype, 'Cast')), dtype);
});

kernels.set('AddN', (inputs, b) => {
  const ts = inputs as unknown as TensorInfo[];
  const out = ts.map((t) => t.dtype).reduce((p, c) => upcastType(p, c));
  return b.output(
    b.native.addN(
      ts.map((t) => b.handle(t)),
      dtypeCode(out, 'AddN'),
    ),
    out,
  );
});

kernels.set('TopK', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  const [values, indices] = b.native.topK(b.handle(t), attrs.k as number, attrs.sorted !== false);
  const vtype: DataType = t.dtype === 'float32' ? 'float32' : 'int32';
  return [b.outputOf(values, vtype), b.outputOf(indices, 'int32')];
});

kernels.set('Select', ({ condition, t, e }, b) => {
  const a = t as TensorInfo;
  const out = upcastType(a.dtype, (e as TensorInfo).dtype);
  return b.output(
    b.native.select(b.handle(condition as TensorInfo), b.handle(a), b.handle(e as TensorInfo), dtypeCode(out, 'Select')),
    out,
  );
});

kernels.set('OneHot', ({ indices }, b, attrs) => {
  const dtype = (attrs.dtype as DataType | undefined) ?? 'int32';
  return b.output(
    b.native.oneHot(
      b.handle(indices as TensorInfo),
      attrs.depth as number,
      attrs.onValue as number,
      attrs.offValue as number,
      dtypeCode(dtype, 'OneHot'),
    ),
    dtype,
  );
});

kernels.set('UnsortedSegmentSum', ({ x, segmentIds }, b, attrs) => {
  const t = x as TensorInfo;
  return b.output(
    b.native.segmentSum(b.handle(t), b.handle(segmentIds as TensorInfo), attrs.numSegments as number, dtypeCode(t.dtype)),
    t.dtype,
  );
});

kernels.set('ClipByValue', ({ x }, b, attrs) => {
  const t = x as TensorInfo;
  return b.output(b.native.clip(b.handle(t), attrs.clipValueMin as number, attrs.clipValueMax as number, dtypeCode(t.dtype)), t.dtype);
});

for (const [name, prod] of [
  ['Cumsum', false],
  ['Cumprod', true],
] as const) {
  kernels.set(name, ({ x }, b, attrs) => {
    const t = x as TensorInfo;
    const out = upcastType(t.dtype, 'int32');
    const axis = util.parseAxisParam(attrs.axis as number, t.shape)[0] as number;
    return b.output(b.native.cumsum(b.handle(t), axis, Boolean(attrs.exclusive), Boolean(attrs.reverse), dtypeCode(out), prod), out);
  });
}

kernels.set('Prelu', ({ x, alpha }, b) => b.output(b.native.prelu(b.handle(x as TensorInfo), b.handle(alpha as TensorInfo)), 'float32'));

/** Names of the kernels the torch backend implements. */
export const TORCH_KERNEL_NAMES: readonly string[] = [...kernels.keys()].sort();

/** tfjs kernel configs for the 'torch' backend. */
export function torchKernelConfigs(): KernelConfig[] {
  return [...kernels].map(([kernelName, fn]) => ({ kernelName, backendName: BACKEND_NAME, kernelFunc: wrap(kernelName, fn) }));
}
