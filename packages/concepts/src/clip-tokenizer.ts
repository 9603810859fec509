/**
 * A CLIP {@link Tokenizer} around a Hugging Face tokenizer engine (`@huggingface/tokenizers`' `Tokenizer`,
 * built from `tokenizer.json` + `tokenizer_config.json`). Browser-safe: no file system, no library import;
 * the caller builds the engine (Node: `loadClipTokenizer` of `@lss/concepts/node` reads the files; a web page
 * fetches them). Every text gets OpenAI's cleaning ({@link cleanClipText}) first, so ids equal `clip.tokenize`'s.
 */
import { ConfigError } from '@lss/core';
import { cleanClipText } from './clean-text.js';
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
} from './tokens.js';

/** What {@link createClipTokenizer} needs of the engine: `@huggingface/tokenizers`' `Tokenizer#encode`. */
export interface HfTokenizerEngine {
  encode(text: string): { readonly ids: readonly number[] };
}

export interface CreateClipTokenizerOptions {
  /** Where the tokenizer came from (folder, URL or hub id); used in errors and provenance. */
  readonly id: string;
  /** Default 77. */
  readonly contextLength?: number;
  /** Id written after EOT (default 0, OpenAI's `clip.tokenize`). */
  readonly padTokenId?: number;
}

/**
 * Wraps `engine` as a CLIP tokenizer. Throws {@link ConfigError} when the engine does not add
 * `<|startoftext|>` / `<|endoftext|>` (not a CLIP tokenizer). `tokenize` gives `[N, 77]` int32 ids `SOT ... EOT 0 0 ...`.
 */
export function createClipTokenizer(engine: HfTokenizerEngine, options: CreateClipTokenizerOptions): Tokenizer {
  const contextLength = options.contextLength ?? CLIP_CONTEXT_LENGTH;
  const padTokenId = options.padTokenId ?? DEFAULT_PAD_TOKEN_ID;
  // OpenAI's cleaning (ftfy, HTML unescaping twice, whitespace) before Hugging Face's normaliser, so
  // every text (class names, prompts, descriptions, free labels) gets clip.tokenize's ids.
  const encode = (text: string): number[] => [...engine.encode(cleanClipText(text)).ids];
  const sample = encode('a');
  if (sample[0] !== SOT_TOKEN_ID || sample[sample.length - 1] !== EOT_TOKEN_ID) {
    throw new ConfigError(
      `Tokenizer at ${options.id} encodes "a" as [${sample.join(', ')}]; expected a CLIP tokenizer that adds <|startoftext|> (${SOT_TOKEN_ID}) and <|endoftext|> (${EOT_TOKEN_ID}).`,
    );
  }
  return {
    id: options.id,
    contextLength,
    padTokenId,
    encodeOne(text: string): number[] {
      assertNonEmptyText(text, 0);
      return encode(text);
    },
    tokenize(texts: readonly string[], tokenizeOptions: TokenizeOptions = {}): TokenizedBatch {
      const lists = texts.map((t, i) => {
        assertNonEmptyText(t, i);
        return encode(t);
      });
      return packTokenIds(lists, texts, { contextLength, padTokenId, truncate: tokenizeOptions.truncate ?? false });
    },
  };
}
