/**
 * Dataset readers (SPEC section 6): UCF-101, HMDB-51, Kinetics-400 (CSV and folder layout), folder-per-class and
 * `path label` list files. Each returns a {@link VideoDataset}; videos listed but absent on disk go to `missing`
 * (one summary, see `formatMissingSummary`), never a crash. Malformed annotation lines throw `DataError` with the
 * file and line.
 */
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { DataError } from '@lss/core';
import {
  HMDB_SPLIT_FILE,
  kineticsFileStem,
  parseClassInd,
  parseHmdbSplitFile,
  parseKineticsCsv,
  parseListFile,
  parseUcfSplitList,
} from '../parse.js';
import {
  formatMissingSummary,
  formatSkippedSummary,
  type MissingVideo,
  type SkippedFile,
  type VideoDataset,
  type VideoSample,
} from '../types.js';

/**
 * File extensions treated as videos when scanning folders (lower case): every container the bundled ffmpeg decodes
 * that datasets ship, GIF included. Annotation lists (UCF-101, HMDB-51, Kinetics, list files) name their files and
 * are not filtered by extension. A scanned file with another extension is a video when its first bytes carry a video
 * container's signature ({@link sniffVideoContainer}); otherwise it is skipped with a warning naming it.
 */
export const VIDEO_EXTENSIONS: readonly string[] = [
  '.avi',
  '.mp4',
  '.m4v',
  '.webm',
  '.mkv',
  '.mov',
  '.qt',
  '.mpg',
  '.mpeg',
  '.m2v',
  '.vob',
  '.m2ts',
  '.mts',
  '.flv',
  '.f4v',
  '.3gp',
  '.3g2',
  '.ogv',
  '.wmv',
  '.asf',
  '.divx',
  '.gif',
  '.mjpeg',
  '.h264',
  '.264',
  '.hevc',
  '.y4m',
  '.nut',
];

function isVideoFile(name: string): boolean {
  return VIDEO_EXTENSIONS.includes(extname(name).toLowerCase());
}

/**
 * The video container a file's first bytes announce, or undefined: the signatures ffmpeg's own format probe looks
 * for (AVI `RIFF....AVI `, ISO BMFF / QuickTime `....ftyp` / `moov` / `mdat`, Matroska / WebM EBML `1A 45 DF A3`,
 * GIF, MPEG-TS (0x47 every 188 bytes, or every 192 for M2TS), MPEG-PS pack / MPEG video sequence headers, an
 * H.264 Annex B stream, FLV, ASF / WMV, Ogg, YUV4MPEG2, NUT, RealMedia). Reads at most 1 KiB. Folder scans use it
 * for files whose extension is not in {@link VIDEO_EXTENSIONS}, so a video named `.ts`, `.dat` or without an
 * extension is still found (a container holding only audio is accepted here and reported when it is decoded).
 */
export function sniffVideoContainer(path: string): string | undefined {
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(1024);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const ascii = (at: number, text: string) => head.length >= at + text.length && head.toString('latin1', at, at + text.length) === text;
  const bytes = (at: number, values: number[]) => head.length >= at + values.length && values.every((v, i) => head[at + i] === v);
  if (ascii(0, 'RIFF') && ascii(8, 'AVI ')) return 'avi';
  if (['ftyp', 'moov', 'mdat', 'wide', 'free', 'skip'].some((box) => ascii(4, box))) return 'mp4/mov';
  if (bytes(0, [0x1a, 0x45, 0xdf, 0xa3])) return 'matroska/webm';
  if (ascii(0, 'GIF87a') || ascii(0, 'GIF89a')) return 'gif';
  if (head[0] === 0x47 && head[188] === 0x47 && head[376] === 0x47) return 'mpegts';
  if (head[4] === 0x47 && head[196] === 0x47 && head[388] === 0x47) return 'm2ts';
  if (bytes(0, [0, 0, 1, 0xba])) return 'mpeg-ps';
  if (bytes(0, [0, 0, 1, 0xb3])) return 'mpeg video';
  if (bytes(0, [0, 0, 0, 1]) && head.length > 4 && [7, 9].includes(head[4]! & 0x1f)) return 'h264';
  if (ascii(0, 'FLV')) return 'flv';
  if (bytes(0, [0x30, 0x26, 0xb2, 0x75, 0x8e, 0x66, 0xcf, 0x11])) return 'asf';
  if (ascii(0, 'OggS')) return 'ogg';
  if (ascii(0, 'YUV4MPEG2')) return 'y4m';
  if (ascii(0, 'nut/multimedia container')) return 'nut';
  if (ascii(0, '.RMF')) return 'realmedia';
  return undefined;
}

