/**
 * NumPy `.npy` files (format version 1.0: magic, header dict, raw little-endian C-order data), so
 * exported features load with `numpy.load` and go straight into scikit-learn.
 */
import { readFileSync } from 'node:fs';
import { DataError } from '@lss/core';
import { writeFileAtomic } from '@lss/core/node';

export type NpyArray =
  | { readonly data: Float32Array; readonly shape: readonly number[] }
  | { readonly data: Int32Array; readonly shape: readonly number[] };

/** Encodes a float32 ('<f4') or int32 ('<i4') array as .npy bytes. */
export function encodeNpy(array: NpyArray): Uint8Array {
  const descr = array.data instanceof Float32Array ? '<f4' : '<i4';
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // Total of magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64);
  header += '\n';
  const out = new Uint8Array(10 + header.length + array.data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0); // \x93NUMPY v1.0
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength), 10 + header.length);
  return out;
}

/** Writes a .npy file atomically. */
export function writeNpy(path: string, array: NpyArray): void {
  writeFileAtomic(path, encodeNpy(array));
}

/** Reads a '<f4' or '<i4' .npy file written by {@link writeNpy} or numpy. */
export function readNpy(path: string): NpyArray {
  const bytes = readFileSync(path);
  if (bytes[0] !== 0x93 || bytes.subarray(1, 6).toString('latin1') !== 'NUMPY') {
    throw new DataError(`${path} is not a .npy file (bad magic); expected a file written by numpy.save or lss-eval.`, { file: path });
  }
  const major = bytes[6] as number;
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.subarray(start, start + headerLength).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '';
  if (/'fortran_order':\s*True/.test(header))
    throw new DataError(`${path}: Fortran-ordered arrays are not supported; save with C order.`, { file: path });
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const raw = bytes.subarray(start + headerLength);
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  if (descr === '<f4') return { data: new Float32Array(copy.buffer), shape };
  if (descr === '<i4') return { data: new Int32Array(copy.buffer), shape };
  throw new DataError(`${path}: dtype ${descr} is not supported; expected '<f4' (float32) or '<i4' (int32).`, { file: path });
}
