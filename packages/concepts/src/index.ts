/**
 * `@lss/concepts`: action concept spaces (categories and descriptions) from CLIP's text encoder.
 * Browser-safe part (no file system, no transformers.js); Node helpers are in `@lss/concepts/node`.
 *
 * @example
 * import { buildCategorySpace } from '@lss/concepts';
 * import { loadOnnxTextEncoder } from '@lss/concepts/node';
 * const encoder = await loadOnnxTextEncoder('path/to/clip');
 * const space = await buildCategorySpace(encoder, ['abseiling', 'archery']);
 * const scores = space.project(features); // [B, D] -> [B, K] cosine scores
 */
export {
  buildCategorySpace,
  buildDescriptionSpace,
  buildZeroShotClassifier,
  type CategoryLabel,
  type CategorySpaceOptions,
  DEFAULT_CATEGORY_TEMPLATES,
  type DescribedCategory,
  type DescriptionSpaceOptions,
  fillTemplate,
  type ZeroShotClassifier,
} from './build.js';
export { cleanClipText, fixText } from './clean-text.js';
export { type CreateClipTokenizerOptions, createClipTokenizer, type HfTokenizerEngine } from './clip-tokenizer.js';
export {
  type ClassDescriptions,
  type DescriptionFile,
  type DescriptionVarietyBounds,
  MAX_DESCRIPTIONS,
  MIN_DESCRIPTIONS,
  MIN_VOCABULARY,
  mergeDescriptionFiles,
  type VocabularyFile,
  validateDescriptionFile,
  validateDescriptionVariety,
  validateVocabulary,
} from './descriptions.js';
export {
  type ConceptTextEncoder,
  createTokenizedTextEncoder,
  type TextEmbeddings,
  type TextEncoder,
  type TokenizedTextEncoderOptions,
} from './encoder.js';
export {
  DATASET_NAMES,
  type DatasetClass,
  type DatasetClasses,
  type DatasetName,
  LABEL_SET_NAMES,
  type LabelOrigin,
  type LabelSet,
  type LabelSetName,
  labelSetCategories,
  normalizeLabel,
  splitCamelCase,
  unionLabelSet,
  vocabularyLabelSet,
} from './labels.js';
export {
  CONCEPTS_TENSOR,
  ConceptSpace,
  type ConceptSpaceInit,
  type ConceptSpaceKind,
  type ConceptSpaceProvenance,
  type ConceptSpaceSidecar,
  conceptSpaceFromSafetensors,
  conceptSpaceToSafetensors,
  projectOntoConcepts,
  RELATION_TENSOR,
  type RelationMatrix,
} from './space.js';
export {
  assertNonEmptyText,
  CLIP_CONTEXT_LENGTH,
  DEFAULT_PAD_TOKEN_ID,
  EOT_TOKEN_ID,
  packTokenIds,
  SOT_TOKEN_ID,
  type TokenizedBatch,
  type TokenizeOptions,
  type Tokenizer,
} from './tokens.js';
export const VERSION = '0.1.0';
