import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, WeightsError } from '@lss/core';
import { readSafetensorsFileHeader } from '@lss/core/node';

/** Files a CLIP tokenizer folder must contain (Hugging Face `tokenizer.json` + `tokenizer_config.json`). */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'] as const;
/** ONNX text model path inside a folder (transformers.js layout, fp32). */
export const ONNX_TEXT_MODEL = 'onnx/text_model.onnx';

/** Throws a {@link ConfigError} naming every missing tokenizer file. */
export function checkTokenizerFiles(modelDir: string): void {
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) {
    throw new ConfigError(
      `Tokenizer folder ${modelDir} does not exist; expected a Hugging Face CLIP folder with ${TOKENIZER_FILES.join(' and ')}.`,
    );
  }
  const missing = TOKENIZER_FILES.filter((f) => !existsSync(join(modelDir, f)));
  if (missing.length > 0) {
    throw new ConfigError(
      `Tokenizer folder ${modelDir} is missing ${missing.join(' and ')}; expected ${TOKENIZER_FILES.join(' and ')} (Hugging Face tokenizer files, e.g. from the CLIP model repository).`,
    );
  }
}

/** Where a folder's text weights are. */
export type TextWeights =
  | { readonly format: 'onnx'; readonly path: string }
  | { readonly format: 'safetensors'; readonly path: string; readonly naming: 'hf' | 'openai' };

/**
 * Finds the text weights of a CLIP folder: `onnx/text_model.onnx` first, then a `*.safetensors` file
 * whose header has text-tower tensors (`text_model.*` for Hugging Face names, `token_embedding.weight`
 * for OpenAI names). A folder with neither is a {@link WeightsError} that lists what was looked for.
 */
export function findTextWeights(modelDir: string): TextWeights {
  if (!existsSync(modelDir) || !statSync(modelDir).isDirectory()) {
    throw new WeightsError(
      `Model folder ${modelDir} does not exist; expected a CLIP folder with ${ONNX_TEXT_MODEL} or *.safetensors text weights.`,
    );
  }
  const onnx = join(modelDir, ONNX_TEXT_MODEL);
  if (existsSync(onnx)) return { format: 'onnx', path: onnx };
  const files = readdirSync(modelDir)
    .filter((f) => f.endsWith('.safetensors'))
    .sort((a, b) => (a === 'model.safetensors' ? -1 : b === 'model.safetensors' ? 1 : a.localeCompare(b)));
  for (const f of files) {
    const path = join(modelDir, f);
    let names: string[];
    try {
      names = readSafetensorsFileHeader(path).entries.map((e) => e.name);
    } catch {
      continue;
    }
    if (names.some((n) => n.startsWith('text_model.'))) return { format: 'safetensors', path, naming: 'hf' };
    if (names.includes('token_embedding.weight')) return { format: 'safetensors', path, naming: 'openai' };
  }
  throw new WeightsError(
    `Model folder ${modelDir} has no text weights: no ${ONNX_TEXT_MODEL}, and ${files.length === 0 ? 'no *.safetensors file' : `none of ${files.join(', ')} has text_model.* or token_embedding.weight tensors`}. Use a full CLIP folder (text and vision towers), not a vision-only export.`,
  );
}

/** SHA-256 (hex) of a file (from `@lss/core/node`). */
export { hashFile } from '@lss/core/node';
