/**
 * Building concept spaces from a {@link TextEncoder}: the category space with CLIP's prompt ensembling,
 * the description space with its relation matrix, and a zero-shot classifier helper.
 */
import { ConfigError, l2NormalizeRows, ShapeError } from '@lss/core';
import type * as tf from '@tensorflow/tfjs-core';
import type { TextEncoder } from './encoder.js';
import { ConceptSpace, projectOntoConcepts } from './space.js';

/**
 * Default category templates: the plain label plus "a video of a person {}." (SPEC.md section 2;
 * our choice, configurable through `templates`). `{}` is replaced by the label.
 */
export const DEFAULT_CATEGORY_TEMPLATES: readonly string[] = Object.freeze(['{}', 'a video of a person {}.']);

/** A labelled category: `id` is stable and unique, `name` is the text put into the templates. */
export interface CategoryLabel {
  readonly id: string;
  readonly name: string;
}

export interface CategorySpaceOptions {
  /** Prompt templates, each containing `{}` (default {@link DEFAULT_CATEGORY_TEMPLATES}). */
  readonly templates?: readonly string[];
  /** Label set name or file (provenance). */
  readonly source?: string;
}

function toLabels(labels: readonly (CategoryLabel | string)[]): CategoryLabel[] {
  return labels.map((l) => (typeof l === 'string' ? { id: l, name: l } : l));
}

/** Fills `{}` in a template (every occurrence). */
export function fillTemplate(template: string, label: string): string {
  return template.split('{}').join(label);
}

function checkTemplates(templates: readonly string[]): void {
  if (templates.length === 0) throw new ConfigError('templates: received an empty list; expected at least one template such as "{}".');
  templates.forEach((t, i) => {
    if (typeof t !== 'string' || !t.includes('{}')) {
      throw new ConfigError(`templates[${i}]: received ${JSON.stringify(t)}; expected a string containing "{}" (the label placeholder).`);
    }
  });
}

/**
 * Category space (SPEC.md section 2): every label is embedded with every template, each embedding is
 * L2-normalised, the T normalised embeddings are averaged, and the mean is normalised again (CLIP's
 * prompt ensembling). Row i = label i.
 */
export async function buildCategorySpace(
  encoder: TextEncoder,
  labels: readonly (CategoryLabel | string)[],
  options: CategorySpaceOptions = {},
): Promise<ConceptSpace> {
  const items = toLabels(labels);
  if (items.length === 0) throw new ConfigError('labels: received an empty list; expected at least one label.');
  items.forEach((l, i) => {
    if (typeof l.name !== 'string' || l.name.trim() === '') {
      throw new ConfigError(`labels[${i}] (id ${JSON.stringify(l.id)}): received an empty label; expected a non-empty action name.`);
    }
  });
  const templates = options.templates ?? DEFAULT_CATEGORY_TEMPLATES;
  checkTemplates(templates);
  const t = templates.length;
  const texts: string[] = [];
  for (const l of items) for (const tpl of templates) texts.push(fillTemplate(tpl, l.name)); // label-major: [K * T]
  const emb = await encoder.encode(texts);
  const [n, d] = emb.shape;
  if (n !== texts.length) throw new ShapeError(`Encoder returned ${n} rows for ${texts.length} texts.`);
  const unit = l2NormalizeRows(emb.data, d, { rows: n, zeroRows: 'error', what: 'text embeddings' }); // [K * T, D]
  const k = items.length;
  const mean = new Float32Array(k * d); // [K, D]
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < t; j++) {
      const row = (i * t + j) * d;
      for (let c = 0; c < d; c++) mean[i * d + c] = (mean[i * d + c] as number) + (unit[row + c] as number) / t;
    }
  }
  return new ConceptSpace({
    kind: 'category',
    matrix: l2NormalizeRows(mean, d, { rows: k, zeroRows: 'error', what: 'category embeddings' }),
    shape: [k, d],
    ids: items.map((l) => l.id),
    texts: items.map((l) => l.name),
    provenance: { modelId: encoder.id, modelHash: encoder.modelHash, templates: [...templates], source: options.source ?? 'labels' },
  });
}

/** A category with its descriptions (what the action looks like). */
export interface DescribedCategory {
  /** Category id, as in the category space (e.g. a normalised label of the label set). */
  readonly id: string;
  readonly descriptions: readonly string[];
}

