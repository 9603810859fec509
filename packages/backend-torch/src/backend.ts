/**
 * The tfjs `KernelBackend` 'torch': tensor storage in libtorch through the addon.
 *
 * Storage follows tfjs-node: each tfjs dataId maps to one native handle plus a tfjs refcount; reads copy
 * out of libtorch; `read()` runs on a worker thread when the device is CUDA; `dispose()` frees every handle.
 */
import {
  type BackendTimingInfo,
  type DataId,
  DataStorage,
  type DataType,
  engine,
  KernelBackend,
  type TensorInfo,
} from '@tensorflow/tfjs-core';
import type { NativeTorch } from './native.js';

/** dtype codes shared with the addon. */
export const DTYPE_CODE: Readonly<Record<string, number>> = { float32: 0, int32: 1, bool: 2 };

interface TensorData {
  id: number;
  shape: number[];
  dtype: DataType;
  refCount: number;
}

export type TorchDevice = 'cpu' | 'cuda';

/** Error of a kernel run on the torch backend: names the kernel, the input shapes and dtypes. */
export class TorchKernelError extends Error {
  readonly kernel: string;
  constructor(message: string, kernel: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TorchKernelError';
    this.kernel = kernel;
  }
}

export function dtypeCode(dtype: DataType, kernel = 'write'): number {
  const code = DTYPE_CODE[dtype];
  if (code === undefined) {
    throw new TorchKernelError(
      `${kernel}: the torch backend holds float32, int32 and bool tensors; received dtype ${dtype}. Cast it first, or use the cpu backend for ${dtype} tensors.`,
      kernel,
    );
  }
  return code;
}

export class TorchBackend extends KernelBackend {
  readonly native: NativeTorch;
  readonly device: TorchDevice;
  /** Scratch array the addon writes each result's [rank, ...shape] into. */
  readonly meta = new Float64Array(33);
  private readonly data: DataStorage<TensorData>;
  private disposed = false;

  constructor(native: NativeTorch, device: TorchDevice) {
    super();
    this.native = native;
    this.device = device;
    native.setMeta(this.meta);
    this.data = new DataStorage<TensorData>(this, engine());
  }

  /** The native handle of a tensor (moving it here first if another backend holds it). */
  handle(t: TensorInfo): number {
    return this.data.get(t.dataId).id;
  }

  /** Wraps a handle the addon just returned (its shape is in `meta`) as a tfjs TensorInfo. */
  output(id: number, dtype: DataType): TensorInfo {
    const rank = this.meta[0] as number;
    const shape = new Array<number>(rank);
    for (let i = 0; i < rank; i++) shape[i] = this.meta[i + 1] as number;
    const dataId = {};
    this.data.set(dataId, { id, shape, dtype, refCount: 1 });
    return { dataId, shape, dtype };
  }

  /** Like {@link output} for a handle whose shape must be asked for (multi-output ops). */
  outputOf(id: number, dtype: DataType): TensorInfo {
    this.native.shapeOf(id);
    return this.output(id, dtype);
  }

  override write(values: unknown, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.move(dataId, values, shape, dtype, 1);
    return dataId;
  }

  override move(dataId: DataId, values: unknown, shape: number[], dtype: DataType, refCount: number): void {
    const code = dtypeCode(dtype);
    if (!ArrayBuffer.isView(values)) {
      throw new TorchKernelError(
        `write: the torch backend needs a typed array for a ${dtype} tensor of shape [${shape.join(', ')}]; received ${values === null ? 'null' : typeof values}.`,
        'write',
      );
    }
    const id = this.native.fromArray(values, shape, code);
    this.data.set(dataId, { id, shape: shape.slice(), dtype, refCount });
  }

  override readSync(dataId: DataId): Float32Array | Int32Array | Uint8Array {
    return this.native.read(this.data.get(dataId).id);
  }

  override read(dataId: DataId): Promise<Float32Array | Int32Array | Uint8Array> {
    const { id } = this.data.get(dataId);
    if (this.device === 'cuda') return this.native.readAsync(id);
    return Promise.resolve(this.native.read(id));
  }

  override refCount(dataId: DataId): number {
    return this.data.has(dataId) ? this.data.get(dataId).refCount : 0;
  }

  override incRef(dataId: DataId): void {
    this.data.get(dataId).refCount++;
  }

  override disposeData(dataId: DataId, force = false): boolean {
    if (this.data.has(dataId)) {
      const d = this.data.get(dataId);
      d.refCount--;
      if (!force && d.refCount > 0) return false;
      this.native.free(d.id);
      this.data.delete(dataId);
    }
    return true;
  }

  /** Frees an intermediate result a kernel made and does not return. */
  disposeIntermediate(t: TensorInfo): void {
    this.disposeData(t.dataId, true);
  }

  override numDataIds(): number {
    return this.data.numDataIds();
  }

  override memory(): {
    unreliable: boolean;
    reasons?: string[];
    numHandles: number;
    numBytesInTorch: number;
    numBytesInTorchStorage: number;
  } {
    const { handles, bytes, storageBytes } = this.native.stats();
    return { unreliable: false, numHandles: handles, numBytesInTorch: bytes, numBytesInTorchStorage: storageBytes };
  }

  override async time(f: () => void): Promise<BackendTimingInfo> {
    const start = performance.now();
    f();
    this.native.sync();
    return { kernelMs: performance.now() - start };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    if (this.disposed) return;
    this.native.freeAll();
    this.disposed = true;
  }
}
