/**
 * tfjs -> ONNX by kernel tracing. The function is traced twice (batch sizes 1 and 2); the two records
 * must have the same kernels in the same order. Every integer attribute that differs between them (a
 * reshape target, a slice size, a range end) is linear in the batch size `B` and becomes `a + b*B`
 * computed in the graph from `Shape(input)[0]`, so the exported model has a dynamic batch axis.
 *
 * Opset 17 (default domain). Linear layers (a `BatchMatMul` whose right operand is a constant 2-D
 * `[in, out]` weight) can be written with int8 weights: see {@link OnnxExportOptions.quantize}.
 */
import { ConfigError, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import onnxProto, { type onnx as OnnxTypes } from 'onnx-proto';
import { type KernelTrace, type TracedConstant, type TracedOp, traceKernels } from './trace.js';

// onnx-proto is CommonJS (protobufjs static code): its namespace comes through the default import.
const { onnx } = onnxProto;

/** ONNX opset the exporter writes. */
export const ONNX_OPSET = 17;
/** IR version written (ONNX 1.12, the release of opset 17). */
export const ONNX_IR_VERSION = 8;

const T = onnx.TensorProto.DataType;
type OnnxType = OnnxTypes.TensorProto.DataType;

export interface OnnxExportOptions {
  /** Graph input name, e.g. `pixel_values` / `input_ids`. */
  readonly inputName: string;
  /** Graph output name, e.g. `video_embeds` / `text_embeds`. */
  readonly outputName: string;
  /** The input shape without its batch axis, e.g. `[T, H, W, 3]`. */
  readonly itemShape: readonly number[];
  /** dtype the tfjs function takes (default float32). */
  readonly inputDtype?: 'float32' | 'int32';
  /** dtype of the ONNX input (default: the tfjs one; `int64` for Hugging Face `input_ids`, cast to int32 in the graph). */
  readonly onnxInputDtype?: 'float32' | 'int32' | 'int64';
  /** Makes a trace input of the given shape (default: normal(0, 1) floats or zeros). */
  readonly makeInput?: (shape: number[]) => tf.Tensor;
  /**
   * `'int8'`: every linear layer's weight stored as int8 per output channel (symmetric, scale =
   * max|w_col| / 127) and run as ONNX Runtime's dynamic quantisation pattern (`DynamicQuantizeLinear` ->
   * `MatMulInteger` -> `Cast` -> `Mul` by the two scales), which ORT fuses into `DynamicQuantizeMatMul`.
   * Default: none (fp32).
   */
  readonly quantize?: 'int8';
  /** `metadata_props` of the model (string values). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** `doc_string` of the model. */
  readonly docString?: string;
  /** Name of the graph (default `lss`). */
  readonly graphName?: string;
}

/** What {@link exportToOnnx} built. */
export interface OnnxExport {
  /** Serialised `ModelProto`. */
  readonly bytes: Uint8Array;
  /** Number of graph nodes. */
  readonly nodes: number;
  /** Number of tfjs kernels traced. */
  readonly kernels: number;
  /** Linear layers written with int8 weights. */
  readonly quantizedLinears: number;
  /** Parameters (elements of float initialisers + int8 weights). */
  readonly parameters: number;
}

const TF_TO_ONNX: Record<string, OnnxType> = { float32: T.FLOAT, int32: T.INT32, bool: T.BOOL };

function onnxType(dtype: string): OnnxType {
  const t = TF_TO_ONNX[dtype];
  if (t === undefined)
    throw new ConfigError(`ONNX export: tfjs dtype ${dtype} has no ONNX equivalent here; expected float32, int32 or bool.`);
  return t;
}

function int64Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
}

function bytesOf(a: Float32Array | Int32Array | Uint8Array | Int8Array): Uint8Array {
  return new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
}

const INT64_MAX = Number.MAX_SAFE_INTEGER; // large enough for ONNX Slice "to the end"

/** Graph under construction. */
class GraphBuilder {
  readonly nodes: OnnxTypes.INodeProto[] = [];
  readonly initializers: OnnxTypes.ITensorProto[] = [];
  private counter = 0;
  private batchName: string | undefined;
  parameters = 0;

