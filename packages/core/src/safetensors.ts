/**
 * safetensors reading and writing, from and to bytes (no file system; see `@lss/core/node` for paths).
 *
 * Format (huggingface/safetensors, docs/format): 8-byte little-endian unsigned header length N, N bytes
 * of UTF-8 JSON `{ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__"?: {string: string} }`,
 * then the raw little-endian tensor bytes; offsets are relative to the end of the header.
 *
 * Every check runs on the header before any tensor buffer is allocated, so a hostile file is rejected
 * cheaply: header length larger than the file or than {@link MAX_HEADER_BYTES}, invalid UTF-8 or JSON,
 * duplicate names, unknown dtype, a shape that does not match the byte length, offsets out of range,
 * overlapping ranges, holes between ranges. Everything fails with {@link WeightsError}.
 */
import { echoValue, formatShape, LssError, WeightsError } from './errors.js';

/** Largest header accepted (the reference implementation uses the same 100 MB limit). */
export const MAX_HEADER_BYTES = 100_000_000;

/** dtypes on disk that LSS.js reads. Floats become float32, integers int32 (checked to fit). */
export type SafetensorsDtype = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

const ITEM_BYTES: Record<SafetensorsDtype, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const FLOAT_DTYPES = new Set<SafetensorsDtype>(['F64', 'F32', 'F16', 'BF16']);

