/**
 * A checkpoint as a set of named entries that can be checked (names, dtypes, shapes) before any
 * tensor is decoded. Built from bytes here; the Node loader builds one from a file.
 */
import {
  decodeTensor,
  echoValue,
  formatShape,
  readSafetensorsHeader,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsTensor,
  WeightsError,
} from '@lss/core';

export interface WeightSource {
  /** For messages: a path or a label. */
  readonly name: string;
  readonly entries: ReadonlyMap<string, { readonly dtype: SafetensorsDtype; readonly shape: readonly number[] }>;
  readonly metadata: Readonly<Record<string, string>>;
  /** Decodes one tensor (floats as float32). */
  read(key: string): SafetensorsTensor;
}

/** A {@link WeightSource} over a complete safetensors file in memory. */
export function weightSourceFromBytes(bytes: Uint8Array, name = 'safetensors data'): WeightSource {
  let header: ReturnType<typeof readSafetensorsHeader>;
  try {
    header = readSafetensorsHeader(bytes, name);
  } catch (error) {
    throw diagnoseTruncation(bytes, bytes.length, name) ?? error;
  }
  const byName = new Map<string, SafetensorsEntry>(header.entries.map((e) => [e.name, e]));
  return {
    name,
    entries: byName,
    metadata: header.metadata,
    read(key) {
      const entry = byName.get(key);
      if (!entry) throw new WeightsError(`${name}: no tensor ${echoValue(key)}.`);
      return decodeTensor(entry, bytes.subarray(entry.begin, entry.end), name);
    },
  };
}

/**
 * When a file's header parses but its data section is shorter than the header says, returns a
 * {@link WeightsError} naming every tensor that lies (partly) beyond the end, with its dtype and shape.
 * `prefix` holds at least the first 8 + header-length bytes; `fileLength` is the real file size.
 * Returns null when the problem is something else (the caller rethrows the original error).
 */
export function diagnoseTruncation(prefix: Uint8Array, fileLength: number, name: string): WeightsError | null {
  if (prefix.length < 8) return null;
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 4294967296;
  if (headerLength > prefix.length - 8) return null;
  let json: Record<string, { dtype?: string; shape?: number[]; data_offsets?: [number, number] }>;
  try {
    json = JSON.parse(new TextDecoder().decode(prefix.subarray(8, 8 + headerLength)));
  } catch {
    return null;
  }
  const available = fileLength - 8 - headerLength;
  const cut: string[] = [];
  for (const [key, e] of Object.entries(json)) {
    if (key === '__metadata__' || !e || !Array.isArray(e.data_offsets)) continue;
    const [begin, end] = e.data_offsets;
    if (typeof end === 'number' && end > available) {
      cut.push(
        `${echoValue(key)} (${typeof e.dtype === 'string' && e.dtype.length <= 8 ? e.dtype : echoValue(e.dtype)} ${describeShape(e.shape)}, bytes ${begin}-${end}${begin < available ? `, only ${available - begin} present` : ', none present'})`,
      );
    }
  }
  if (cut.length === 0) return null;
  return new WeightsError(
    `${name}: the file is truncated (${available} data bytes after the header; the header needs more). Tensors cut off: ${cut.slice(0, 20).join('; ')}${cut.length > 20 ? `; and ${cut.length - 20} more` : ''}. Download or copy the file again.`,
  );
}

/** A shape from an unvalidated header, for messages: `[32, 64]`, or the value cut to a bounded length. */
function describeShape(shape: unknown): string {
  if (Array.isArray(shape) && shape.length <= 8 && shape.every((d) => typeof d === 'number')) return formatShape(shape);
  return echoValue(shape ?? []);
}
