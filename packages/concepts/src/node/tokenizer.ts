/**
 * CLIP tokenisation through transformers.js (`@huggingface/transformers`, the maintained continuation
 * of `@xenova/transformers`): `AutoTokenizer` from a local Hugging Face folder, or from the hub when
 * `allowRemote` is set and the machine is online.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { ConfigError } from '@lss/core';
import {
  assertNonEmptyText,
  CLIP_CONTEXT_LENGTH,
  DEFAULT_PAD_TOKEN_ID,
  EOT_TOKEN_ID,
  packTokenIds,
  SOT_TOKEN_ID,
  type TokenizedBatch,
  type TokenizeOptions,
  type Tokenizer,
} from '../tokens.js';
import { checkTokenizerFiles } from './model-files.js';
import { transformers, withModelLocation } from './transformers-env.js';

export interface ClipTokenizerOptions {
  /** Default 77. */
  readonly contextLength?: number;
  /** Id written after EOT (default 0, OpenAI's `clip.tokenize`). */
  readonly padTokenId?: number;
  /** Treat a name that is not a local folder as a Hugging Face hub id and download it (default false). */
  readonly allowRemote?: boolean;
}

interface HfTokenizer {
  encode(text: string): number[];
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
  const { AutoTokenizer } = await transformers();
  const hf = (await withModelLocation(modelDirOrId, local, (id) => AutoTokenizer.from_pretrained(id))) as unknown as HfTokenizer;
  const sample = hf.encode('a');
  if (sample[0] !== SOT_TOKEN_ID || sample[sample.length - 1] !== EOT_TOKEN_ID) {
    throw new ConfigError(
      `Tokenizer at ${modelDirOrId} encodes "a" as [${sample.join(', ')}]; expected a CLIP tokenizer that adds <|startoftext|> (${SOT_TOKEN_ID}) and <|endoftext|> (${EOT_TOKEN_ID}).`,
    );
  }
  const id = local ? basename(resolve(modelDirOrId)) : modelDirOrId;
  const encodeOne = (text: string): number[] => {
    assertNonEmptyText(text, 0);
    return hf.encode(text);
  };
  return {
    id,
    contextLength,
    padTokenId,
    encodeOne,
    tokenize(texts: readonly string[], tokenizeOptions: TokenizeOptions = {}): TokenizedBatch {
      const lists = texts.map((t, i) => {
        assertNonEmptyText(t, i);
        return hf.encode(t);
      });
      return packTokenIds(lists, texts, { contextLength, padTokenId, truncate: tokenizeOptions.truncate ?? false });
    },
  };
}