/** One entry of a validated header. `begin`/`end` are absolute byte offsets in the file. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly begin: number;
  readonly end: number;
}

/** A validated header: entries in file order, metadata, and where the data starts. */
export interface SafetensorsHeader {
  readonly entries: readonly SafetensorsEntry[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute offset of the first data byte (8 + header length). */
  readonly dataStart: number;
  /** Total file length implied by the header. */
  readonly fileLength: number;
}

/** A decoded tensor: float dtypes as float32, integer dtypes as int32. */
export interface SafetensorsTensor {
  readonly dtype: 'float32' | 'int32';
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
  /** The dtype the tensor had on disk. */
  readonly sourceDtype: SafetensorsDtype;
}

/** A tensor to write. `dtype` defaults to F32 for Float32Array and I32 for Int32Array. */
export interface SafetensorsInput {
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array | BigInt64Array | Uint8Array | readonly number[];
  readonly dtype?: 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8';
}

export interface SafetensorsContents {
  readonly tensors: Map<string, SafetensorsTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Reads the 8-byte header length; `fileLength` is the size of the whole file. */
export function readHeaderLength(prefix: Uint8Array, fileLength: number, source = 'safetensors data'): number {
  if (fileLength < 8 || prefix.length < 8) {
    throw new WeightsError(
      `${source}: received ${fileLength} bytes; a safetensors file needs at least 8 bytes (the header length). The file is empty or truncated.`,
    );
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const high = view.getUint32(4, true);
  const low = view.getUint32(0, true);
  const length = high * 4294967296 + low;
  if (length > MAX_HEADER_BYTES) {
    throw new WeightsError(
      `${source}: header length is ${length} bytes; expected at most ${MAX_HEADER_BYTES}. This is not a safetensors file or it is corrupt.`,
    );
  }
  if (length > fileLength - 8) {
    throw new WeightsError(
      `${source}: header length is ${length} bytes but only ${fileLength - 8} bytes follow the length field. The file is truncated or not safetensors.`,
    );
  }
  return length;
}

/**
 * Validates a header (the JSON bytes after the length field) against the file length.
 * Allocates nothing proportional to the tensor data.
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, fileLength: number, source = 'safetensors data'): SafetensorsHeader {
  return asWeightsError(source, () => parseHeader(headerBytes, fileLength, source));
}

/**
 * Deepest JSON nesting accepted in a header. A valid header nests 3 levels (the object of tensors, one
 * tensor's description, its shape list); the limit leaves room for extensions and stops a small file
 * nested thousands of levels deep before anything walks it recursively.
 */
export const MAX_HEADER_DEPTH = 16;

/** Runs `read`; any error that is not already LSS.js's own becomes a WeightsError naming `source`. */
export function asWeightsError<T>(source: string, read: () => T): T {
  try {
    return read();
  } catch (cause) {
    if (cause instanceof LssError) throw cause;
    throw new WeightsError(
      `${source}: cannot read the safetensors data (${echoValue(cause instanceof Error ? `${cause.name}: ${cause.message}` : cause, 200)}). The file is corrupt or not safetensors.`,
      { cause },
    );
  }
}

function parseHeader(headerBytes: Uint8Array, fileLength: number, source: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(headerBytes);
  } catch (cause) {
    throw new WeightsError(`${source}: the header is not valid UTF-8; expected a JSON object. The file is corrupt.`, { cause });
  }
  const { duplicate, depth } = scanHeader(text);
  if (depth > MAX_HEADER_DEPTH) {
    throw new WeightsError(
      `${source}: the header JSON nests ${depth} levels deep; expected at most ${MAX_HEADER_DEPTH} (a safetensors header nests 3: tensors, one tensor's description, its shape). The file is corrupt or hostile.`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new WeightsError(
      `${source}: the header is not valid JSON (${echoValue((cause as Error).message, 200)}); expected {"name": {"dtype", "shape", "data_offsets"}}. The file is corrupt or truncated.`,
      { cause },
    );
  }
  if (duplicate !== null) {
    throw new WeightsError(`${source}: tensor name ${echoValue(duplicate)} appears twice in the header; names must be unique.`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new WeightsError(`${source}: the header is ${Array.isArray(json) ? 'an array' : typeof json}; expected a JSON object.`);
  }
  const dataStart = 8 + headerBytes.length;
  const dataLength = fileLength - dataStart;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = validateMetadata(value, source);
      continue;
    }
    entries.push(validateEntry(name, value, dataStart, dataLength, source));
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = dataStart;
  for (const entry of entries) {
    if (entry.begin < cursor) {
      throw new WeightsError(
        `${source}: tensor ${echoValue(entry.name)} has data_offsets starting at ${entry.begin - dataStart}, inside the range of another tensor (which ends at ${cursor - dataStart}); ranges must not overlap.`,
      );
    }
    if (entry.begin > cursor) {
      throw new WeightsError(
        `${source}: ${entry.begin - cursor} unused bytes before tensor ${echoValue(entry.name)} (offset ${cursor - dataStart}); tensor ranges must be contiguous.`,
      );
    }
    cursor = entry.end;
  }
  if (cursor !== fileLength) {
    throw new WeightsError(
      `${source}: the header describes ${cursor - dataStart} data bytes but the file has ${dataLength}; the file is ${cursor > fileLength ? 'truncated' : 'padded with trailing bytes'}.`,
    );
  }
  return { entries, metadata, dataStart, fileLength };
}

function validateMetadata(value: unknown, source: string): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WeightsError(`${source}: __metadata__ is ${echoValue(value)}; expected an object of strings.`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') {
      throw new WeightsError(
        `${source}: __metadata__.${echoValue(k)} is ${typeof v}; expected a string (safetensors metadata is string to string).`,
      );
    }
    out[k] = v;
  }
  return out;
}

function validateEntry(name: string, value: unknown, dataStart: number, dataLength: number, source: string): SafetensorsEntry {
  const where = `${source}: tensor ${echoValue(name)}`;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new WeightsError(`${where} is described by ${echoValue(value)}; expected {"dtype", "shape", "data_offsets"}.`);
  }
  const { dtype, shape, data_offsets: offsets } = value as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in ITEM_BYTES)) {
    throw new WeightsError(`${where} has dtype ${echoValue(dtype)}; expected one of ${Object.keys(ITEM_BYTES).join(', ')}.`);
  }
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new WeightsError(`${where} has shape ${echoValue(shape)}; expected an array of non-negative integers.`);
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    offsets.some((o) => !Number.isSafeInteger(o) || o < 0) ||
    (offsets[0] as number) > (offsets[1] as number)
  ) {
    throw new WeightsError(`${where} has data_offsets ${echoValue(offsets)}; expected [begin, end] with 0 <= begin <= end.`);
  }
  const [begin, end] = offsets as [number, number];
  if (end > dataLength) {
    throw new WeightsError(
      `${where} has data_offsets [${begin}, ${end}] but the data section has only ${dataLength} bytes; the file is truncated or the header is corrupt.`,
    );
  }
  const count = shape.reduce((a: number, b: number) => a * b, 1);
  const expectedBytes = count * ITEM_BYTES[dtype as SafetensorsDtype];
  if (expectedBytes !== end - begin) {
    throw new WeightsError(
      `${where}: shape ${echoValue(shape)} of ${dtype} needs ${expectedBytes} bytes but data_offsets [${begin}, ${end}] span ${end - begin}.`,
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin: dataStart + begin, end: dataStart + end };
}

/**
 * Scans a JSON object text without parsing it: the first top-level key that occurs twice (or null;
 * JSON.parse silently keeps the last duplicate, which would hide a malicious second entry), and the
 * deepest nesting of objects and arrays.
 */