  constructor(private readonly inputName: string) {}

  fresh(prefix: string): string {
    return `${prefix}_${this.counter++}`;
  }

  node(opType: string, inputs: string[], outputs: string[], attrs: OnnxTypes.IAttributeProto[] = [], domain?: string): void {
    this.nodes.push({ opType, input: inputs, output: outputs, attribute: attrs, name: this.fresh(opType), ...(domain ? { domain } : {}) });
  }

  /** One output node; returns the output name. */
  op(opType: string, inputs: string[], attrs: OnnxTypes.IAttributeProto[] = []): string {
    const out = this.fresh(opType.toLowerCase());
    this.node(opType, inputs, [out], attrs);
    return out;
  }

  init(name: string, dataType: OnnxType, dims: readonly number[], raw: Uint8Array): string {
    this.initializers.push({ name, dataType, dims: [...dims], rawData: raw });
    return name;
  }

  int64(values: readonly number[], scalar = false): string {
    return this.init(this.fresh('i64'), T.INT64, scalar ? [] : [values.length], int64Bytes(values));
  }

  /** `Shape(input)[0:1]`: the batch size as int64 `[1]` (made once). */
  batch(): string {
    if (!this.batchName) {
      const shape = this.op('Shape', [this.inputName]);
      this.batchName = this.op('Slice', [shape, this.int64([0]), this.int64([1]), this.int64([0])]);
    }
    return this.batchName;
  }

  /**
   * An int64 vector that was `a` at batch 1 and `b` at batch 2: a constant when equal, else
   * `(a - (b - a)) + (b - a) * B` computed in the graph.
   */
  dynamicInts(a: readonly number[], b: readonly number[], what: string): string {
    if (a.length !== b.length)
      throw new ShapeError(`ONNX export: ${what} has ${a.length} entries at batch 1 and ${b.length} at batch 2; expected the same rank.`);
    if (a.every((v, i) => v === b[i])) return this.int64(a);
    const slope = a.map((v, i) => (b[i] as number) - v);
    const intercept = a.map((v, i) => v - (slope[i] as number));
    return this.op('Add', [this.int64(intercept), this.op('Mul', [this.int64(slope), this.batch()])]);
  }
}

function ints(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  if (Array.isArray(v)) return v as number[];
  throw new ShapeError(`ONNX export: expected a number or a list of numbers as kernel attribute, received ${JSON.stringify(v)}.`);
}

function attrInt(name: string, i: number): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
function attrInts(name: string, values: readonly number[]): OnnxTypes.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...values] };
}

const UNARY: Record<string, string> = {
  Exp: 'Exp',
  Log: 'Log',
  Sqrt: 'Sqrt',
  Neg: 'Neg',
  Abs: 'Abs',
  Sigmoid: 'Sigmoid',
  Tanh: 'Tanh',
  Erf: 'Erf',
  Reciprocal: 'Reciprocal',
  Relu: 'Relu',
  Identity: 'Identity',
  Floor: 'Floor',
  Ceil: 'Ceil',
};
const BINARY: Record<string, string> = {
  Add: 'Add',
  Sub: 'Sub',
  Multiply: 'Mul',
  RealDiv: 'Div',
  Maximum: 'Max',
  Minimum: 'Min',
  Pow: 'Pow',
  Equal: 'Equal',
  Greater: 'Greater',
  Less: 'Less',
};
const REDUCE_ATTR: Record<string, string> = { Mean: 'ReduceMean', Max: 'ReduceMax', Min: 'ReduceMin', Prod: 'ReduceProd' };

/** The tfjs kernels the exporter translates. */
export const SUPPORTED_KERNELS: readonly string[] = [
  ...Object.keys(UNARY),
  ...Object.keys(BINARY),
  ...Object.keys(REDUCE_ATTR),
  'Sum',
  'Square',
  'Rsqrt',
  'SquaredDifference',
  'Cast',
  'Reshape',
  'Transpose',
  'BatchMatMul',
  'Slice',
  'SplitV',
  'Concat',
  'Pack',
  'Tile',
  'Softmax',
  'GatherV2',
  'ArgMax',
  'Range',
].sort();

