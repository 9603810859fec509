/**
 * Token-id batches for CLIP's text encoder: `[N, 77]` int32, `[SOT, ...bpe, EOT, pad...]`.
 *
 * Padding: positions after the end-of-text token hold `padTokenId`, by default **0**, the convention
 * of OpenAI's `clip.tokenize` (and of `fixtures/clip-tiny/expected.safetensors` `input_ids`). CLIP's
 * text tower uses a causal mask and pools at the end-of-text token, so the pad value never changes the
 * embedding as long as the pooling finds the first EOT: with 0-padding both OpenAI's `argmax(ids)` and
 * Hugging Face's "first EOS position" find it. `lengths[i]` (tokens incl. SOT and EOT) is given too, so
 * an embedder can pool at `lengths[i] - 1` directly.
 */
import { ConfigError } from '@lss/core';

/** CLIP's context length (tokens, start- and end-of-text included). */
export const CLIP_CONTEXT_LENGTH = 77;
/** `<|startoftext|>` in CLIP's vocabulary. */
export const SOT_TOKEN_ID = 49406;
/** `<|endoftext|>` in CLIP's vocabulary. */
export const EOT_TOKEN_ID = 49407;
/** Default padding id (OpenAI `clip.tokenize` convention). */
export const DEFAULT_PAD_TOKEN_ID = 0;

/** A batch of token ids as host data. */
export interface TokenizedBatch {
  /** Row-major ids, `shape[0] * shape[1]` values. */
  readonly ids: Int32Array;
  /** `[N, contextLength]`. */
  readonly shape: readonly [number, number];
  /** Tokens of each row including SOT and EOT (the EOT sits at `lengths[i] - 1`). */
  readonly lengths: Int32Array;
}

/** Turns strings into fixed-length CLIP token-id rows. */
export interface Tokenizer {
  /** Where the tokenizer came from (folder or hub id). */
  readonly id: string;
  readonly contextLength: number;
  readonly padTokenId: number;
  /** Token ids of one text, SOT and EOT included, unpadded. Throws on an empty text. */
  encodeOne(text: string): number[];
  /** `[N, contextLength]` ids. Throws {@link ConfigError} on an empty text or one that is too long. */
  tokenize(texts: readonly string[], options?: TokenizeOptions): TokenizedBatch;
}

export interface TokenizeOptions {
  /**
   * Cut texts that are too long to `contextLength - 1` tokens and end them with EOT (as
   * `clip.tokenize(truncate=True)`). Default false: a too-long text is an error.
   */
  readonly truncate?: boolean;
}

/** Throws a clear error when a text is empty or only whitespace. */
export function assertNonEmptyText(text: unknown, index: number): asserts text is string {
  if (typeof text !== 'string') {
    throw new ConfigError(`Text ${index}: received ${typeof text}; expected a non-empty string (an action label or description).`);
  }
  if (text.trim().length === 0) {
    throw new ConfigError(
      `Text ${index}: received an empty label ${JSON.stringify(text)}; expected a non-empty string. Remove the empty entry from the label list.`,
    );
  }
}

/**
 * Packs unpadded id lists (each `[SOT, ..., EOT]`) into a `[N, contextLength]` int32 batch.
 * A row longer than the context is an error that says how many tokens it has, unless `truncate`.
 */
export function packTokenIds(
  idLists: readonly (readonly number[])[],
  texts: readonly string[],
  options: { contextLength?: number; padTokenId?: number; truncate?: boolean } = {},
): TokenizedBatch {
  const contextLength = options.contextLength ?? CLIP_CONTEXT_LENGTH;
  const pad = options.padTokenId ?? DEFAULT_PAD_TOKEN_ID;
  const n = idLists.length;
  const ids = new Int32Array(n * contextLength).fill(pad); // [N, contextLength]
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let row = idLists[i] as readonly number[];
    if (row.length > contextLength) {
      if (!options.truncate) {
        const text = texts[i] ?? '';
        const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
        throw new ConfigError(
          `Text ${i} (${JSON.stringify(shown)}) has ${row.length} tokens including start/end-of-text; CLIP's context holds at most ${contextLength}. Shorten it (by ${row.length - contextLength} tokens) or pass { truncate: true } to cut it.`,
        );
      }
      row = [...row.slice(0, contextLength - 1), row[row.length - 1] as number];
    }
    ids.set(row, i * contextLength);
    lengths[i] = row.length;
  }
  return { ids, shape: [n, contextLength], lengths };
}