/**
 * Why an existing path cannot be a video sample, or undefined when it is a regular file (symbolic links followed).
 * Exported for tests and for `check`.
 */
export function nonFileReason(path: string): string | undefined {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return lstatOk(path) ? 'a symbolic link whose target does not exist' : 'cannot be read (permission denied or vanished)';
  }
  if (stat.isFile()) return undefined;
  if (stat.isDirectory()) return 'a directory named like a video file, not a video (its contents are not samples of this entry)';
  if (stat.isFIFO()) return 'a named pipe (fifo), not a regular file: a video must be a file that can be read more than once';
  if (stat.isSocket()) return 'a socket, not a regular file';
  return 'a device or other special file, not a regular file';
}

function lstatOk(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Emits one warning listing a reader's skipped files (Node's `process.emitWarning`, or the caller's `onWarning`). */
function warnSkipped(dataset: VideoDataset, onWarning?: (message: string) => void): VideoDataset {
  const warn = (message: string) => (onWarning ? onWarning(message) : process.emitWarning(message, { type: 'LssDataWarning' }));
  // Every listed video missing is almost always a wrong videos folder: said at once (partly missing datasets are
  // reported by the callers that use them, e.g. lss-eval, from `dataset.missing`).
  if (dataset.samples.length === 0 && dataset.missing.length > 0) warn(formatMissingSummary(dataset));
  if ((dataset.skipped?.length ?? 0) > 0) warn(formatSkippedSummary(dataset));
  return dataset;
}

/** Option shared by the readers. */
export interface ReaderWarningOptions {
  /** Receives the summary of skipped files; default `process.emitWarning` (printed on stderr once per call). */
  readonly onWarning?: (message: string) => void;
}

function readText(file: string, what: string): string {
  if (!existsSync(file)) throw new DataError(`${what} not found: ${file}.`, { file });
  return readFileSync(file, 'utf8');
}

/** Split number 1, 2 or 3 of UCF-101 / HMDB-51. */
export type SplitNumber = 1 | 2 | 3;
export type Subset = 'train' | 'test';

function checkSplit(split: number): void {
  if (split !== 1 && split !== 2 && split !== 3) {
    throw new DataError(`Split must be 1, 2 or 3 (the official splits); received ${split}.`);
  }
}

/** Options of {@link readUcf101}. */
export interface Ucf101Options {
  /** Folder holding `<Class>/v_<Class>_gXX_cYY.avi` (the extracted `UCF-101/`). */
  readonly videosDir: string;
  /** Folder holding `classInd.txt`, `trainlist0N.txt`, `testlist0N.txt` (`ucfTrainTestlist/`). */
  readonly annotationsDir: string;
  readonly split: SplitNumber;
  readonly subset: Subset;
  /** Receives the summary of skipped files; default `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

/** Reads a UCF-101 split (`classInd.txt` + `trainlist0N.txt` or `testlist0N.txt`). */
export function readUcf101(options: Ucf101Options): VideoDataset {
  checkSplit(options.split);
  const classFile = join(options.annotationsDir, 'classInd.txt');
  const classNames = parseClassInd(readText(classFile, 'UCF-101 classInd.txt'), classFile);
  const listFile = join(options.annotationsDir, `${options.subset === 'train' ? 'trainlist' : 'testlist'}0${options.split}.txt`);
  const entries = parseUcfSplitList(readText(listFile, `UCF-101 ${options.subset} list`), classNames, listFile);
  const samples: VideoSample[] = [];
  const missing: MissingVideo[] = [];
  const skipped: SkippedFile[] = [];
  for (const entry of entries) {
    const path = resolve(options.videosDir, entry.video);
    const problem = existsSync(path) ? nonFileReason(path) : undefined;
    if (problem) skipped.push({ path, reason: `${problem} (listed at ${listFile}:${entry.line})` });
    else if (existsSync(path)) {
      samples.push({ path, label: entry.label, className: classNames[entry.label]!, source: `${listFile}:${entry.line}` });
    } else missing.push({ path, file: listFile, line: entry.line });
  }
  return warnSkipped({ name: 'ucf101', classNames, samples, missing, skipped }, options.onWarning);
}

/** Options of {@link readHmdb51}. */
export interface Hmdb51Options {
  /** Folder holding `<class>/<video>.avi` (the extracted per-class RAR archives). */
  readonly videosDir: string;
  /** Folder `testTrainMulti_7030_splits` with `<class>_test_split{1,2,3}.txt`. */
  readonly splitsDir: string;
  readonly split: SplitNumber;
  readonly subset: Subset;
  /** Receives the summary of skipped files; default `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

/**
 * Reads an HMDB-51 split. Class names are the split-file prefixes (`brush_hair`, ...) in sorted order (HMDB-51
 * defines no label numbers; this is mmaction2's order; ViFi-CLIP's label list differs at kick/kick_ball and
 * sword/sword_exercise, so match class names, not indices); tag 1 = train, 2 = test, 0 = unused.
 */
export function readHmdb51(options: Hmdb51Options): VideoDataset {
  checkSplit(options.split);
  if (!existsSync(options.splitsDir))
    throw new DataError(`HMDB-51 splits folder not found: ${options.splitsDir}.`, { file: options.splitsDir });
  const files = readdirSync(options.splitsDir)
    .map((name) => {
      const match = HMDB_SPLIT_FILE.exec(name);
      return { name, className: match?.[1] ?? '', split: Number(match?.[2] ?? 0) };
    })
    .filter((f) => f.split === options.split)
    // Sorted class names (mmaction2's convention). HMDB-51 defines no label numbers; ViFi-CLIP's list
    // (fixtures/datasets/labels/hmdb_51_labels.csv) swaps kick/kick_ball and sword/sword_exercise: map by name.
    .sort((a, b) => (a.className < b.className ? -1 : 1));
  if (files.length === 0) {
    throw new DataError(
      `No HMDB-51 split files "<class>_test_split${options.split}.txt" in ${options.splitsDir}. Expected the official testTrainMulti_7030_splits folder.`,
      { file: options.splitsDir },
    );
  }
  const classNames = files.map((f) => f.className);
  const wanted = options.subset === 'train' ? 1 : 2;
  const samples: VideoSample[] = [];
  const missing: MissingVideo[] = [];
  const skipped: SkippedFile[] = [];
  files.forEach((f, label) => {
    const file = join(options.splitsDir, f.name);
    const className = classNames[label]!;
    for (const entry of parseHmdbSplitFile(readFileSync(file, 'utf8'), wanted, file)) {
      const path = resolve(options.videosDir, className, entry.video);
      const problem = existsSync(path) ? nonFileReason(path) : undefined;
      if (problem) skipped.push({ path, reason: `${problem} (listed at ${file}:${entry.line})` });
      else if (existsSync(path)) samples.push({ path, label, className, source: `${file}:${entry.line}` });
      else missing.push({ path, file, line: entry.line });
    }
  });
  return warnSkipped({ name: 'hmdb51', classNames, samples, missing, skipped }, options.onWarning);
}

const EXTENSIONS_HINT = `video extensions: ${VIDEO_EXTENSIONS.slice(0, 6).join(' ')} and ${VIDEO_EXTENSIONS.length - 6} more (VIDEO_EXTENSIONS); if ffmpeg can read it, rename it to one of them or list it in a list file`;

/**
 * Recursively lists the video files under `root` (sorted), and every other entry with the reason it is not one:
 * another extension, a fifo or socket, a broken link, a directory named like a video (scanned as a folder), a link
 * to a directory (not followed, so link cycles cannot loop).
 */
export function listVideoEntries(root: string): { files: string[]; skipped: SkippedFile[] } {
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (isVideoFile(entry.name)) {
          skipped.push({ path: full, reason: 'a directory named like a video file, not a video (its contents are scanned as a folder)' });
        }
        walk(full);
        continue;
      }
      if (entry.isSymbolicLink()) {
        let target: ReturnType<typeof statSync> | undefined;
        try {
          target = statSync(full);
        } catch {
          skipped.push({ path: full, reason: 'a symbolic link whose target does not exist' });
          continue;
        }
        if (target.isDirectory()) {
          skipped.push({ path: full, reason: 'a symbolic link to a directory, not followed (list its target instead)' });
          continue;
        }
      }
      const problem = nonFileReason(full);
      if (problem) skipped.push({ path: full, reason: problem });
      else if (isVideoFile(entry.name)) files.push(full);
      // Another extension: decided by the file's first bytes (the container signature ffmpeg probes for).
      else if (sniffVideoContainer(full)) files.push(full);
      else {
        const ext = extname(entry.name).toLowerCase();
        skipped.push({
          path: full,
          reason: `not a video (${ext ? `extension "${ext}"` : 'no extension'} and no video container signature in its first bytes; ${EXTENSIONS_HINT})`,
        });
      }
    }
  };
  if (existsSync(root)) walk(root);
  return { files, skipped };
}

