/**
 * Node-only helpers of `@lss/core`: safetensors from and to paths, with streamed reads so a multi-GB
 * checkpoint is never held twice, and atomic writes (temporary file, then rename).
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { echoValue, WeightsError } from '../errors.js';
import {
  asWeightsError,
  decodeTensor,
  encodeTensorData,
  parseSafetensorsHeader,
  planSafetensors,
  readHeaderLength,
  type SafetensorsContents,
  type SafetensorsHeader,
  type SafetensorsInput,
  type SafetensorsTensor,
} from '../safetensors.js';
import { outputErrorFrom } from './output.js';

function readExactly(fd: number, length: number, position: number, path: string): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, position + done);
    if (n === 0) throw new WeightsError(`${path}: unexpected end of file at byte ${position + done}; the file is truncated.`);
    done += n;
  }
  return out;
}

function openForRead(path: string): number {
  try {
    return openSync(path, 'r');
  } catch (cause) {
    throw new WeightsError(`Cannot open weights file ${path}: ${(cause as Error).message}. Check the path.`, { cause });
  }
}

/** Reads and validates only the header of a safetensors file (cheap, whatever the file size). */
export function readSafetensorsFileHeader(path: string): SafetensorsHeader {
  const fd = openForRead(path);
  try {
    return asWeightsError(path, () => readHeaderFromFd(fd, path));
  } finally {
    closeSync(fd);
  }
}

function readHeaderFromFd(fd: number, path: string): SafetensorsHeader {
  const size = fstatSync(fd).size;
  const prefix = size >= 8 ? readExactly(fd, 8, 0, path) : new Uint8Array(0);
  const headerLength = readHeaderLength(prefix, size, path);
  return parseSafetensorsHeader(readExactly(fd, headerLength, 8, path), size, path);
}

/**
 * Reads a safetensors file from disk. The header is validated first; then each wanted tensor is read
 * on its own, so peak memory is one tensor's bytes plus the decoded results.
 */
export function readSafetensorsFile(path: string, options: { names?: readonly string[] } = {}): SafetensorsContents {
  const fd = openForRead(path);
  try {
    return asWeightsError(path, () => readContentsFromFd(fd, path, options.names));
  } finally {
    closeSync(fd);
  }
}

function readContentsFromFd(fd: number, path: string, names: readonly string[] | undefined): SafetensorsContents {
  const header = readHeaderFromFd(fd, path);
  const wanted = names ? new Set(names) : null;
  const tensors = new Map<string, SafetensorsTensor>();
  for (const entry of header.entries) {
    if (wanted && !wanted.has(entry.name)) continue;
    tensors.set(entry.name, decodeTensor(entry, readExactly(fd, entry.end - entry.begin, entry.begin, path), path));
  }
  if (wanted) {
    const missing = [...wanted].filter((n) => !tensors.has(n));
    if (missing.length > 0) throw new WeightsError(`${path}: requested tensors not in the file: ${echoValue(missing)}.`);
  }
  return { tensors, metadata: header.metadata };
}

/** Writes a safetensors file atomically: to a unique `path.tmp-<pid>-<random>` first, fsync, then rename over `path`. */
export function writeSafetensorsFile(
  path: string,
  tensors: Map<string, SafetensorsInput> | Record<string, SafetensorsInput>,
  metadata: Readonly<Record<string, string>> = {},
): void {
  const plan = planSafetensors(tensors, metadata);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setUint32(0, plan.header.length, true);
  writeAtomically(path, 'safetensors file', (fd) => {
    writeAll(fd, prefix);
    writeAll(fd, plan.header);
    for (const t of plan.tensors) writeAll(fd, encodeTensorData(t));
  });
}

/**
 * Writes `path` through a temporary file (write, fsync, rename). The temporary name is unique per call
 * (`path.tmp-<pid>-<random>`, created exclusively), so two processes, or two writers in one process,
 * never share it. On any failure the temporary file is removed, `path` keeps its previous contents, and
 * the error is an OutputError naming the path and the real cause (disk full, read-only, permission).
 */
function writeAtomically(path: string, what: string, write: (fd: number) => void): void {
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'wx');
    write(fd);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (error) {
    if (fd !== null) {
      try {
        closeSync(fd);
      } catch {
        // the write error is the one to report
      }
    }
    rmSync(tmp, { force: true });
    throw outputErrorFrom(error, path, what);
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
}

/**
 * Writes a file atomically: a uniquely named temporary file beside it (`<path>.tmp-<pid>-<random>`),
 * fsync, rename. Readers see the old or the new contents, never a part; the temporary file is removed
 * on any error.
 */
export function writeFileAtomic(path: string, contents: string | Uint8Array): void {
  const bytes = typeof contents === 'string' ? new TextEncoder().encode(contents) : contents;
  writeAtomically(path, 'file', (fd) => writeAll(fd, bytes));
}

export { ensureWritableDir, outputErrorFrom } from './output.js';
export { formatDuration, ProgressLine, type ProgressLineOptions, type ProgressMode, renderBar } from './progress.js';
export { listStepFiles, newestStepFile, removeStaleTemporaryFiles, type StepFile } from './step-files.js';

/** SHA-256 (hex) of a file, streamed in 4 MiB chunks (model hashes for caches and provenance). */
export function hashFile(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(4 << 20);
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
