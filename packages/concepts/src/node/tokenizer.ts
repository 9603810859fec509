/**
 * CLIP tokenisation through `@huggingface/tokenizers` (pure JavaScript; the tokenizer engine that
 * transformers.js 4 itself uses, without transformers.js' onnxruntime-node dependency): `tokenizer.json`
 * and `tokenizer_config.json` from a local Hugging Face folder, or from the hub when `allowRemote` is set
 * and the machine is online.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ConfigError } from '@lss/core';
import { createClipTokenizer } from '../clip-tokenizer.js';
import { CLIP_CONTEXT_LENGTH, DEFAULT_PAD_TOKEN_ID, type Tokenizer } from '../tokens.js';
import { checkTokenizerFiles } from './model-files.js';

export interface ClipTokenizerOptions {
  /** Default 77. */
  readonly contextLength?: number;
  /** Id written after EOT (default 0, OpenAI's `clip.tokenize`). */
  readonly padTokenId?: number;
  /** Treat a name that is not a local folder as a Hugging Face hub id and download it (default false). */
  readonly allowRemote?: boolean;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(
      `Tokenizer file ${path} is not valid JSON (${(e as Error).message}); expected the Hugging Face file as saved by save_pretrained.`,
    );
  }
}

async function fetchHubJson(id: string, file: string): Promise<Record<string, unknown>> {
  const url = `https://huggingface.co/${id}/resolve/main/${file}`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new ConfigError(
      `Could not download ${url} (${(e as Error).message}); expected an online machine for a hub id, or pass a local folder with ${file}.`,
    );
  }
  if (!res.ok)
    throw new ConfigError(`Download of ${url} answered HTTP ${res.status}; expected a Hugging Face CLIP repository with ${file}.`);
  return (await res.json()) as Record<string, unknown>;
}

/**
 * Loads a CLIP tokenizer from a local folder (files checked first; a missing one is named) or, with
 * `allowRemote`, from the hub. `tokenize` gives `[N, 77]` int32 ids `SOT ... EOT 0 0 ...`.
 */
export async function loadClipTokenizer(modelDirOrId: string, options: ClipTokenizerOptions = {}): Promise<Tokenizer> {
  const contextLength = options.contextLength ?? CLIP_CONTEXT_LENGTH;
  const padTokenId = options.padTokenId ?? DEFAULT_PAD_TOKEN_ID;
  const local = existsSync(modelDirOrId);
  if (local || !options.allowRemote) checkTokenizerFiles(modelDirOrId);
  const [tokenizerJson, tokenizerConfig] = local
    ? [readJson(join(modelDirOrId, 'tokenizer.json')), readJson(join(modelDirOrId, 'tokenizer_config.json'))]
    : await Promise.all([fetchHubJson(modelDirOrId, 'tokenizer.json'), fetchHubJson(modelDirOrId, 'tokenizer_config.json')]);
  const { Tokenizer: HfTokenizerClass } = await import('@huggingface/tokenizers');
  let engine: InstanceType<typeof HfTokenizerClass>;
  try {
    engine = new HfTokenizerClass(tokenizerJson, tokenizerConfig);
  } catch (e) {
    throw new ConfigError(
      `Tokenizer files at ${modelDirOrId} could not be read as a Hugging Face tokenizer (${(e as Error).message}); expected tokenizer.json and tokenizer_config.json as saved by transformers' save_pretrained.`,
    );
  }
  return createClipTokenizer(
    { encode: (text) => engine.encode(text) },
    { id: local ? basename(resolve(modelDirOrId)) : modelDirOrId, contextLength, padTokenId },
  );
}
