/**
 * The data that ships with the package (`data/`): dataset class lists (copies of ViFi-CLIP's
 * `labels/*.csv`), prompt templates (openai/CLIP `data/prompts.md`), descriptions and the LSS-C
 * vocabulary (written by a language model for this project; see `data/README.md`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, DataError } from '@lss/core';
import type { DescribedCategory } from '../build.js';
import { type DescriptionFile, mergeDescriptionFiles, type VocabularyFile } from '../descriptions.js';
import {
  DATASET_NAMES,
  type DatasetClass,
  type DatasetName,
  LABEL_SET_NAMES,
  type LabelSet,
  type LabelSetName,
  normalizeLabel,
  unionLabelSet,
  vocabularyLabelSet,
} from '../labels.js';

function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === '@lss/concepts') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir)
      throw new DataError('Cannot find the @lss/concepts package root (package.json) above this module; the data/ folder ships beside it.');
    dir = parent;
  }
}

/** Absolute path of the package's `data/` folder. */
export const CONCEPTS_DATA_DIR: string = join(findPackageRoot(), 'data');

/** Label CSV file of each dataset, in `data/labels/`. */
export const DATASET_LABEL_FILES: Readonly<Record<DatasetName, string>> = {
  kinetics400: 'kinetics_400_labels.csv',
  ucf101: 'ucf_101_labels.csv',
  hmdb51: 'hmdb_51_labels.csv',
};

/** Aliases accepted wherever a dataset name is. */
const DATASET_ALIASES: Readonly<Record<string, DatasetName>> = {
  k400: 'kinetics400',
  kinetics400: 'kinetics400',
  'kinetics-400': 'kinetics400',
  ucf101: 'ucf101',
  'ucf-101': 'ucf101',
  ucf: 'ucf101',
  hmdb51: 'hmdb51',
  'hmdb-51': 'hmdb51',
  hmdb: 'hmdb51',
};

/** `k400` / `kinetics-400` / ... -> canonical dataset name; unknown names are a {@link ConfigError}. */
export function resolveDatasetName(name: string): DatasetName {
  const d = DATASET_ALIASES[name.toLowerCase()];
  if (!d)
    throw new ConfigError(`Unknown dataset ${JSON.stringify(name)}; expected one of ${DATASET_NAMES.join(', ')} (or k400, ucf, hmdb).`);
  return d;
}

/** Parses an `id,name` CSV (ViFi-CLIP format; a name may itself contain commas or be quoted). */
export function parseLabelCsv(text: string, file = 'labels.csv'): DatasetClass[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').trim().toLowerCase();
  if (header !== 'id,name') throw new DataError(`${file}: header ${JSON.stringify(lines[0])}; expected "id,name".`, { file, line: 1 });
  const out: DatasetClass[] = [];
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === '') return;
    const comma = line.indexOf(',');
    const id = Number(line.slice(0, comma));
    let name = line.slice(comma + 1).trim();
    if (name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/""/g, '"');
    if (comma < 0 || !Number.isInteger(id) || id < 0 || name === '') {
      throw new DataError(
        `${file} line ${i + 2}: ${JSON.stringify(line)}; expected "<id>,<name>" with a non-negative integer id and a non-empty name.`,
        {
          file,
          line: i + 2,
        },
      );
    }
    out.push({ id, name });
  });
  return out;
}

function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new DataError(`Data file ${path} does not exist.`, { file: path });
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (cause) {
    throw new DataError(`Data file ${path} is not valid JSON: ${(cause as Error).message}.`, { file: path, cause });
  }
}

/** Classes of a shipped dataset (`kinetics400`, `ucf101`, `hmdb51`, or an alias) or of a CSV path. */
export function loadDatasetClasses(datasetOrCsv: string): DatasetClass[] {
  const file = datasetOrCsv.endsWith('.csv')
    ? datasetOrCsv
    : join(CONCEPTS_DATA_DIR, 'labels', DATASET_LABEL_FILES[resolveDatasetName(datasetOrCsv)]);
  if (!existsSync(file)) throw new DataError(`Label file ${file} does not exist.`, { file });
  return parseLabelCsv(readFileSync(file, 'utf8'), file);
}

/** Prompt templates shipped in `data/prompts/` (openai/CLIP prompts.md). */
export const PROMPT_TEMPLATE_SETS = ['kinetics700', 'ucf101'] as const;
export type PromptTemplateSet = (typeof PROMPT_TEMPLATE_SETS)[number];

/** Templates by name (`kinetics700`: 28, `ucf101`: 48) or from a JSON file holding a list of strings. */
export function loadPromptTemplates(nameOrFile: PromptTemplateSet | string): string[] {
  const file = (PROMPT_TEMPLATE_SETS as readonly string[]).includes(nameOrFile)
    ? join(CONCEPTS_DATA_DIR, 'prompts', `${nameOrFile}-templates.json`)
    : nameOrFile;
  const list = readJson<unknown>(file);
  if (!Array.isArray(list) || list.length === 0 || !list.every((t) => typeof t === 'string' && t.includes('{}'))) {
    throw new DataError(`${file}: expected a non-empty JSON list of template strings containing "{}".`, { file });
  }
  return list as string[];
}

/** Description file names of each dataset in `data/descriptions/` (Kinetics-400 is split in two parts by id). */
export const DESCRIPTION_FILES: Readonly<Record<DatasetName, readonly string[]>> = {
  kinetics400: ['kinetics400-a.json', 'kinetics400-b.json'],
  ucf101: ['ucf101.json'],
  hmdb51: ['hmdb51.json'],
};