export interface DescriptionSpaceOptions {
  /**
   * Row order of the relation matrix (the category space's ids). Default: the order of first
   * appearance in `categories`. Categories listed here without descriptions get an all-zero row;
   * described categories missing from this list are an error.
   */
  readonly categoryIds?: readonly string[];
  readonly source?: string;
}

/**
 * Description space: one row per distinct description text (exact match after trimming and collapsing
 * whitespace; a text shared by several categories is one row linked to each), each embedding
 * L2-normalised, with `M [K_cat, K_desc]` = 1 where the description belongs to the category.
 * Row ids are `d<index>`; `texts` holds the descriptions.
 */
export async function buildDescriptionSpace(
  encoder: TextEncoder,
  categories: readonly DescribedCategory[],
  options: DescriptionSpaceOptions = {},
): Promise<ConceptSpace> {
  const categoryIds = options.categoryIds ? [...options.categoryIds] : [...new Set(categories.map((c) => c.id))];
  const catIndex = new Map(categoryIds.map((id, i) => [id, i] as const));
  if (catIndex.size !== categoryIds.length) throw new ConfigError('categoryIds must be unique.');
  const textIndex = new Map<string, number>();
  const texts: string[] = [];
  const links: [number, number][] = [];
  for (const cat of categories) {
    const ci = catIndex.get(cat.id);
    if (ci === undefined) {
      throw new ConfigError(
        `Described category ${JSON.stringify(cat.id)} is not in categoryIds; expected one of the category space's ids.`,
      );
    }
    cat.descriptions.forEach((raw, j) => {
      const text = typeof raw === 'string' ? raw.replace(/\s+/g, ' ').trim() : '';
      if (text === '')
        throw new ConfigError(`Category ${JSON.stringify(cat.id)}: description ${j} is empty; expected a non-empty sentence.`);
      let di = textIndex.get(text);
      if (di === undefined) {
        di = texts.length;
        textIndex.set(text, di);
        texts.push(text);
      }
      links.push([ci, di]);
    });
  }
  if (texts.length === 0) throw new ConfigError('No descriptions: expected at least one category with descriptions.');
  const emb = await encoder.encode(texts);
  const [n, d] = emb.shape;
  if (n !== texts.length) throw new ShapeError(`Encoder returned ${n} rows for ${texts.length} texts.`);
  const kc = categoryIds.length;
  const kd = texts.length;
  const m = new Uint8Array(kc * kd); // [K_cat, K_desc]
  for (const [ci, di] of links) m[ci * kd + di] = 1;
  return new ConceptSpace({
    kind: 'description',
    matrix: l2NormalizeRows(emb.data, d, { rows: n, zeroRows: 'error', what: 'description embeddings' }),
    shape: [n, d],
    ids: texts.map((_, i) => `d${i}`),
    texts,
    provenance: { modelId: encoder.id, modelHash: encoder.modelHash, templates: [], source: options.source ?? 'descriptions' },
    relation: { data: m, shape: [kc, kd], categoryIds },
  });
}

/** A zero-shot classifier: a category space over a target dataset's classes. */
export interface ZeroShotClassifier {
  readonly space: ConceptSpace;
  readonly classNames: readonly string[];
  /** Cosine scores `[B, K]` for `[B, D]` video features (no temperature). */
  scores(features: tf.Tensor2D): tf.Tensor2D;
  /** Arg-max class index per row. */
  predict(features: tf.Tensor2D): Promise<Int32Array>;
}

/**
 * Class names (+ templates) -> a category space for a target dataset, with scoring helpers.
 * Row i = class i (ids `"0"`, `"1"`, ...; class names need not be unique).
 */
export async function buildZeroShotClassifier(
  encoder: TextEncoder,
  classNames: readonly string[],
  options: CategorySpaceOptions = {},
): Promise<ZeroShotClassifier> {
  const space = await buildCategorySpace(
    encoder,
    classNames.map((name, i) => ({ id: String(i), name })),
    { source: options.source ?? 'zero-shot classes', ...(options.templates ? { templates: options.templates } : {}) },
  );
  return {
    space,
    classNames: [...classNames],
    scores: (features) => space.project(features),
    async predict(features) {
      const s = space.project(features); // [B, K]
      const idx = s.argMax(1); // [B]
      const out = Int32Array.from(await idx.data());
      s.dispose();
      idx.dispose();
      return out;
    },
  };
}

export { projectOntoConcepts };
