/**
 * The concept spaces of a run (SPEC.md section 2), built once from the CLIP text encoder through
 * `@lss/concepts` and cached on disk (keyed by model hash and inputs), then held as tensors for the
 * whole run. The text engine is the tfjs text tower of the CLIP the student was initialised from
 * (works for safetensors-only folders), with the Hugging Face tokenizer of the same folder; a
 * folder with `onnx/text_model.onnx` but no loaded CLIP uses the ONNX engine instead.
 */
import type { ClipModel } from '@lss/backbone';
import { type ConceptSpace, createTokenizedTextEncoder, type TextEncoder } from '@lss/concepts';
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
  const set = loadLabelSet(c.categories);
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
      const { categories, sources } = describedCategoriesForLabelSet(set);
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
