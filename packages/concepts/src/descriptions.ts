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

/** Bounds of {@link validateDescriptionVariety}. */
export interface DescriptionVarietyBounds {
  /** Words that make an opening (default 3). */
  readonly openingWords?: number;
  /** Largest share of all descriptions that may start with one opening (default 0.05). */
  readonly maxOpeningShare?: number;
  /** An opening is only reported above this many uses, whatever the share (default 20: small files). */
  readonly minOpeningCount?: number;
}

/**
 * Problems across the classes of a description file (empty = valid), for text written class by class
 * that must not be templated: a description used by more than one class (case- and
 * whitespace-insensitive), one opening (the first `openingWords` words) starting more than
 * `maxOpeningShare` of all descriptions and more than `minOpeningCount` of them ("a person doing ..."
 * style), and a class whose multi-word name appears verbatim in every one of its descriptions.
 */
export function validateDescriptionVariety(file: DescriptionFile, bounds: DescriptionVarietyBounds = {}): string[] {
  const words = bounds.openingWords ?? 3;
  const maxShare = bounds.maxOpeningShare ?? 0.05;
  const minCount = bounds.minOpeningCount ?? 20;
  if (!file || !Array.isArray(file.classes)) return [`${file?.dataset ?? '?'}: expected { dataset, classes: [...] }.`];
  const problems: string[] = [];
  const owner = new Map<string, ClassDescriptions>();
  const openings = new Map<string, number>();
  let total = 0;
  for (const c of file.classes) {
    const raw: readonly unknown[] = Array.isArray(c.descriptions) ? c.descriptions : [];
    const ds = raw.filter((d): d is string => typeof d === 'string' && d.trim() !== '');
    for (const d of ds) {
      const k = norm(d);
      const first = owner.get(k);
      if (first && first.id !== c.id)
        problems.push(
          `${file.dataset}: classes ${first.id} (${first.name}) and ${c.id} (${c.name}) share the description ${JSON.stringify(d)}.`,
        );
      else owner.set(k, c);
      const opening = k.split(' ').slice(0, words).join(' ');
      openings.set(opening, (openings.get(opening) ?? 0) + 1);
      total++;
    }
    const name = norm(c.name ?? '');
    if (name.includes(' ') && ds.length > 0 && ds.every((d) => norm(d).includes(name)))
      problems.push(
        `${file.dataset}: class ${c.id} (${c.name}) repeats its name in every description; describe what the video shows instead.`,
      );
  }
  for (const [opening, n] of openings) {
    if (n > minCount && n > maxShare * total)
      problems.push(
        `${file.dataset}: ${n} of ${total} descriptions start with ${JSON.stringify(opening)} (at most ${Math.max(minCount, Math.floor(maxShare * total))}); templated text, vary the sentences.`,
      );
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
