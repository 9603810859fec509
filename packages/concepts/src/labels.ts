/**
 * Action label sets: normalisation of dataset class names and the LSS-A/B/C variants (SPEC.md
 * section 2). Pure functions; the files are read by `@lss/concepts/node`.
 */
import { ConfigError } from '@lss/core';

/** Datasets whose class lists ship in `data/labels/`. */
export const DATASET_NAMES = ['kinetics400', 'ucf101', 'hmdb51'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** The category-space variants. */
export const LABEL_SET_NAMES = ['lss-a', 'lss-b', 'lss-c'] as const;
export type LabelSetName = (typeof LABEL_SET_NAMES)[number];

/** One class of a dataset (ViFi-CLIP's `id,name` CSV rows). */
export interface DatasetClass {
  readonly id: number;
  readonly name: string;
}

export interface DatasetClasses {
  readonly dataset: DatasetName | string;
  readonly classes: readonly DatasetClass[];
}

/** A member of a label-set entry: which dataset class it came from. */
export interface LabelOrigin {
  readonly dataset: string;
  readonly id: number;
  readonly name: string;
}

/** A label set: normalised, de-duplicated labels, with the mapping back to each dataset's classes. */
export interface LabelSet {
  readonly name: string;
  /** Normalised labels, unique; they are also the category ids. */
  readonly labels: readonly string[];
  /** `origins[i]`: the dataset classes merged into label i (empty for generated vocabularies). */
  readonly origins: readonly (readonly LabelOrigin[])[];
  /** `toLabel[dataset][classId]` = index into `labels`. */
  readonly toLabel: Readonly<Record<string, readonly number[]>>;
}

/** Splits CamelCase words: `ApplyEyeMakeup` -> `Apply Eye Makeup`, `YoYo` -> `Yo Yo`, `PlayingDaf` -> `Playing Daf`. */
export function splitCamelCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2');
}

/**
 * Normalises a class name: Unicode NFKC, CamelCase split into words, `_` and typographic quotes
 * replaced, whitespace collapsed, lower-case, trimmed. `ApplyEyeMakeup` -> `apply eye makeup`,
 * `passing American football (in game)` -> `passing american football (in game)`.
 */
export function normalizeLabel(name: string): string {
  if (typeof name !== 'string') throw new ConfigError(`normalizeLabel: received ${typeof name}; expected a string.`);
  return splitCamelCase(name.normalize('NFKC'))
    .replace(/_/g, ' ')
    .replace(/[\u2018\u2019\u02bc]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
}

/**
 * The union of several datasets' classes, normalised with {@link normalizeLabel} and de-duplicated
 * (first appearance wins the position; every origin is kept). An empty name is an error.
 */
export function unionLabelSet(name: string, datasets: readonly DatasetClasses[]): LabelSet {
  const index = new Map<string, number>();
  const labels: string[] = [];
  const origins: LabelOrigin[][] = [];
  const toLabel: Record<string, number[]> = {};
  for (const ds of datasets) {
    const map: number[] = [];
    for (const c of ds.classes) {
      const label = normalizeLabel(c.name);
      if (label === '') throw new ConfigError(`${ds.dataset} class ${c.id}: empty label; expected a non-empty class name.`);
      let i = index.get(label);
      if (i === undefined) {
        i = labels.length;
        index.set(label, i);
        labels.push(label);
        origins.push([]);
      }
      (origins[i] as LabelOrigin[]).push({ dataset: String(ds.dataset), id: c.id, name: c.name });
      map[c.id] = i;
    }
    toLabel[String(ds.dataset)] = map;
  }
  return { name, labels, origins, toLabel };
}

/** A label set from a plain vocabulary (LSS-C): normalised, de-duplicated, no dataset origins. */
export function vocabularyLabelSet(name: string, actions: readonly string[]): LabelSet {
  const labels = [...new Set(actions.map(normalizeLabel))];
  if (labels.includes('')) throw new ConfigError(`${name}: the vocabulary has an empty action; expected non-empty strings.`);
  return { name, labels, origins: labels.map(() => []), toLabel: {} };
}

/** Label-set entries as category labels (`id` = `name` = normalised label). */
export function labelSetCategories(set: LabelSet): { id: string; name: string }[] {
  return set.labels.map((l) => ({ id: l, name: l }));
}