/**
 * Traces `fn` (a tfjs function of one batched tensor, returning one tensor) and writes it as an ONNX
 * model with a dynamic batch axis. Throws a {@link ConfigError} naming the first kernel without a
 * translation, and a {@link ShapeError} when the graph changes with the batch size beyond shapes.
 */
export function exportToOnnx(fn: (x: tf.Tensor) => tf.Tensor, options: OnnxExportOptions): OnnxExport {
  return buildOnnx(traceForExport(fn, options), options);
}

/** The two traces (batch 1 with constant values, batch 2 with shapes only) an export is built from. */
export interface ExportTraces {
  readonly a: KernelTrace;
  readonly b: KernelTrace;
}

/**
 * Traces `fn` at batch 1 and 2 (the costly part of an export: two forward passes). Build several
 * models from one pair of traces (e.g. fp32 and int8) with {@link buildOnnx}.
 */
export function traceForExport(
  fn: (x: tf.Tensor) => tf.Tensor,
  options: Pick<OnnxExportOptions, 'itemShape' | 'inputDtype' | 'makeInput'>,
): ExportTraces {
  const dtype = options.inputDtype ?? 'float32';
  const make =
    options.makeInput ??
    ((shape: number[]) => (dtype === 'float32' ? tf.randomNormal(shape, 0, 1, 'float32', 7) : tf.zeros(shape, 'int32')));
  const traceAt = (batch: number, readConstants: boolean): KernelTrace => {
    const x = make([batch, ...options.itemShape]);
    try {
      return traceKernels(fn, x, { readConstants });
    } finally {
      x.dispose();
    }
  };
  const a = traceAt(1, true);
  const b = traceAt(2, false);
  if (a.ops.length !== b.ops.length || a.ops.some((op, i) => op.kernel !== b.ops[i]?.kernel)) {
    const i = a.ops.findIndex((op, k) => op.kernel !== b.ops[k]?.kernel);
    throw new ShapeError(
      `ONNX export: the traced graph depends on the batch size (kernel ${i}: ${a.ops[i]?.kernel ?? 'none'} at batch 1, ${b.ops[i]?.kernel ?? 'none'} at batch 2); expected the same kernels for every batch size.`,
    );
  }
  return { a, b };
}

