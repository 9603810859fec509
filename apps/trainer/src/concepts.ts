/**
 * The concept spaces of a run (SPEC.md section 2), built once from the CLIP text encoder through
 * `@lss/concepts` and cached on disk (keyed by model hash and inputs), then held as tensors for the
 * whole run. The text engine is the tfjs text tower of the CLIP the student was initialised from
 * (works for safetensors-only folders), with the Hugging Face tokenizer of the same folder; a
 * folder with `onnx/text_model.onnx` but no loaded CLIP uses the ONNX engine instead.
 */

import { existsSync, readFileSync } from 'node:fs';
import type { ClipModel } from '@lss/backbone';
import { type ConceptSpace, createTokenizedTextEncoder, type DescribedCategory, type TextEncoder } from '@lss/concepts';
import {
  buildOrLoadCachedCategorySpace,
  buildOrLoadCachedDescriptionSpace,
  type CachedSpace,
  describedCategoriesForLabelSet,
  findTextWeights,
  hashFile,
  loadClipTokenizer,
  loadLabelSet,
  loadOnnxTextEncoder,
  loadPromptTemplates,
} from '@lss/concepts/node';
import { ConfigError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from './config/schema.js';
import type { ConceptTensors } from './train-step.js';

export interface RunConcepts {
  readonly category: ConceptSpace;
  readonly description?: ConceptSpace;
  /** Category ids (labels) in row order, after `limitCategories`. */
  readonly categoryIds: readonly string[];
  readonly descriptionCount: number;
  /** Whether both spaces came from the cache. */
  readonly cached: boolean;
}

/** A {@link TextEncoder} over the tfjs text tower of a loaded CLIP (`@lss/backbone`). */
export async function tfjsTextEncoder(clip: ClipModel, modelDir: string): Promise<TextEncoder> {
  const tokenizer = await loadClipTokenizer(modelDir);
  const weights = findTextWeights(modelDir);
  return createTokenizedTextEncoder({
    tokenizer,
    id: `${tokenizer.id}:tfjs`,
    modelHash: hashFile(weights.path),
    batchSize: 64,
    embedIds: async (ids, n) => {
      const out = tf.tidy(() => clip.encodeText(tf.tensor2d(ids, [n, ids.length / n], 'int32'))); // [n, 77] -> [n, E]
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
  });
}

/**
 * Builds (or loads from the cache) the category space of `concepts.categories` (its first
 * `limitCategories` labels when set) and, when asked, the description space of those categories with
 * the relation matrix `M [K_cat, K_desc]` aligned to the category rows. Same library calls as
 * `buildConceptSpaces` of `@lss/concepts/node`, with the limit applied before anything is encoded.
 */
export async function buildRunConcepts(config: TrainConfig, clip: ClipModel | null, log: (line: string) => void): Promise<RunConcepts> {
  const c = config.concepts;
  const modelDir = c.textModel ?? config.model.clip;
  if (!modelDir) {
    throw new ConfigError(
      'The concept spaces need a CLIP text encoder: set model.clip (a Hugging Face CLIP folder) or concepts.textModel. Random-init runs (model.clip: null) still need one for the text side.',
    );
  }
  const world = c.categories === 'world' || c.categories === 'world-vocabulary' ? readWorldConcepts(c.world, c.categories) : null;
  const set = world ?? loadLabelSet(c.categories as 'lss-a' | 'lss-b' | 'lss-c');
  const limit = Math.min(c.limitCategories ?? set.labels.length, set.labels.length);
  const labels = set.labels.slice(0, limit);
  const templates = c.templates === 'default' ? undefined : loadPromptTemplates(c.templates);
  const source = limit < set.labels.length ? `${set.name} (first ${limit})` : set.name;
  // On a cache hit the encoder is never called (the cache key is the model hash plus the inputs).
  const encoder: TextEncoder = clip && !c.textModel ? await tfjsTextEncoder(clip, modelDir) : await loadOnnxTextEncoder(modelDir);
  try {
    const category = await buildOrLoadCachedCategorySpace(
      encoder,
      labels.map((l) => ({ id: l, name: l })),
      { cacheDir: c.cacheDir, source, log, ...(templates ? { templates } : {}) },
    );
    let description: CachedSpace | undefined;
    if (c.descriptions) {
      const { categories, sources } = world
        ? { categories: world.described, sources: [`${c.world} descriptions`] }
        : describedCategoriesForLabelSet(set as ReturnType<typeof loadLabelSet>);
      const wanted = new Set(labels);
      const described = categories.filter((d) => wanted.has(d.id));
      if (described.length === 0)
        throw new ConfigError(`No descriptions for the ${limit} categories of ${set.name}; set concepts.descriptions=false.`);
      description = await buildOrLoadCachedDescriptionSpace(encoder, described, {
        cacheDir: c.cacheDir,
        categoryIds: labels,
        source: `${source}: ${sources.join(', ')}`,
        log,
      });
    }
    return {
      category: category.space,
      ...(description ? { description: description.space } : {}),
      categoryIds: category.space.ids,
      descriptionCount: description?.space.size ?? 0,
      cached: category.cached && (description?.cached ?? true),
    };
  } finally {
    await encoder.dispose?.();
  }
}

/**
 * The concept inputs of a synthetic action world (`world.json` of `generateActionWorld`): its action names
 * (`world`, an lss-a style space of the world's own labels) or its larger generated vocabulary
 * (`world-vocabulary`, lss-b style), and the world's descriptions of its actions.
 */
export function readWorldConcepts(
  path: string | null,
  kind: 'world' | 'world-vocabulary',
): { name: string; labels: readonly string[]; described: DescribedCategory[] } {
  if (!path)
    throw new ConfigError(`concepts.categories ${kind} needs concepts.world (the world.json of a synthetic action world); received null.`);
  if (!existsSync(path)) {
    throw new ConfigError(
      `concepts.world ${path} does not exist; expected the world.json written by generateActionWorld (@lss/data/node).`,
    );
  }
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as {
    actions?: { name: string; descriptions: string[] }[];
    vocabulary?: string[];
  };
  if (!Array.isArray(manifest.actions) || !Array.isArray(manifest.vocabulary)) {
    throw new ConfigError(`${path} has no actions/vocabulary arrays; expected the world.json written by generateActionWorld.`);
  }
  const names = manifest.actions.map((a) => a.name);
  return {
    name: kind === 'world' ? `world actions (${names.length})` : `world vocabulary (${manifest.vocabulary.length})`,
    labels: kind === 'world' ? names : manifest.vocabulary,
    described: manifest.actions.map((a) => ({ id: a.name, descriptions: a.descriptions })),
  };
}

/** The spaces as tensors for the step (the caller disposes them with {@link disposeConceptTensors}). */
export function conceptTensors(concepts: RunConcepts): ConceptTensors {
  return {
    spaces: {
      category: concepts.category.toTensor(),
      ...(concepts.description ? { description: concepts.description.toTensor() } : {}),
    },
    ...(concepts.description?.relation ? { relation: concepts.description.relationTensor() } : {}),
  };
}

export function disposeConceptTensors(t: ConceptTensors): void {
  tf.dispose([...Object.values(t.spaces), ...(t.relation ? [t.relation] : [])]);
}