/** Descriptions of a dataset (parts merged by class id). `dir` overrides `data/descriptions`. A missing file is a {@link DataError}. */
export function loadDescriptions(dataset: string, dir = join(CONCEPTS_DATA_DIR, 'descriptions')): DescriptionFile {
  const name = resolveDatasetName(dataset);
  const parts = DESCRIPTION_FILES[name].map((f) => readJson<DescriptionFile>(join(dir, f)));
  return mergeDescriptionFiles(name, parts);
}

/** The LSS-C action vocabulary (`data/vocabulary/lss-c.json`, or `file`). */
export function loadVocabulary(file = join(CONCEPTS_DATA_DIR, 'vocabulary', 'lss-c.json')): string[] {
  const v = readJson<VocabularyFile>(file);
  if (!v || !Array.isArray(v.actions)) throw new DataError(`${file}: expected { "actions": [...] }.`, { file });
  return [...v.actions];
}

/**
 * Description file parts of the LSS-C vocabulary in `data/descriptions/` (written in three parts:
 * vocabulary indices 0-459, 460-919 and 920-1379). Class `id` = index in `data/vocabulary/lss-c.json`,
 * `name` = that action.
 */
export const VOCABULARY_DESCRIPTION_FILES: readonly string[] = ['lss-c-a.json', 'lss-c-b.json', 'lss-c-c.json'];

/**
 * Descriptions of the LSS-C vocabulary's actions (the parts merged by vocabulary index; a repeated
 * index is a {@link DataError}). `dir` overrides `data/descriptions`. A missing part is a {@link DataError}.
 */
export function loadVocabularyDescriptions(dir = join(CONCEPTS_DATA_DIR, 'descriptions')): DescriptionFile {
  const parts = VOCABULARY_DESCRIPTION_FILES.map((f) => readJson<DescriptionFile>(join(dir, f)));
  return mergeDescriptionFiles('lss-c', parts);
}

/** Datasets whose classes make up a label set (LSS-C has none: it is a vocabulary). */
export const LABEL_SET_DATASETS: Readonly<Record<LabelSetName, readonly DatasetName[]>> = {
  'lss-a': ['kinetics400'],
  'lss-b': ['kinetics400', 'ucf101', 'hmdb51'],
  'lss-c': [],
};

function checkLabelSetName(name: string): LabelSetName {
  if (!(LABEL_SET_NAMES as readonly string[]).includes(name)) {
    throw new ConfigError(`Unknown label set ${JSON.stringify(name)}; expected one of ${LABEL_SET_NAMES.join(', ')}.`);
  }
  return name as LabelSetName;
}

/**
 * `lss-a`: Kinetics-400 (400 labels); `lss-b`: Kinetics-400 ∪ UCF-101 ∪ HMDB-51, normalised and
 * de-duplicated, with `toLabel` mapping each dataset's class ids; `lss-c`: the generated vocabulary.
 */
export function loadLabelSet(name: LabelSetName | string, options: { vocabularyFile?: string } = {}): LabelSet {
  const set = checkLabelSetName(name);
  if (set === 'lss-c') return vocabularyLabelSet('lss-c', loadVocabulary(options.vocabularyFile));
  return unionLabelSet(
    set,
    LABEL_SET_DATASETS[set].map((d) => ({ dataset: d, classes: loadDatasetClasses(d) })),
  );
}

/**
 * The descriptions of a label set's categories, for {@link buildDescriptionSpace}: each dataset class's
 * descriptions attached to its label (several classes merged into one label pool their descriptions).
 * `lss-c`: every vocabulary action gets its own descriptions (`data/descriptions/lss-c-*.json`, matched
 * by normalised name, so a custom vocabulary keeps those of its actions that the shipped one has), and
 * an action whose name equals a dataset class name (33 of the shipped 1,380, all Kinetics-400 classes,
 * e.g. "rock climbing") also pools that class's descriptions, as `lss-b` pools merged classes;
 * `datasets: []` keeps only the vocabulary's own. Defaults: `lss-a` uses Kinetics-400's descriptions,
 * `lss-b`/`lss-c` those of all three datasets. `sources` lists the files read.
 */
export function describedCategoriesForLabelSet(
  set: LabelSet,
  options: { datasets?: readonly DatasetName[]; descriptionsDir?: string } = {},
): { categories: DescribedCategory[]; sources: string[] } {
  const datasets = options.datasets ?? (set.name === 'lss-a' ? ['kinetics400' as const] : LABEL_SET_DATASETS['lss-b']);
  const index = new Map(set.labels.map((l, i) => [l, i] as const));
  const pooled = new Map<number, string[]>();
  const sources: string[] = [];
  const pool = (li: number | undefined, descriptions: readonly string[]) => {
    if (li === undefined) return;
    const list = pooled.get(li) ?? [];
    list.push(...descriptions);
    pooled.set(li, list);
  };
  if (set.name === 'lss-c') {
    const file = loadVocabularyDescriptions(options.descriptionsDir);
    sources.push(...VOCABULARY_DESCRIPTION_FILES);
    for (const c of file.classes) pool(index.get(normalizeLabel(c.name)), c.descriptions);
  }
  for (const d of datasets) {
    const file = loadDescriptions(d, options.descriptionsDir);
    sources.push(...DESCRIPTION_FILES[d]);
    const map = set.toLabel[d];
    for (const c of file.classes) pool(map ? map[c.id] : index.get(normalizeLabel(c.name)), c.descriptions);
  }
  const categories = [...pooled.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([li, descriptions]) => ({ id: set.labels[li] as string, descriptions }));
  return { categories, sources };
}