/** Writes the ONNX model of two traces from {@link traceForExport} (see {@link exportToOnnx}). */
export function buildOnnx(traces: ExportTraces, options: OnnxExportOptions): OnnxExport {
  const { a, b } = traces;
  const dtype = options.inputDtype ?? 'float32';
  const g = new GraphBuilder(options.inputName);
  const names = new Map<number, string>();
  const shapes = new Map<number, readonly number[]>();
  const dtypes = new Map<number, string>();
  const constantIds = new Set<number>();
  shapes.set(a.inputId, a.inputShape);
  dtypes.set(a.inputId, a.inputDtype);
  const onnxIn = options.onnxInputDtype ?? dtype;
  names.set(
    a.inputId,
    onnxIn === 'int64' && dtype === 'int32' ? g.op('Cast', [options.inputName], [attrInt('to', T.INT32)]) : options.inputName,
  );
  let quantizedLinears = 0;

  // Constants: initialisers (a constant whose shape changes with the batch cannot be exported).
  const constantOf = (id: number, opIndex: number, slot: number): string => {
    const have = names.get(id);
    if (have) return have;
    const c = a.constants.get(id) ?? folded.get(id);
    if (!c?.data) throw new ShapeError(`ONNX export: kernel ${opIndex} reads tensor ${id}, which the trace neither produced nor captured.`);
    const other = b.constants.get(b.ops[opIndex]?.inputs[slot]?.id ?? -1);
    if (other && other.shape.join(',') !== c.shape.join(',')) {
      throw new ShapeError(
        `ONNX export: kernel ${opIndex} (${a.ops[opIndex]?.kernel}) reads a constant of shape [${c.shape}] at batch 1 and [${other.shape}] at batch 2; expected constants independent of the batch size (make it from the input's shape instead).`,
      );
    }
    const name = g.init(`const_${id}`, onnxType(c.dtype), c.shape, bytesOf(c.data));
    if (c.dtype === 'float32') g.parameters += c.data.length;
    names.set(id, name);
    shapes.set(id, c.shape);
    dtypes.set(id, c.dtype);
    constantIds.add(id);
    return name;
  };

  // Kernels of constants only (e.g. splitting a fused qkv weight) are folded into initialisers when
  // nothing about them depends on the batch size.
  const folded = new Map<number, TracedConstant>();
  const isConstant = (id: number) => a.constants.has(id) || folded.has(id);
  a.ops.forEach((op, k) => {
    const opB = b.ops[k] as TracedOp;
    if (
      op.constantOutputs &&
      op.inputs.every((inp) => isConstant(inp.id)) &&
      JSON.stringify(op.attrs) === JSON.stringify(opB.attrs) &&
      JSON.stringify(op.outputShapes) === JSON.stringify(opB.outputShapes)
    ) {
      op.outputs.forEach((id, i) => {
        folded.set(id, {
          shape: op.outputShapes[i] as number[],
          dtype: op.outputDtypes[i] as tf.DataType,
          data: op.constantOutputs?.[i] as Float32Array,
        });
      });
      return;
    }
    // A linear layer's weight that will be stored as int8 is not written as a float initialiser too.
    const int8Weight = (slot: number): boolean => {
      const id = op.inputs[slot]?.id ?? -1;
      const c = a.constants.get(id) ?? folded.get(id);
      return (
        options.quantize === 'int8' &&
        op.kernel === 'BatchMatMul' &&
        slot === 1 &&
        !op.attrs.transposeB &&
        !names.has(id) &&
        c?.dtype === 'float32' &&
        c.shape.length === 2
      );
    };
    const ins = op.inputs.map((inp, slot) => (int8Weight(slot) ? '' : constantOf(inp.id, k, slot)));
    const outs = op.outputs.map((id) => `t${id}`);
    op.outputs.forEach((id, i) => {
      names.set(id, outs[i] as string);
      shapes.set(id, op.outputShapes[i] as number[]);
      dtypes.set(id, op.outputDtypes[i] as string);
    });
    const inShape = (slot: number) => shapes.get(op.inputs[slot]?.id ?? -1) ?? [];
    const attr = (name: string) => op.attrs[name];
    const attrB = (name: string) => opB.attrs[name];
    const one = outs[0] as string;
    const kernel = op.kernel;
    if (UNARY[kernel]) return g.node(UNARY[kernel] as string, ins, outs);
    if (BINARY[kernel]) return g.node(BINARY[kernel] as string, ins, outs);
    switch (kernel) {
      case 'Square':
        return g.node('Mul', [ins[0] as string, ins[0] as string], outs);
      case 'Rsqrt':
        return g.node('Reciprocal', [g.op('Sqrt', ins)], outs);
      case 'SquaredDifference': {
        const d = g.op('Sub', ins);
        return g.node('Mul', [d, d], outs);
      }
      case 'Cast':
        return g.node('Cast', ins, outs, [attrInt('to', onnxType(attr('dtype') as string))]);
      case 'Reshape':
        return g.node(
          'Reshape',
          [ins[0] as string, g.dynamicInts(ints(attr('shape')), ints(attrB('shape')), `Reshape (kernel ${k})`)],
          outs,
        );
      case 'Transpose':
        return g.node('Transpose', ins, outs, [attrInts('perm', ints(attr('perm')))]);
      case 'BatchMatMul': {
        const swap = (name: string, rank: number) => {
          const perm = [...Array(rank).keys()];
          [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1] as number, perm[rank - 2] as number];
          return g.op('Transpose', [name], [attrInts('perm', perm)]);
        };
        let left = ins[0] as string;
        let right = ins[1] as string;
        if (attr('transposeA')) left = swap(left, inShape(0).length);
        const weight = a.constants.get(op.inputs[1]?.id ?? -1) ?? folded.get(op.inputs[1]?.id ?? -1);
        if (ins[1] === '' && weight?.data) {
          quantizedLinears++;
          return quantizedMatMul(g, left, weight.shape as [number, number], weight.data as Float32Array, one);
        }
        if (attr('transposeB')) right = swap(right, inShape(1).length);
        return g.node('MatMul', [left, right], outs);
      }
      case 'Slice': {
        const rank = inShape(0).length;
        const pad = (v: number[], fill: number) => [...v, ...Array(Math.max(0, rank - v.length)).fill(fill)] as number[];
        const begin = pad(ints(attr('begin')), 0);
        const beginB = pad(ints(attrB('begin')), 0);
        const size = pad(ints(attr('size') ?? []), -1);
        const ends = (bg: number[], sz: number[]) => sz.map((s, i) => (s < 0 ? INT64_MAX : (bg[i] as number) + s));
        const endB = ends(beginB, pad(ints(attrB('size') ?? []), -1));
        return g.node(
          'Slice',
          [
            ins[0] as string,
            g.dynamicInts(begin, beginB, `Slice begin (kernel ${k})`),
            g.dynamicInts(ends(begin, size), endB, `Slice end (kernel ${k})`),
            g.int64([...begin.keys()]),
          ],
          outs,
        );
      }
      case 'SplitV': {
        const rank = inShape(0).length;
        const axis = ((attr('axis') as number) + rank) % rank;
        const sizesA = op.outputShapes.map((s) => s[axis] as number);
        const sizesB = opB.outputShapes.map((s) => s[axis] as number);
        return g.node('Split', [ins[0] as string, g.dynamicInts(sizesA, sizesB, `SplitV (kernel ${k})`)], outs, [attrInt('axis', axis)]);
      }
      case 'Concat':
        return g.node('Concat', ins, outs, [attrInt('axis', ints(attr('axis'))[0] as number)]);
      case 'Pack': {
        const axis = attr('axis') as number;
        const axes = g.int64([axis]);
        return g.node(
          'Concat',
          ins.map((n) => g.op('Unsqueeze', [n, axes])),
          outs,
          [attrInt('axis', axis)],
        );
      }
      case 'Tile':
        return g.node('Tile', [ins[0] as string, g.dynamicInts(ints(attr('reps')), ints(attrB('reps')), `Tile (kernel ${k})`)], outs);
      case 'Mean':
      case 'Max':
      case 'Min':
      case 'Prod': {
        const rank = inShape(0).length;
        // tfjs names the axes `axis` (Mean, Sum, Prod) or `reductionIndices` (Max, Min).
        const axes = ints(attr('axis') ?? attr('reductionIndices') ?? [...Array(rank).keys()]).map((x) => (x + rank) % rank);
        return g.node(REDUCE_ATTR[kernel] as string, ins, outs, [attrInts('axes', axes), attrInt('keepdims', attr('keepDims') ? 1 : 0)]);
      }
      case 'Sum': {
        const rank = inShape(0).length;
        const axes = ints(attr('axis') ?? [...Array(rank).keys()]).map((x) => (x + rank) % rank);
        return g.node('ReduceSum', [ins[0] as string, g.int64(axes)], outs, [attrInt('keepdims', attr('keepDims') ? 1 : 0)]);
      }
      case 'Softmax': {
        const rank = inShape(0).length;
        const dim = ints(attr('dim'))[0] as number;
        return g.node('Softmax', ins, outs, [attrInt('axis', (dim + rank) % rank)]);
      }
      case 'GatherV2': {
        if ((attr('batchDims') as number) !== 0)
          throw new ConfigError(`ONNX export: GatherV2 with batchDims ${attr('batchDims')} (kernel ${k}); expected 0.`);
        return g.node('Gather', ins, outs, [attrInt('axis', attr('axis') as number)]);
      }
      case 'ArgMax': {
        const arg = g.op('ArgMax', ins, [attrInt('axis', ints(attr('axis'))[0] as number), attrInt('keepdims', 0)]);
        return g.node('Cast', [arg], outs, [attrInt('to', onnxType(op.outputDtypes[0] as string))]);
      }
      case 'Range': {
        const to = onnxType((attr('dtype') as string) ?? 'float32');
        const scalar = (name: string) => {
          const v = g.dynamicInts([attr(name) as number], [attrB(name) as number], `Range ${name} (kernel ${k})`);
          return g.op('Cast', [g.op('Squeeze', [v, g.int64([0])])], [attrInt('to', to)]);
        };
        return g.node('Range', [scalar('start'), scalar('stop'), scalar('step')], outs);
      }
      default:
        throw new ConfigError(
          `ONNX export: tfjs kernel ${kernel} (kernel ${k} of ${a.ops.length}) has no ONNX translation; supported: ${SUPPORTED_KERNELS.join(', ')}.`,
        );
    }
  });

  const outName = names.get(a.outputId);
  if (!outName) throw new ShapeError('ONNX export: the output tensor was not produced by the trace.');
  g.node('Identity', [outName], [options.outputName]);

  const valueInfo = (name: string, elemType: OnnxType, shape: readonly number[]): OnnxTypes.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: shape.map((d, i) => (i === 0 ? { dimParam: 'batch_size' } : { dimValue: d })) },
      },
    },
  });
  const inputElem = onnxIn === 'int64' ? T.INT64 : onnxType(onnxIn);
  const model: OnnxTypes.IModelProto = {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: '@lss/onnx',
    producerVersion: '0.1.0',
    docString: options.docString ?? '',
    graph: {
      name: options.graphName ?? 'lss',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(options.inputName, inputElem, a.inputShape)],
      output: [valueInfo(options.outputName, onnxType(dtypes.get(a.outputId) ?? 'float32'), a.outputShape)],
    },
    metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  return { bytes, nodes: g.nodes.length, kernels: a.ops.length, quantizedLinears, parameters: g.parameters };
}

