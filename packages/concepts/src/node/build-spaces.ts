/** The one-call build behind `lss-concepts build`: category space (+ description space) for a label set, cached. */
import type { TextEncoder } from '../encoder.js';
import { type LabelSet, type LabelSetName, labelSetCategories } from '../labels.js';
import { describedCategoriesForLabelSet, loadLabelSet } from './data.js';
import { loadOnnxTextEncoder } from './onnx-encoder.js';
import { buildOrLoadCachedCategorySpace, buildOrLoadCachedDescriptionSpace, type CachedSpace } from './store.js';

export interface BuildConceptSpacesOptions {
  /** CLIP folder (ONNX engine). Not needed when `encoder` is given. */
  readonly modelDir?: string;
  /** A ready encoder (e.g. the tfjs text tower wired through createTokenizedTextEncoder). */
  readonly encoder?: TextEncoder;
  readonly labelSet: LabelSetName | string;
  /** Also build the description space (default false). */
  readonly descriptions?: boolean;
  readonly cacheDir: string;
  /** Category templates (default DEFAULT_CATEGORY_TEMPLATES). */
  readonly templates?: readonly string[];
  /** Overrides `data/descriptions`. */
  readonly descriptionsDir?: string;
  /** Overrides `data/vocabulary/lss-c.json`. */
  readonly vocabularyFile?: string;
  readonly log?: (line: string) => void;
}

export interface BuiltConceptSpaces {
  readonly labelSet: LabelSet;
  readonly category: CachedSpace;
  /** Present when `descriptions` was asked; its relation rows follow the category space's ids. */
  readonly description?: CachedSpace;
}

/**
 * Builds (or loads from `cacheDir`) the category space of a label set and, optionally, its
 * description space with `M [K_cat, K_desc]` aligned to the category rows. The ONNX session is only
 * started when something has to be computed.
 */
export async function buildConceptSpaces(options: BuildConceptSpacesOptions): Promise<BuiltConceptSpaces> {
  const labelSet = loadLabelSet(options.labelSet, options.vocabularyFile ? { vocabularyFile: options.vocabularyFile } : {});
  let encoder = options.encoder;
  const owned = !encoder;
  if (!encoder) {
    if (!options.modelDir) throw new Error('buildConceptSpaces: pass modelDir (a CLIP folder with onnx/text_model.onnx) or encoder.');
    encoder = await loadOnnxTextEncoder(options.modelDir);
  }
  try {
    const log = options.log;
    const category = await buildOrLoadCachedCategorySpace(encoder, labelSetCategories(labelSet), {
      cacheDir: options.cacheDir,
      source: labelSet.name,
      ...(options.templates ? { templates: options.templates } : {}),
      ...(log ? { log } : {}),
    });
    if (!options.descriptions) return { labelSet, category };
    const { categories, sources } = describedCategoriesForLabelSet(
      labelSet,
      options.descriptionsDir ? { descriptionsDir: options.descriptionsDir } : {},
    );
    const description = await buildOrLoadCachedDescriptionSpace(encoder, categories, {
      cacheDir: options.cacheDir,
      categoryIds: labelSet.labels,
      source: `${labelSet.name}: ${sources.join(', ')}`,
      ...(log ? { log } : {}),
    });
    return { labelSet, category, description };
  } finally {
    if (owned) await encoder.dispose?.();
  }
}
