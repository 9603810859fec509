/**
 * tfjs-core specs excluded on 'torch', by exact full name, each with its reason (exclusions.json).
 * Reasons are of three kinds only: a kernel the torch backend does not implement (named), string
 * tensors (not held), and one error-message text. Everything else runs and must pass.
 */
import exclusions from './exclusions.json' with { type: 'json' };

export const EXCLUDED: ReadonlyMap<string, string> = new Map(Object.entries(exclusions as Record<string, string>));
