/**
 * Description and vocabulary data files: types, validation and merging (pure; files are read by
 * `@lss/concepts/node`).
 */
import { DataError } from '@lss/core';
import type { DatasetClass } from './labels.js';

/** Bounds on descriptions per class in the shipped data and the generator. */
export const MIN_DESCRIPTIONS = 4;
export const MAX_DESCRIPTIONS = 6;
/** Minimum size of the LSS-C vocabulary. */
export const MIN_VOCABULARY = 1000;

export interface ClassDescriptions {
  readonly id: number;
  readonly name: string;
  readonly descriptions: readonly string[];
}

/** `data/descriptions/<dataset>.json`. */
export interface DescriptionFile {
  readonly dataset: string;
  readonly classes: readonly ClassDescriptions[];
}

/** `data/vocabulary/lss-c.json`. */
export interface VocabularyFile {
  readonly actions: readonly string[];
}

const norm = (s: string): string => s.replace(/\s+/g, ' ').trim().toLowerCase();

/**
 * Problems of a description file against the expected class list (empty = valid): a missing, extra or
 * renamed class, fewer than `min` or more than `max` descriptions, empty or duplicate descriptions
 * (case- and whitespace-insensitive) within a class.
 */
export function validateDescriptionFile(
  file: DescriptionFile,
  expected: readonly DatasetClass[],
  bounds: { min?: number; max?: number } = {},
): string[] {
  const min = bounds.min ?? MIN_DESCRIPTIONS;
  const max = bounds.max ?? MAX_DESCRIPTIONS;
  const problems: string[] = [];
  if (!file || !Array.isArray(file.classes)) return [`${file?.dataset ?? '?'}: expected { dataset, classes: [...] }.`];
  const byId = new Map<number, ClassDescriptions>();
  for (const c of file.classes) {
    if (byId.has(c.id)) problems.push(`${file.dataset}: class id ${c.id} appears twice.`);
    byId.set(c.id, c);
  }
  const expectedIds = new Set(expected.map((c) => c.id));
  for (const c of file.classes)
    if (!expectedIds.has(c.id)) problems.push(`${file.dataset}: class id ${c.id} (${c.name}) is not in the label list.`);
  for (const e of expected) {
    const c = byId.get(e.id);
    if (!c) {
      problems.push(`${file.dataset}: class ${e.id} (${e.name}) has no descriptions.`);
      continue;
    }
    if (norm(c.name) !== norm(e.name))
      problems.push(`${file.dataset}: class ${e.id} is named ${JSON.stringify(c.name)}; the label list says ${JSON.stringify(e.name)}.`);
    const ds = Array.isArray(c.descriptions) ? c.descriptions : [];
    if (ds.length < min || ds.length > max)
      problems.push(`${file.dataset}: class ${e.id} (${e.name}) has ${ds.length} descriptions; expected ${min} to ${max}.`);
    const seen = new Set<string>();
    ds.forEach((d, j) => {
      if (typeof d !== 'string' || d.trim() === '') {
        problems.push(`${file.dataset}: class ${e.id} (${e.name}) description ${j} is empty.`);
        return;
      }
      const k = norm(d);
      if (seen.has(k)) problems.push(`${file.dataset}: class ${e.id} (${e.name}) repeats description ${JSON.stringify(d)}.`);
      seen.add(k);
    });
  }
  return problems;
}

/** Problems of a vocabulary (empty = valid): not a list, empty or duplicate actions (case/whitespace-insensitive), fewer than `min`. */
export function validateVocabulary(file: VocabularyFile, min = MIN_VOCABULARY): string[] {
  if (!file || !Array.isArray(file.actions)) return ['vocabulary: expected { "actions": [...] }.'];
  const problems: string[] = [];
  const seen = new Set<string>();
  file.actions.forEach((a, i) => {
    if (typeof a !== 'string' || a.trim() === '') {
      problems.push(`vocabulary: action ${i} is empty.`);
      return;
    }
    const k = norm(a);
    if (seen.has(k)) problems.push(`vocabulary: action ${i} ${JSON.stringify(a)} is a duplicate.`);
    seen.add(k);
  });
  if (seen.size < min) problems.push(`vocabulary: ${seen.size} distinct actions; expected at least ${min}.`);
  return problems;
}

/** Merges description files of one dataset split by class id (e.g. kinetics400-a + -b); a repeated id is an error. */
export function mergeDescriptionFiles(dataset: string, parts: readonly DescriptionFile[]): DescriptionFile {
  const byId = new Map<number, ClassDescriptions>();
  for (const p of parts) {
    for (const c of p.classes ?? []) {
      if (byId.has(c.id)) throw new DataError(`${dataset}: class id ${c.id} (${c.name}) is in more than one description file part.`);
      byId.set(c.id, c);
    }
  }
  return { dataset, classes: [...byId.values()].sort((a, b) => a.id - b.id) };
}