function scanHeader(text: string): { duplicate: string | null; depth: number } {
  const seen = new Set<string>();
  let duplicate: string | null = null;
  let maxDepth = 0;
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) {
        let key: string | null = null;
        try {
          key = JSON.parse(text.slice(i, j + 1)) as string;
        } catch {
          // JSON.parse of the whole header reports it
        }
        if (key !== null && duplicate === null) {
          if (seen.has(key)) duplicate = key;
          seen.add(key);
        }
        expectKey = false;
      }
      i = j;
    } else if (c === '{' || c === '[') {
      depth++;
      if (depth > maxDepth) maxDepth = depth;
      if (depth === 1 && c === '{') expectKey = true;
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return { duplicate, depth: maxDepth };
}

/** Parses and validates the header of a complete safetensors file held in memory. */
export function readSafetensorsHeader(bytes: Uint8Array, source = 'safetensors data'): SafetensorsHeader {
  return asWeightsError(source, () => {
    const headerLength = readHeaderLength(bytes, bytes.length, source);
    return parseSafetensorsHeader(bytes.subarray(8, 8 + headerLength), bytes.length, source);
  });
}

/**
 * Reads a complete safetensors file held in memory.
 *
 * @example
 * const { tensors, metadata } = readSafetensors(bytes);
 * const w = tensors.get('visual.proj'); // { dtype: 'float32', shape: [768, 512], data }
 */
export function readSafetensors(bytes: Uint8Array, options: { names?: readonly string[]; source?: string } = {}): SafetensorsContents {
  const source = options.source ?? 'safetensors data';
  return asWeightsError(source, () => readContents(bytes, options.names, source));
}

function readContents(bytes: Uint8Array, names: readonly string[] | undefined, source: string): SafetensorsContents {
  const header = readSafetensorsHeader(bytes, source);
  const wanted = names ? new Set(names) : null;
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of header.entries) {
    if (wanted && !wanted.has(entry.name)) continue;
    tensors.set(entry.name, decodeTensor(entry, bytes.subarray(entry.begin, entry.end), source));
  }
  if (wanted) {
    const missing = [...wanted].filter((n) => !tensors.has(n));
    if (missing.length > 0) throw new WeightsError(`${source}: requested tensors not in the file: ${echoValue(missing)}.`);
  }
  return { tensors, metadata: header.metadata };
}

/** Decodes one tensor's raw bytes (exactly `entry.end - entry.begin` of them) to float32 or int32. */
export function decodeTensor(entry: SafetensorsEntry, raw: Uint8Array, source = 'safetensors data'): SafetensorsTensor {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const base = { shape: [...entry.shape], sourceDtype: entry.dtype };
  if (FLOAT_DTYPES.has(entry.dtype)) {
    const out = new Float32Array(n);
    switch (entry.dtype) {
      case 'F32':
        if (raw.byteOffset % 4 === 0) out.set(new Float32Array(raw.buffer, raw.byteOffset, n));
        else for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
        break;
      case 'F64':
        for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
        break;
      case 'F16': {
        // One table lookup per value (float32 bit patterns of all 65536 halves): memory speed.
        const table = float16Table();
        const u32 = new Uint32Array(out.buffer);
        const u16 = halfWords(raw, n);
        if (u16) for (let i = 0; i < n; i++) u32[i] = table[u16[i] as number] as number;
        else for (let i = 0; i < n; i++) u32[i] = table[view.getUint16(2 * i, true)] as number;
        break;
      }
      default: {
        // BF16 is the upper half of a float32.
        const u32 = new Uint32Array(out.buffer);
        const u16 = halfWords(raw, n);
        if (u16) for (let i = 0; i < n; i++) u32[i] = (u16[i] as number) << 16;
        else for (let i = 0; i < n; i++) u32[i] = view.getUint16(2 * i, true) << 16;
      }
    }
    return { ...base, dtype: 'float32', data: out };
  }
  const out = new Int32Array(n);
  switch (entry.dtype) {
    case 'I32':
      for (let i = 0; i < n; i++) out[i] = view.getInt32(4 * i, true);
      break;
    case 'I64':
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new WeightsError(
            `${source}: tensor ${echoValue(entry.name)} (I64) holds ${v} at index ${i}, which does not fit int32; tfjs has no int64. Store it as I32 or F32.`,
          );
        }
        out[i] = Number(v);
      }
      break;
    case 'I16':
      for (let i = 0; i < n; i++) out[i] = view.getInt16(2 * i, true);
      break;
    case 'I8':
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      break;
    default: // U8, BOOL
      for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
  }
  return { ...base, dtype: 'int32', data: out };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** `raw` as `n` little-endian 16-bit words without copying, or a copy when unaligned; null on big-endian hosts. */
function halfWords(raw: Uint8Array, n: number): Uint16Array | null {
  if (!LITTLE_ENDIAN) return null;
  if (raw.byteOffset % 2 === 0) return new Uint16Array(raw.buffer, raw.byteOffset, n);
  return new Uint16Array(raw.slice(0, 2 * n).buffer, 0, n);
}

