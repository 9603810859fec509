/**
 * Parsers for the official annotation formats (SPEC section 6). Pure text in, records out; the `./node` readers
 * add file access and the missing-video summary. Every error is a `DataError` naming the file and line.
 *
 * - UCF-101 `ucfTrainTestlist/`: `classInd.txt` (`<1-based index> <ClassName>`), `trainlist0N.txt`
 *   (`<Class>/<video>.avi <1-based index>`), `testlist0N.txt` (`<Class>/<video>.avi`). Official files use CRLF.
 * - HMDB-51 `testTrainMulti_7030_splits/<class>_test_split{1,2,3}.txt`: `<video>.avi <0|1|2>` (1 train, 2 test,
 *   0 unused).
 * - Kinetics-400 CSV: header `label,youtube_id,time_start,time_end,split` (extra columns such as `is_cc` are
 *   ignored; the test CSV has no `label`).
 * - List file: `<path> <label>` per line (mmaction2 style); the label is the last whitespace-separated token.
 */
import { DataError } from '@lss/core';

function lines(text: string): string[] {
  return text.split(/\r?\n/);
}

/** Parses UCF-101 `classInd.txt` into class names ordered by index (index 1 -> position 0). */
export function parseClassInd(text: string, file = 'classInd.txt'): string[] {
  const names: string[] = [];
  lines(text).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const match = /^(\d+)\s+(\S+)$/.exec(line);
    if (!match) {
      throw new DataError(`${file}:${i + 1}: expected "<index> <ClassName>" (e.g. "1 ApplyEyeMakeup"); received "${line}".`, {
        file,
        line: i + 1,
      });
    }
    const index = Number(match[1]);
    if (index !== names.length + 1) {
      throw new DataError(
        `${file}:${i + 1}: class indices must run 1, 2, 3, ... in order; expected ${names.length + 1}, received ${index}.`,
        { file, line: i + 1 },
      );
    }
    names.push(match[2]!);
  });
  if (names.length === 0) throw new DataError(`${file}: no classes found; expected lines "<index> <ClassName>".`, { file });
  return names;
}

/** One entry of a split or list file. */
export interface AnnotationEntry {
  /** Video path as written in the file (relative). */
  readonly video: string;
  /** 0-based class index, or -1 when unlabelled. */
  readonly label: number;
  /** 1-based line number. */
  readonly line: number;
}

function classLookup(classNames: readonly string[]): (name: string) => number {
  const exact = new Map(classNames.map((n, i) => [n, i]));
  const folded = new Map(classNames.map((n, i) => [n.toLowerCase(), i]));
  // Official UCF-101 mixes cases (folder HandstandPushups, files v_HandStandPushups_*): fall back to case-insensitive.
  return (name) => exact.get(name) ?? folded.get(name.toLowerCase()) ?? -1;
}

/**
 * Parses a UCF-101 `trainlist0N.txt` (with labels) or `testlist0N.txt` (without). The class comes from the
 * label when present, else from the folder part of the path; both must agree with `classNames`.
 */
export function parseUcfSplitList(text: string, classNames: readonly string[], file = 'trainlist01.txt'): AnnotationEntry[] {
  const lookup = classLookup(classNames);
  const out: AnnotationEntry[] = [];
  lines(text).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const parts = line.split(/\s+/);
    if (parts.length > 2) {
      throw new DataError(`${file}:${i + 1}: expected "<Class>/<video>.avi [<index>]"; received "${line}".`, { file, line: i + 1 });
    }
    const video = parts[0]!;
    const folder = video.includes('/') ? video.slice(0, video.indexOf('/')) : '';
    const fromFolder = folder === '' ? -1 : lookup(folder);
    let label = fromFolder;
    if (parts.length === 2) {
      const index = Number(parts[1]);
      if (!Number.isInteger(index) || index < 1 || index > classNames.length) {
        throw new DataError(
          `${file}:${i + 1}: class index must be an integer in [1, ${classNames.length}] (classInd.txt numbering); received "${parts[1]}".`,
          { file, line: i + 1 },
        );
      }
      label = index - 1;
      if (fromFolder !== -1 && fromFolder !== label) {
        throw new DataError(`${file}:${i + 1}: folder "${folder}" is class ${fromFolder + 1} in classInd.txt but the line says ${index}.`, {
          file,
          line: i + 1,
        });
      }
    }
    if (label === -1) {
      throw new DataError(
        `${file}:${i + 1}: cannot tell the class of "${video}": folder "${folder}" is not in classInd.txt and the line has no index.`,
        { file, line: i + 1 },
      );
    }
    out.push({ video, label, line: i + 1 });
  });
  return out;
}

/** The split-file name pattern of HMDB-51: `<class>_test_split<k>.txt`. */
export const HMDB_SPLIT_FILE = /^(.+)_test_split([123])\.txt$/;

/**
 * Parses one HMDB-51 split file (`<video> <0|1|2>` lines) and returns the videos whose tag is `wanted`
 * (1 = train, 2 = test), with their line numbers.
 */