/** Recursively lists video files under `root`, mapping file stem -> path (first found wins), plus the skipped entries. */
function indexVideos(root: string): { index: Map<string, string>; skipped: SkippedFile[] } {
  const index = new Map<string, string>();
  const { files, skipped } = listVideoEntries(root);
  for (const full of files) {
    const stem = basename(full, extname(full));
    if (!index.has(stem)) index.set(stem, full);
  }
  return { index, skipped };
}

/** Options of {@link readKinetics400}. */
export interface KineticsOptions {
  /** Annotation CSV (`label,youtube_id,time_start,time_end,split`). */
  readonly csvPath: string;
  /** Folder searched recursively for `<youtube_id>_<start:06d>_<end:06d>.<ext>` or `<youtube_id>.<ext>`. */
  readonly videosDir: string;
  /**
   * Class names in label order; default: the CSV's labels sorted alphabetically (the official order, the same as
   * `fixtures/datasets/labels/kinetics_400_labels.csv`).
   */
  readonly classNames?: readonly string[];
  /** Receives the summary of skipped files; default `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

/**
 * Reads a Kinetics-400 CSV and finds its clips under `videosDir` in any of the usual layouts (flat,
 * `<class>/<file>`, `<split>/<class>/<file>`), trimmed (`<id>_<start>_<end>`) or untrimmed (`<id>`) names.
 */
export function readKinetics400(options: KineticsOptions): VideoDataset {
  const rows = parseKineticsCsv(readText(options.csvPath, 'Kinetics CSV'), options.csvPath);
  const labelled = rows.some((r) => r.label !== '');
  const classNames = options.classNames ? [...options.classNames] : [...new Set(rows.map((r) => r.label).filter((l) => l !== ''))].sort();
  const lookup = new Map(classNames.map((n, i) => [n, i]));
  // Folder names often replace spaces with underscores and drop quotes: accept both spellings.
  const alias = new Map(
    classNames.map((n, i) => [
      n
        .replace(/[ ]/g, '_')
        .replace(/[()'"]/g, '')
        .toLowerCase(),
      i,
    ]),
  );
  const { index, skipped } = indexVideos(options.videosDir);
  const samples: VideoSample[] = [];
  const missing: MissingVideo[] = [];
  for (const row of rows) {
    let label = -1;
    if (labelled) {
      label =
        lookup.get(row.label) ??
        alias.get(
          row.label
            .replace(/[ ]/g, '_')
            .replace(/[()'"]/g, '')
            .toLowerCase(),
        ) ??
        -1;
      if (label === -1) {
        throw new DataError(
          `${options.csvPath}:${row.line}: label "${row.label}" is not among the ${classNames.length} class names given. Pass the matching classNames or fix the CSV.`,
          { file: options.csvPath, line: row.line },
        );
      }
    }
    const stem = kineticsFileStem(row.youtubeId, row.timeStart, row.timeEnd);
    const path = index.get(stem) ?? index.get(row.youtubeId);
    if (path) {
      samples.push({
        path,
        label,
        className: label >= 0 ? classNames[label]! : '',
        timeStart: row.timeStart,
        timeEnd: row.timeEnd,
        source: `${options.csvPath}:${row.line}`,
      });
    } else missing.push({ path: join(options.videosDir, `${stem}.mp4`), file: options.csvPath, line: row.line });
  }
  return warnSkipped({ name: 'kinetics400', classNames, samples, missing, skipped }, options.onWarning);
}

/** Options of {@link readFolderPerClass}. */
export interface FolderPerClassOptions {
  /** Folder with one sub-folder per class (also the Kinetics `train/` or `val/` folder layout). */
  readonly root: string;
  /** Class names in label order; default: the sub-folder names sorted. Folders not listed are ignored. */
  readonly classNames?: readonly string[];
  /** Receives the summary of skipped files; default `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

/** Reads a folder-per-class layout: `root/<class>/**.<video ext>`. */
export function readFolderPerClass(options: FolderPerClassOptions): VideoDataset {
  if (!existsSync(options.root) || !statSync(options.root).isDirectory()) {
    throw new DataError(`Dataset folder not found: ${options.root}. Expected one sub-folder per class.`, { file: options.root });
  }
  const folders = readdirSync(options.root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  const classNames = options.classNames ? [...options.classNames] : folders;
  if (classNames.length === 0)
    throw new DataError(`No class sub-folders in ${options.root}. Expected root/<class>/<video>.`, { file: options.root });
  const samples: VideoSample[] = [];
  const skipped: SkippedFile[] = [];
  for (const entry of readdirSync(options.root, { withFileTypes: true })) {
    if (!entry.isDirectory()) {
      skipped.push({
        path: join(options.root, entry.name),
        reason: 'directly in the dataset root, not in a class folder (expected root/<class>/<video>)',
      });
    }
  }
  classNames.forEach((className, label) => {
    const dir = join(options.root, className);
    if (!existsSync(dir)) return;
    const found = indexVideos(dir);
    skipped.push(...found.skipped);
    for (const path of [...found.index.values()].sort()) samples.push({ path, label, className });
  });
  return warnSkipped({ name: 'folder', classNames, samples, missing: [], skipped }, options.onWarning);
}

/** Options of {@link readListFile}. */
export interface ListFileOptions {
  /** The list file: `<path> <label>` per line. */
  readonly listPath: string;
  /** Base folder for relative paths; default the list file's folder. */
  readonly root?: string;
  /** Class names in label order; default `class_<k>` up to the largest label. */
  readonly classNames?: readonly string[];
  /** Receives the summary of skipped files; default `process.emitWarning`. */
  readonly onWarning?: (message: string) => void;
}

/** Reads a `path label` list file (mmaction2 style). */
export function readListFile(options: ListFileOptions): VideoDataset {
  const text = readText(options.listPath, 'List file');
  const entries = parseListFile(text, options.listPath);
  const maxLabel = entries.reduce((m, e) => Math.max(m, e.label), -1);
  const classNames = options.classNames ? [...options.classNames] : Array.from({ length: maxLabel + 1 }, (_, k) => `class_${k}`);
  const root = options.root ?? dirname(options.listPath);
  const samples: VideoSample[] = [];
  const missing: MissingVideo[] = [];
  const skipped: SkippedFile[] = [];
  for (const entry of entries) {
    if (entry.label >= classNames.length) {
      throw new DataError(`${options.listPath}:${entry.line}: label ${entry.label} is out of range for ${classNames.length} class names.`, {
        file: options.listPath,
        line: entry.line,
      });
    }
    const path = resolve(root, entry.video);
    const problem = existsSync(path) ? nonFileReason(path) : undefined;
    if (problem) skipped.push({ path, reason: `${problem} (listed at ${options.listPath}:${entry.line})` });
    else if (existsSync(path))
      samples.push({ path, label: entry.label, className: classNames[entry.label]!, source: `${options.listPath}:${entry.line}` });
    else missing.push({ path, file: options.listPath, line: entry.line });
  }
  return warnSkipped({ name: 'list', classNames, samples, missing, skipped }, options.onWarning);
}

/** Lists every video file under `root` (recursive, sorted), for `check`; `root` may be a single file. */
export function listVideoFiles(root: string): string[] {
  if (!existsSync(root)) throw new DataError(`Folder not found: ${root}.`, { file: root });
  if (statSync(root).isFile()) return [root];
  return listVideoEntries(root).files.sort();
}