/**
 * `x · W` with W `[in, out]` stored as int8, symmetric per output channel: `scale_j = max_i |W_ij| / 127`,
 * `q_ij = round(W_ij / scale_j)`. Written as ONNX Runtime's dynamic quantisation (as its
 * `quantize_dynamic` writes it): x -> DynamicQuantizeLinear (uint8, per tensor) -> MatMulInteger ->
 * Cast(float) -> Mul(x_scale * w_scale).
 */
function quantizedMatMul(g: GraphBuilder, x: string, shape: [number, number], w: Float32Array, out: string): void {
  const [inDim, outDim] = shape;
  const scale = new Float32Array(outDim);
  for (let i = 0; i < inDim; i++) {
    for (let j = 0; j < outDim; j++) scale[j] = Math.max(scale[j] as number, Math.abs(w[i * outDim + j] as number));
  }
  for (let j = 0; j < outDim; j++) scale[j] = (scale[j] as number) > 0 ? (scale[j] as number) / 127 : 1;
  const q = new Int8Array(inDim * outDim);
  for (let i = 0; i < inDim; i++) {
    for (let j = 0; j < outDim; j++)
      q[i * outDim + j] = Math.max(-127, Math.min(127, Math.round((w[i * outDim + j] as number) / (scale[j] as number))));
  }
  g.parameters += q.length;
  const wq = g.init(g.fresh('w_int8'), T.INT8, shape, bytesOf(q));
  const wScale = g.init(g.fresh('w_scale'), T.FLOAT, [outDim], bytesOf(scale));
  const wZero = g.init(g.fresh('w_zero'), T.INT8, [outDim], new Uint8Array(outDim));
  const xq = g.fresh('x_uint8');
  const xScale = g.fresh('x_scale');
  const xZero = g.fresh('x_zero');
  g.node('DynamicQuantizeLinear', [x], [xq, xScale, xZero]);
  const acc = g.op('MatMulInteger', [xq, wq, xZero, wZero]);
  const accF = g.op('Cast', [acc], [attrInt('to', T.FLOAT)]);
  const s = g.op('Mul', [xScale, wScale]);
  g.node('Mul', [accF, s], [out]);
}
