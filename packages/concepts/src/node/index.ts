/**
 * `@lss/concepts/node`: Node-only parts of `@lss/concepts`: Hugging Face tokenizer and ONNX text
 * engine, shipped data (labels, prompts, descriptions, vocabulary), saving/loading/caching spaces,
 * the one-call build, and the description/vocabulary generator for OpenAI-compatible endpoints.
 */
export { type BuildConceptSpacesOptions, type BuiltConceptSpaces, buildConceptSpaces } from './build-spaces.js';
export { runCli } from './cli.js';
export {
  CONCEPTS_DATA_DIR,
  DATASET_LABEL_FILES,
  DESCRIPTION_FILES,
  describedCategoriesForLabelSet,
  LABEL_SET_DATASETS,
  loadDatasetClasses,
  loadDescriptions,
  loadLabelSet,
  loadPromptTemplates,
  loadVocabulary,
  loadVocabularyDescriptions,
  PROMPT_TEMPLATE_SETS,
  type PromptTemplateSet,
  parseLabelCsv,
  resolveDatasetName,
  VOCABULARY_DESCRIPTION_FILES,
} from './data.js';
export {
  type ChatClient,
  type ChatClientOptions,
  type ChatMessage,
  createChatClient,
  type GenerateDescriptionsOptions,
  type GenerateVocabularyOptions,
  type GenerationResult,
  generateDescriptions,
  generateVocabulary,
  parseStringList,
} from './generate.js';
export { checkTokenizerFiles, findTextWeights, hashFile, ONNX_TEXT_MODEL, type TextWeights, TOKENIZER_FILES } from './model-files.js';
export { loadOnnxTextEncoder, type OnnxTextEncoderOptions } from './onnx-encoder.js';
export { loadOnnxRuntime, ONNXRUNTIME_INSTALL_HINT } from './onnx-runtime.js';
export {
  buildOrLoadCachedCategorySpace,
  buildOrLoadCachedDescriptionSpace,
  type CachedSpace,
  conceptSpaceCacheKey,
  loadConceptSpace,
  readConceptSpaceSidecar,
  saveConceptSpace,
} from './store.js';
export { type ClipTokenizerOptions, loadClipTokenizer } from './tokenizer.js';
