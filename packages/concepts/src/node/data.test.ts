/**
 * Checks of the shipped data: label sets, prompt templates, and the language-model-written
 * descriptions and vocabulary (every class and every LSS-C action present with 4-6 distinct non-empty
 * descriptions, no description shared between classes, no templated openings, >= 1000 distinct
 * actions). These fail when a class, an action or a file is missing.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixturePath } from '@lss/testing';
import { describe, expect, it } from 'vitest';
import { validateDescriptionFile, validateDescriptionVariety, validateVocabulary } from '../descriptions.js';
import { DATASET_NAMES, normalizeLabel } from '../labels.js';
import {
  CONCEPTS_DATA_DIR,
  DATASET_LABEL_FILES,
  describedCategoriesForLabelSet,
  loadDatasetClasses,
  loadDescriptions,
  loadLabelSet,
  loadPromptTemplates,
  loadVocabulary,
  loadVocabularyDescriptions,
  parseLabelCsv,
  VOCABULARY_DESCRIPTION_FILES,
} from './data.js';

const norm = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

describe('shipped labels and prompts', () => {
  it('are byte-identical copies of fixtures/datasets', () => {
    for (const f of [...Object.values(DATASET_LABEL_FILES), 'kinetics_600_labels.csv', 'README.md']) {
      expect(readFileSync(join(CONCEPTS_DATA_DIR, 'labels', f), 'utf8'), f).toBe(
        readFileSync(fixturePath('datasets', 'labels', f), 'utf8'),
      );
    }
    for (const f of ['kinetics700-templates.json', 'ucf101-templates.json']) {
      expect(readFileSync(join(CONCEPTS_DATA_DIR, 'prompts', f), 'utf8')).toBe(readFileSync(fixturePath('datasets', 'prompts', f), 'utf8'));
    }
  });

  it('load with the expected class counts and template counts', () => {
    expect(loadDatasetClasses('k400')).toHaveLength(400);
    expect(loadDatasetClasses('ucf101')).toHaveLength(101);
    expect(loadDatasetClasses('hmdb51')).toHaveLength(51);
    expect(loadPromptTemplates('kinetics700')).toHaveLength(28);
    expect(loadPromptTemplates('ucf101')).toHaveLength(48);
    expect(() => loadDatasetClasses('imagenet')).toThrow(/Unknown dataset/);
  });

  it('parseLabelCsv rejects a bad header or row', () => {
    expect(() => parseLabelCsv('idx,label\n0,a')).toThrow(/expected "id,name"/);
    expect(() => parseLabelCsv('id,name\nx,a', 'f.csv')).toThrow(/line 2/);
    expect(parseLabelCsv('id,name\n0,"a, b"\n')).toEqual([{ id: 0, name: 'a, b' }]);
  });
});

describe('label sets', () => {
  it('lss-a is Kinetics-400', () => {
    const a = loadLabelSet('lss-a');
    expect(a.labels).toHaveLength(400);
    expect(a.labels[0]).toBe('abseiling');
  });

  it('lss-b is the normalised, de-duplicated union with a mapping back to every class', () => {
    const b = loadLabelSet('lss-b');
    expect(new Set(b.labels).size).toBe(b.labels.length);
    let classes = 0;
    for (const d of DATASET_NAMES) {
      const list = loadDatasetClasses(d);
      classes += list.length;
      for (const c of list) expect(b.labels[b.toLabel[d]?.[c.id] ?? -1]).toBe(normalizeLabel(c.name));
    }
    expect(b.origins.flat()).toHaveLength(classes);
    // Merged across datasets: K400 "tai chi" + UCF "TaiChi"; HMDB "fencing" + UCF "Fencing".
    expect(b.origins[b.labels.indexOf('tai chi')]?.map((o) => o.dataset)).toEqual(['kinetics400', 'ucf101']);
    expect(b.origins[b.labels.indexOf('fencing')]?.map((o) => o.dataset)).toEqual(['ucf101', 'hmdb51']);
    expect(b.labels.length).toBeLessThan(classes);
    expect(b.labels).toContain('apply eye makeup');
    expect(() => loadLabelSet('lss-z')).toThrow(/expected one of lss-a, lss-b, lss-c/);
  });
});

describe('description data (written by a language model for this project)', () => {
  for (const d of DATASET_NAMES) {
    it(`${d}: every class has 4-6 distinct, non-empty descriptions`, () => {
      const problems = validateDescriptionFile(loadDescriptions(d), loadDatasetClasses(d));
      expect(problems).toEqual([]);
    });

    it(`${d}: no description is shared between classes and no opening is templated`, () => {
      expect(validateDescriptionVariety(loadDescriptions(d))).toEqual([]);
    });
  }

  it('the variety check catches a shared description, a templated opening and a name in every sentence', () => {
    const templated = Array.from({ length: 30 }, (_, i) => ({
      id: i,
      name: `action ${i}`,
      descriptions: [`a person doing action ${i}`, `${i} hands and feet`, `a field ${i}`, `the end ${i}`],
    }));
    expect(validateDescriptionVariety({ dataset: 'x', classes: templated }).join('\n')).toMatch(
      /30 of 120 descriptions start with "a person doing" \(at most 20\)/,
    );
    expect(validateDescriptionVariety({ dataset: 'x', classes: templated }, { minOpeningCount: 30 })).toEqual([]);
    const problems = validateDescriptionVariety({
      dataset: 'x',
      classes: [
        { id: 0, name: 'a', descriptions: ['one arm up', 'two legs bent'] },
        { id: 1, name: 'b', descriptions: ['One  arm up', 'a ball in the air'] },
        { id: 2, name: 'rolling dice', descriptions: ['rolling dice on a table', 'Rolling Dice by the fire'] },
      ],
    });
    expect(problems).toEqual([
      'x: classes 0 (a) and 1 (b) share the description "One  arm up".',
      'x: class 2 (rolling dice) repeats its name in every description; describe what the video shows instead.',
    ]);
  });

  it('the validator catches a missing class, wrong counts, duplicates and empties', () => {
    const expected = [
      { id: 0, name: 'a' },
      { id: 1, name: 'b' },
      { id: 2, name: 'c' },
    ];
    const problems = validateDescriptionFile(
      {
        dataset: 'x',
        classes: [
          { id: 0, name: 'a', descriptions: ['1', '2', '3'] },
          { id: 1, name: 'b', descriptions: ['1', '2', '2 ', ''] },
        ],
      },
      expected,
    );
    expect(problems.join('\n')).toMatch(/class 0 \(a\) has 3 descriptions/);
    expect(problems.join('\n')).toMatch(/class 1 \(b\) repeats/);
    expect(problems.join('\n')).toMatch(/description 3 is empty/);
    expect(problems.join('\n')).toMatch(/class 2 \(c\) has no descriptions/);
  });

  it('lss-b descriptions attach to every lss-b label', () => {
    const b = loadLabelSet('lss-b');
    const { categories } = describedCategoriesForLabelSet(b);
    expect(categories.map((c) => c.id)).toEqual(b.labels);
    expect(categories.every((c) => c.descriptions.length >= 4)).toBe(true);
  });
});

describe('LSS-C descriptions (written by a language model for this project)', () => {
  const vocabulary = loadVocabulary();
  const actions = vocabulary.map((name, id) => ({ id, name }));

  it('every vocabulary action has 4-6 distinct, non-empty descriptions under its exact name', () => {
    const file = loadVocabularyDescriptions();
    expect(validateDescriptionFile(file, actions)).toEqual([]);
    expect(file.classes.map((c) => c.name)).toEqual(vocabulary);
  });

  it('no description is shared between actions or copied from a dataset, and no opening is templated', () => {
    const file = loadVocabularyDescriptions();
    expect(validateDescriptionVariety(file)).toEqual([]);
    const datasetTexts = new Set(DATASET_NAMES.flatMap((d) => loadDescriptions(d).classes.flatMap((c) => c.descriptions.map(norm))));
    expect(file.classes.flatMap((c) => c.descriptions.filter((s) => datasetTexts.has(norm(s))))).toEqual([]);
  });

  it('attach to every lss-c label; actions that are also dataset classes pool those descriptions', () => {
    const c = loadLabelSet('lss-c');
    const own = describedCategoriesForLabelSet(c, { datasets: [] });
    expect(own.sources).toEqual(VOCABULARY_DESCRIPTION_FILES);
    expect(own.categories.map((x) => x.id)).toEqual(c.labels);
    expect(own.categories.every((x) => x.descriptions.length >= 4 && x.descriptions.length <= 6)).toBe(true);

    const { categories, sources } = describedCategoriesForLabelSet(c);
    expect(sources.slice(0, 3)).toEqual(VOCABULARY_DESCRIPTION_FILES);
    expect(categories.map((x) => x.id)).toEqual(c.labels);
    const datasetNames = new Set(DATASET_NAMES.flatMap((d) => loadDatasetClasses(d).map((x) => normalizeLabel(x.name))));
    const shared = c.labels.filter((l) => datasetNames.has(l));
    expect(shared).toHaveLength(33);
    expect(shared).toContain('rock climbing');
    categories.forEach((x, i) => {
      const mine = own.categories[i]?.descriptions ?? [];
      expect(x.descriptions.slice(0, mine.length)).toEqual(mine);
      if (datasetNames.has(x.id)) expect(x.descriptions.length).toBeGreaterThanOrEqual(mine.length + 4);
      else expect(x.descriptions).toEqual(mine);
    });
  });

  it('a missing or overlapping part is a DataError naming the file or the id', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-lssc-parts-'));
    try {
      for (const f of VOCABULARY_DESCRIPTION_FILES.slice(0, 2)) copyFileSync(join(CONCEPTS_DATA_DIR, 'descriptions', f), join(dir, f));
      expect(() => loadVocabularyDescriptions(dir)).toThrow(/lss-c-c\.json does not exist/);
      writeFileSync(
        join(dir, 'lss-c-c.json'),
        JSON.stringify({ dataset: 'lss-c', classes: [{ id: 0, name: vocabulary[0], descriptions: ['a', 'b', 'c', 'd'] }] }),
      );
      expect(() => loadVocabularyDescriptions(dir)).toThrow(/class id 0 .* more than one description file part/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('LSS-C vocabulary (written by a language model for this project)', () => {
  it('has at least 1000 distinct, non-empty actions', () => {
    expect(validateVocabulary({ actions: loadVocabulary() })).toEqual([]);
    expect(loadLabelSet('lss-c').labels.length).toBeGreaterThanOrEqual(1000);
  });

  it('the validator catches duplicates, empties and a short list', () => {
    expect(validateVocabulary({ actions: ['run', 'Run ', ''] }, 3)).toEqual([
      'vocabulary: action 1 "Run " is a duplicate.',
      'vocabulary: action 2 is empty.',
      'vocabulary: 1 distinct actions; expected at least 3.',
    ]);
  });
});
