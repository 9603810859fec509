/**
 * Error types shared by every LSS.js package.
 *
 * Messages follow the Keras three-part rule: what was received, what was expected, and how to fix it.
 * Every error carries a stable `code` so callers can branch without parsing text.
 */

/** Base class of every error thrown on purpose by LSS.js. */
export class LssError extends Error {
  readonly code: string;
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options?.code ?? new.target.name;
  }
}

/** A configuration value is missing, of the wrong type, or out of range. */
export class ConfigError extends LssError {}

/** A tensor or array has a shape other than the one an operation needs. */
export class ShapeError extends LssError {}

/** A weights file (safetensors or checkpoint) is malformed, truncated or does not match the model. */
export class WeightsError extends LssError {}

/** A requested tfjs backend cannot be loaded on this machine. */
export class BackendUnavailableError extends LssError {}

/** A loss term became NaN or infinite. `terms` holds the value of every term at that step. */
export class NonFiniteLossError extends LssError {
  readonly step: number;
  readonly terms: Readonly<Record<string, number>>;
  constructor(message: string, step: number, terms: Readonly<Record<string, number>>) {
    super(message);
    this.step = step;
    this.terms = terms;
  }
}

/** A data file (video, split list, label file) is missing, unreadable or malformed. */
export class DataError extends LssError {
  /** The file the problem was found in, when there is one. */
  readonly file?: string;
  /** 1-based line number inside `file`, when the problem is on one line. */
  readonly line?: number;
  constructor(message: string, options?: { cause?: unknown; file?: string; line?: number }) {
    super(message, options);
    if (options?.file !== undefined) this.file = options.file;
    if (options?.line !== undefined) this.line = options.line;
  }
}

/**
 * A file or folder cannot be written or created: read-only file system, no permission, disk full.
 * `path` is the file or folder concerned; `reason` the system error code (`EROFS`, `ENOSPC`, ...) when known.
 */
export class OutputError extends LssError {
  readonly path: string;
  readonly reason?: string;
  constructor(message: string, options: { path: string; reason?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.path = options.path;
    if (options.reason !== undefined) this.reason = options.reason;
  }
}

/** Formats a shape for messages: `[2, 3, 224, 224, 3]`. */
export function formatShape(shape: readonly (number | null | undefined)[]): string {
  return `[${shape.map((d) => (d == null ? '*' : String(d))).join(', ')}]`;
}

/** Longest echo of a received value in an error message (characters), see {@link echoValue}. */
export const MAX_ECHO_CHARS = 120;

/**
 * Writes a received value for an error message, cut to at most `maxChars` characters plus a marker:
 * strings and keys JSON-quoted, objects and arrays as JSON down to 4 levels (deeper levels as `…`).
 * Never throws and never walks more of the value than it prints, so a hostile input (a 100 MB string,
 * a header nested 100 000 levels deep, a cycle, a BigInt) cannot blow up the message or the stack.
 *
 * @example
 * throw new ConfigError(`received ${echoValue(value)}; expected a number.`);
 */
export function echoValue(value: unknown, maxChars: number = MAX_ECHO_CHARS): string {
  const out: string[] = [];
  let length = 0;
  const push = (s: string): boolean => {
    out.push(s);
    length += s.length;
    return length <= maxChars;
  };
  const walk = (v: unknown, depth: number, seen: Set<object>): boolean => {
    if (typeof v === 'string') return push(JSON.stringify(v.length > maxChars ? v.slice(0, maxChars + 1) : v));
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return push(String(v));
    if (typeof v === 'bigint') return push(`${v}n`);
    if (v === undefined) return push('undefined');
    if (typeof v !== 'object') return push(`[${typeof v}]`);
    if (seen.has(v)) return push('[cycle]');
    if (depth >= 4) return push(Array.isArray(v) ? '[…]' : '{…}');
    seen.add(v);
    const isArray = Array.isArray(v);
    if (!push(isArray ? '[' : '{')) return false;
    let first = true;
    for (const key of Object.keys(v)) {
      if (!first && !push(',')) return false;
      first = false;
      if (!isArray && !push(`${JSON.stringify(key.length > maxChars ? key.slice(0, maxChars + 1) : key)}:`)) return false;
      if (!walk((v as Record<string, unknown>)[key], depth + 1, seen)) return false;
    }
    seen.delete(v);
    return push(isArray ? ']' : '}');
  };
  walk(value, 0, new Set());
  const text = out.join('');
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (cut at ${maxChars} characters)`;
}