export function parseHmdbSplitFile(
  text: string,
  wanted: 0 | 1 | 2,
  file = 'brush_hair_test_split1.txt',
): { video: string; line: number }[] {
  const out: { video: string; line: number }[] = [];
  lines(text).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    const match = /^(\S+)\s+([012])$/.exec(line);
    if (!match) {
      throw new DataError(`${file}:${i + 1}: expected "<video>.avi <0|1|2>" (1 = train, 2 = test, 0 = unused); received "${line}".`, {
        file,
        line: i + 1,
      });
    }
    if (Number(match[2]) === wanted) out.push({ video: match[1]!, line: i + 1 });
  });
  return out;
}

/** One row of a Kinetics CSV. */
export interface KineticsRow {
  /** Class name as in the CSV, or '' for the unlabelled test CSV. */
  readonly label: string;
  readonly youtubeId: string;
  readonly timeStart: number;
  readonly timeEnd: number;
  readonly split: string;
  readonly line: number;
}

/** Splits one CSV line, honouring double quotes (class names such as `"massaging person's head"`). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

/** Parses a Kinetics-400 annotation CSV (`label,youtube_id,time_start,time_end,split`, header required). */
export function parseKineticsCsv(text: string, file = 'train.csv'): KineticsRow[] {
  const all = lines(text);
  const header = splitCsvLine((all[0] ?? '').trim()).map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  const [iLabel, iId, iStart, iEnd, iSplit] = ['label', 'youtube_id', 'time_start', 'time_end', 'split'].map(col) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (iId < 0 || iStart < 0 || iEnd < 0) {
    throw new DataError(
      `${file}:1: expected a header with youtube_id,time_start,time_end (and label,split: "label,youtube_id,time_start,time_end,split"); received "${all[0] ?? ''}".`,
      { file, line: 1 },
    );
  }
  const rows: KineticsRow[] = [];
  for (let i = 1; i < all.length; i++) {
    const line = all[i]!.trim();
    if (line === '') continue;
    const cells = splitCsvLine(line);
    if (cells.length < header.length) {
      throw new DataError(
        `${file}:${i + 1}: expected ${header.length} columns (${header.join(',')}); received ${cells.length}: "${line}".`,
        { file, line: i + 1 },
      );
    }
    const timeStart = Number(cells[iStart]);
    const timeEnd = Number(cells[iEnd]);
    if (!Number.isFinite(timeStart) || !Number.isFinite(timeEnd) || timeEnd < timeStart) {
      throw new DataError(
        `${file}:${i + 1}: time_start and time_end must be numbers with start <= end; received "${cells[iStart]}", "${cells[iEnd]}".`,
        { file, line: i + 1 },
      );
    }
    const youtubeId = (cells[iId] ?? '').trim();
    if (youtubeId === '') throw new DataError(`${file}:${i + 1}: empty youtube_id.`, { file, line: i + 1 });
    rows.push({
      label: iLabel >= 0 ? (cells[iLabel] ?? '').trim() : '',
      youtubeId,
      timeStart,
      timeEnd,
      split: iSplit >= 0 ? (cells[iSplit] ?? '').trim() : '',
      line: i + 1,
    });
  }
  return rows;
}

/** The usual Kinetics clip file stem: `<youtube_id>_<start:06d>_<end:06d>` (as the ActivityNet downloader names files). */
export function kineticsFileStem(youtubeId: string, timeStart: number, timeEnd: number): string {
  const pad = (t: number) => String(Math.round(t)).padStart(6, '0');
  return `${youtubeId}_${pad(timeStart)}_${pad(timeEnd)}`;
}

/** Parses a `path label` list file; the label is the last token (paths may contain spaces). */
export function parseListFile(text: string, file = 'list.txt'): AnnotationEntry[] {
  const out: AnnotationEntry[] = [];
  lines(text).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const match = /^(.*\S)\s+(-?\d+)$/.exec(line);
    if (!match) {
      throw new DataError(`${file}:${i + 1}: expected "<path> <label>" with an integer label; received "${line}".`, { file, line: i + 1 });
    }
    const label = Number(match[2]);
    if (label < 0) throw new DataError(`${file}:${i + 1}: label must be >= 0; received ${label}.`, { file, line: i + 1 });
    out.push({ video: match[1]!, label, line: i + 1 });
  });
  return out;
}

/** Parses a `id,name` class-name CSV (the lists in `fixtures/datasets/labels/`) into names ordered by id. */
export function parseClassNamesCsv(text: string, file = 'labels.csv'): string[] {
  const all = lines(text);
  const names: string[] = [];
  for (let i = 1; i < all.length; i++) {
    const line = all[i]!.trim();
    if (line === '') continue;
    const cells = splitCsvLine(line);
    const id = Number(cells[0]);
    if (!Number.isInteger(id) || id !== names.length || cells.length < 2) {
      throw new DataError(`${file}:${i + 1}: expected "${names.length},<name>"; received "${line}".`, { file, line: i + 1 });
    }
    names.push(cells.slice(1).join(',').trim());
  }
  return names;
}
