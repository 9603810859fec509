/**
 * Paths to the reference fixtures. The repository carries copies under `fixtures/` (users' clones have
 * no `../shared`); `fixtures.test.ts` checks that they are byte-identical to `../shared/fixtures` when
 * that folder exists.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the repository (two levels above tooling/testing/src). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The repository's copy of the fixtures. */
export const FIXTURES_DIR = join(REPO_ROOT, 'fixtures');

/** `../shared/fixtures` beside the checkout, when present (the originals). */
export const SHARED_FIXTURES_DIR = resolve(REPO_ROOT, '..', 'shared', 'fixtures');

/** Absolute path of a fixture file, e.g. `fixturePath('clip-tiny', 'model.safetensors')`. */
export function fixturePath(...parts: string[]): string {
  const path = join(FIXTURES_DIR, ...parts);
  if (!existsSync(path)) throw new Error(`Fixture ${parts.join('/')} not found at ${path}.`);
  return path;
}

/** The tiny CLIP folder (Hugging Face layout + OpenAI names + ONNX + tokenizer). */
export const CLIP_TINY_DIR = join(FIXTURES_DIR, 'clip-tiny');
