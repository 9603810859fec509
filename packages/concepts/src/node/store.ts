/**
 * Concept spaces on disk (`<name>.safetensors` + `<name>.json` sidecar) and the build cache: a space is
 * stored under a key that hashes the model hash and every input (labels, templates, descriptions), so
 * it is computed once and any change of input rebuilds it.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from '@lss/core/node';
import {
  buildCategorySpace,
  buildDescriptionSpace,
  type CategoryLabel,
  DEFAULT_CATEGORY_TEMPLATES,
  type DescribedCategory,
} from '../build.js';
import type { TextEncoder } from '../encoder.js';
import { type ConceptSpace, type ConceptSpaceSidecar, conceptSpaceFromSafetensors, conceptSpaceToSafetensors } from '../space.js';

function basePath(path: string): string {
  return path.replace(/\.(safetensors|json)$/, '');
}

/** Writes `<path>.safetensors` and `<path>.json` (atomically; folders created). Returns the safetensors path. */
export function saveConceptSpace(space: ConceptSpace, path: string, cacheKey?: string): string {
  const base = basePath(path);
  mkdirSync(dirname(base), { recursive: true });
  const { tensors, metadata, sidecar } = conceptSpaceToSafetensors(space, cacheKey);
  writeSafetensorsFile(`${base}.safetensors`, tensors, metadata);
  writeFileAtomic(`${base}.json`, `${JSON.stringify(sidecar, null, 1)}\n`);
  return `${base}.safetensors`;
}

/** Reads the sidecar of a saved space. */
export function readConceptSpaceSidecar(path: string): ConceptSpaceSidecar {
  return JSON.parse(readFileSync(`${basePath(path)}.json`, 'utf8')) as ConceptSpaceSidecar;
}

/** Loads a space written by {@link saveConceptSpace} (path with or without extension). */
export function loadConceptSpace(path: string): ConceptSpace {
  const base = basePath(path);
  return conceptSpaceFromSafetensors(readSafetensorsFile(`${base}.safetensors`), readConceptSpaceSidecar(base), `${base}.safetensors`);
}

/** SHA-256 over a canonical JSON of the inputs of a space (format version included). */
export function conceptSpaceCacheKey(inputs: Record<string, unknown>): string {
  return createHash('sha256')
    .update(JSON.stringify({ cacheFormat: 1, ...inputs }))
    .digest('hex');
}

/** What {@link buildOrLoadCachedCategorySpace} returns. */
export interface CachedSpace {
  readonly space: ConceptSpace;
  /** True when the space was read from the cache (the encoder was not called). */
  readonly cached: boolean;
  /** The safetensors file. */
  readonly path: string;
  readonly key: string;
}

interface CacheOptions {
  readonly cacheDir: string;
  readonly log?: (line: string) => void;
}

function fromCache(kind: string, key: string, options: CacheOptions): CachedSpace | undefined {
  const base = join(options.cacheDir, `${kind}-${key.slice(0, 24)}`);
  if (!existsSync(`${base}.safetensors`) || !existsSync(`${base}.json`)) return undefined;
  try {
    if (readConceptSpaceSidecar(base).cacheKey !== key) return undefined;
    const space = loadConceptSpace(base);
    options.log?.(`cache hit: ${kind} space ${space.shape[0]}x${space.shape[1]} from ${base}.safetensors`);
    return { space, cached: true, path: `${base}.safetensors`, key };
  } catch (error) {
    options.log?.(`cache entry ${base} unreadable (${(error as Error).message}); rebuilding`);
    return undefined;
  }
}

function toCache(kind: string, key: string, space: ConceptSpace, options: CacheOptions): CachedSpace {
  const path = saveConceptSpace(space, join(options.cacheDir, `${kind}-${key.slice(0, 24)}`), key);
  options.log?.(`built: ${kind} space ${space.shape[0]}x${space.shape[1]}, saved to ${path}`);
  return { space, cached: false, path, key };
}

/** {@link buildCategorySpace} through the cache in `cacheDir`. */
export async function buildOrLoadCachedCategorySpace(
  encoder: TextEncoder,
  labels: readonly (CategoryLabel | string)[],
  options: CacheOptions & { templates?: readonly string[]; source?: string },
): Promise<CachedSpace> {
  const templates = options.templates ?? DEFAULT_CATEGORY_TEMPLATES;
  const items = labels.map((l) => (typeof l === 'string' ? { id: l, name: l } : l));
  const key = conceptSpaceCacheKey({
    kind: 'category',
    modelHash: encoder.modelHash,
    labels: items.map((l) => [l.id, l.name]),
    templates,
    source: options.source ?? 'labels',
  });
  const hit = fromCache('category', key, options);
  if (hit) return hit;
  const space = await buildCategorySpace(encoder, items, { templates, source: options.source ?? 'labels' });
  return toCache('category', key, space, options);
}

/** {@link buildDescriptionSpace} through the cache in `cacheDir`. */
export async function buildOrLoadCachedDescriptionSpace(
  encoder: TextEncoder,
  categories: readonly DescribedCategory[],
  options: CacheOptions & { categoryIds?: readonly string[]; source?: string },
): Promise<CachedSpace> {
  const key = conceptSpaceCacheKey({
    kind: 'description',
    modelHash: encoder.modelHash,
    categories: categories.map((c) => [c.id, c.descriptions]),
    categoryIds: options.categoryIds ?? null,
    source: options.source ?? 'descriptions',
  });
  const hit = fromCache('description', key, options);
  if (hit) return hit;
  const space = await buildDescriptionSpace(encoder, categories, {
    source: options.source ?? 'descriptions',
    ...(options.categoryIds ? { categoryIds: options.categoryIds } : {}),
  });
  return toCache('description', key, space, options);
}
