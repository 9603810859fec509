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

/** Formats a shape for messages: `[2, 3, 224, 224, 3]`. */
export function formatShape(shape: readonly (number | null | undefined)[]): string {
  return `[${shape.map((d) => (d == null ? '*' : String(d))).join(', ')}]`;
}