let halfTable: Uint32Array | undefined;

/** float32 bit patterns of every IEEE half (256 KB, built on first use from {@link float16ToFloat32}). */
function float16Table(): Uint32Array {
  if (!halfTable) {
    const f32 = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f32[h] = float16ToFloat32(h);
    halfTable = new Uint32Array(f32.buffer);
  }
  return halfTable;
}

/** IEEE 754 half precision (bits in the low 16 bits of `h`) to a number. */
export function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Single to half precision, round to nearest even. */
export function float32ToFloat16(value: number): number {
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  f32[0] = value;
  const x = u32[0] as number;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >> shift;
    const rem = mantissa & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >> 13);
  const rem = mantissa & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  if ((half & 0x7c00) === 0x7c00) e = 31;
  return sign | half;
}

/** float32 to bfloat16, round to nearest even. */
export function float32ToBfloat16(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0] as number;
  if (Number.isNaN(value)) return 0x7fc0;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

interface PlannedTensor {
  readonly name: string;
  readonly dtype: 'F32' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8';
  readonly shape: readonly number[];
  readonly input: SafetensorsInput;
  readonly byteLength: number;
}

/** Validates inputs and lays out the file; shared by the in-memory and streaming writers. */
export function planSafetensors(
  tensors: Map<string, SafetensorsInput> | Record<string, SafetensorsInput>,
  metadata: Readonly<Record<string, string>> = {},
): { header: Uint8Array; tensors: PlannedTensor[] } {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const planned: PlannedTensor[] = [];
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = { ...metadata };
  let offset = 0;
  for (const [name, input] of entries) {
    if (name === '__metadata__') throw new WeightsError('A tensor cannot be named "__metadata__"; that key holds the metadata.');
    const dtype =
      input.dtype ??
      (input.data instanceof Int32Array
        ? 'I32'
        : input.data instanceof BigInt64Array
          ? 'I64'
          : input.data instanceof Uint8Array
            ? 'U8'
            : 'F32');
    const count = input.shape.reduce((a, b) => a * b, 1);
    if (input.shape.some((d) => !Number.isSafeInteger(d) || d < 0) || count !== input.data.length) {
      throw new WeightsError(
        `Tensor ${JSON.stringify(name)}: shape ${formatShape(input.shape)} holds ${count} values but ${input.data.length} were given.`,
      );
    }
    const byteLength = count * ITEM_BYTES[dtype];
    header[name] = { dtype, shape: [...input.shape], data_offsets: [offset, offset + byteLength] };
    planned.push({ name, dtype, shape: input.shape, input, byteLength });
    offset += byteLength;
  }
  let json = JSON.stringify(header);
  const encoder = new TextEncoder();
  let bytes = encoder.encode(json);
  const padded = Math.ceil(bytes.length / 8) * 8;
  json += ' '.repeat(padded - bytes.length);
  bytes = encoder.encode(json);
  return { header: bytes, tensors: planned };
}

/** Encodes one planned tensor's data as little-endian bytes. */
export function encodeTensorData(tensor: PlannedTensor): Uint8Array {
  const out = new Uint8Array(tensor.byteLength);
  const view = new DataView(out.buffer);
  const data = tensor.input.data;
  const n = data.length;
  switch (tensor.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) view.setFloat32(4 * i, Number(data[i]), true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) view.setUint16(2 * i, float32ToFloat16(Number(data[i])), true);
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) view.setUint16(2 * i, float32ToBfloat16(Number(data[i])), true);
      break;
    case 'I32':
      for (let i = 0; i < n; i++) view.setInt32(4 * i, Number(data[i]), true);
      break;
    case 'I64':
      for (let i = 0; i < n; i++) view.setBigInt64(8 * i, BigInt(data[i] as number | bigint), true);
      break;
    case 'U8':
      for (let i = 0; i < n; i++) view.setUint8(i, Number(data[i]));
      break;
  }
  return out;
}

/**
 * Serializes tensors to safetensors bytes (names sorted, header padded to 8 bytes), readable by
 * PyTorch's `safetensors.torch.load_file`.
 */
export function writeSafetensors(
  tensors: Map<string, SafetensorsInput> | Record<string, SafetensorsInput>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const plan = planSafetensors(tensors, metadata);
  const dataBytes = plan.tensors.reduce((a, t) => a + t.byteLength, 0);
  const out = new Uint8Array(8 + plan.header.length + dataBytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, plan.header.length, true);
  view.setUint32(4, 0, true);
  out.set(plan.header, 8);
  let offset = 8 + plan.header.length;
  for (const t of plan.tensors) {
    out.set(encodeTensorData(t), offset);
    offset += t.byteLength;
  }
  return out;
}
