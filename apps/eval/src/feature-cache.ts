/**
 * Frozen-feature extraction with an on-disk cache.
 *
 * One cache folder per (model weights hash, model kind, test-view settings): `<cacheDir>/<key>/`
 * holds `manifest.json` (the key's inputs and the list of shards) and shards
 * `shard-00000.safetensors` with one tensor `features` [numVideos, numViews, dim] float32. Each shard
 * lists the absolute video paths it holds, so the splits of a dataset (which share videos) share the
 * cache. A shard is written atomically and only then recorded in the manifest (also written
 * atomically): an interrupted run loses at most the shard in progress and resumes where it stopped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, DataError, ShapeError } from '@lss/core';
import { readSafetensorsFile, writeFileAtomic, writeSafetensorsFile } from '@lss/core/node';
import { createProgressBar } from './progress.js';
import type { ViewFeatures } from './zero-shot.js';

/**
 * Test-view settings: `numClips` temporal clips × `numCrops` spatial crops of `numFrames` frames at `size` px.
 * The optional fields choose a peer protocol (`@lss/data`'s `TestViewConfig`); unset, they are CLIP's: the short
 * side resized to `size` (crop fraction 1), CLIP mean/std, uniform clips.
 */
export interface ViewSettings {
  readonly numClips: number;
  readonly numCrops: number;
  readonly numFrames: number;
  readonly size: number;
  /** Crop side / resized short side: 0.875 = resize 256, crop 224 (ViFi-CLIP, X-CLIP, ActionCLIP, SVT). Default 1. */
  readonly cropFraction?: number;
  /** Mean/std of the normalisation: `'imagenet'` for ViFi-CLIP / X-CLIP checkpoints. Default `'clip'`. */
  readonly normalization?: 'clip' | 'imagenet';
  /** Frame sampler: `'svt'` = SVT's test clip (8 frames 32 apart at 30 fps from the start; one clip). Default `'uniform'`. */
  readonly sampler?: 'uniform' | 'svt';
}

/** Host video data: `[V, T, H, W, 3]` CLIP-normalised pixels, channels-last. */
export interface HostViews {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** A model that embeds views: `[V, T, H, W, 3]` → `[V, dim]`. */
export interface FeatureModel {
  /** 'checkpoint': a trainer checkpoint's video tower; 'clip': frozen image CLIP, frame embeddings averaged. */
  readonly kind: 'checkpoint' | 'clip';
  /** Where the weights came from (folder or file). */
  readonly path: string;
  /** Hash of the weights (sha256 hex), the cache key's main part. */
  readonly hash: string;
  /** Short name for tables. */
  readonly label: string;
  readonly embedDim: number;
  /** Input side in pixels the model was built for. */
  readonly imageSize: number;
  encodeViews(views: HostViews): Promise<Float32Array>;
}

/** One video to embed. */
export interface FeatureSample {
  readonly path: string;
  readonly label: number;
}

/**
 * Loads the test views of one video as `[numClips * numCrops, T, H, W, 3]`. Throws `DataError` for a video
 * that cannot be read (missing, empty, corrupt, truncated): {@link extractFeatures} skips and reports it.
 * Any other error aborts the extraction.
 */
export type ViewLoader = (sample: FeatureSample, views: ViewSettings) => Promise<HostViews>;

/** A video left out of the features because it could not be read. */
export interface SkippedFeatureVideo {
  /** Absolute path. */
  readonly path: string;
  /** The loader's `DataError` message. */
  readonly reason: string;
  /** The rank that met it (sharded extraction only; not part of the report). */
  readonly rank?: number;
}

/** Default of {@link ExtractFeaturesOptions.maxBadFraction}: a run aborts when more than 10 % of its videos are unreadable. */
export const DEFAULT_MAX_BAD_FRACTION = 0.1;

export interface ExtractFeaturesOptions {
  readonly model: FeatureModel;
  readonly samples: readonly FeatureSample[];
  readonly views: ViewSettings;
  readonly loadViews: ViewLoader;
  /** Cache root; without it nothing is written and everything is extracted. */
  readonly cacheDir?: string;
  /** Videos per shard (default 64). */
  readonly shardSize?: number;
  /** Videos encoded per model call (default 4). */
  readonly batchVideos?: number;
  /** Progress bar label; `null` turns the bar off. */
  readonly progressLabel?: string | null;
  /** What these samples are, for messages (default: the progress label, else 'the dataset'), e.g. 'split 1 test'. */
  readonly name?: string;
  readonly progressStream?: NodeJS.WritableStream | null;
  /** Stops after the current shard when aborted (the cache stays consistent). */
  readonly signal?: AbortSignal;
  /**
   * Largest fraction of the (distinct) videos that may be unreadable (default
   * {@link DEFAULT_MAX_BAD_FRACTION}). Unreadable videos are skipped and reported; once more than this
   * fraction is bad, extraction stops with a `DataError` listing them.
   */
  readonly maxBadFraction?: number;
  /** Called once per skipped video, when it is found (default: nothing; the result lists them). */
  readonly onSkip?: (skipped: SkippedFeatureVideo) => void;
  /**
   * Leave the `maxBadFraction` stop and the "none could be read" error to the caller, which applies them to a
   * larger set: {@link extractFeaturesSharded} applies them over every rank's videos (default false).
   */
  readonly deferBadVideoCheck?: boolean;
}

/**
 * Features of the readable samples, in the order of `samples` (rows of skipped videos are left out:
 * `numVideos` counts the rows, `sampleIndices` maps each row back to its position in `samples`).
 */
export interface ExtractedFeatures extends ViewFeatures {
  readonly labels: Int32Array;
  /** Position in `samples` of each row: [numVideos]. */
  readonly sampleIndices: Int32Array;
  /** Videos that could not be read, with the reason, in the order found. */
  readonly skipped: readonly SkippedFeatureVideo[];
  /** Videos read from the cache / computed in this call. */
  readonly fromCache: number;
  readonly extracted: number;
  readonly cacheKey: string;
  readonly cachePath?: string;
}

interface ShardEntry {
  readonly file: string;
  readonly paths: readonly string[];
}

interface Manifest {
  readonly format: 'lss-eval-feature-cache';
  readonly version: 1;
  readonly key: Readonly<Record<string, unknown>>;
  readonly numViews: number;
  readonly dim: number;
  shards: ShardEntry[];
}

/** Bump when the extraction itself changes (view sampling, averaging), to invalidate old caches. */
export const FEATURE_CACHE_VERSION = 1;

/** The inputs of a cache key, and the key (first 20 hex digits of their sha256). */
export function featureCacheKey(
  model: Pick<FeatureModel, 'hash' | 'kind'>,
  views: ViewSettings,
): { key: string; inputs: Record<string, unknown> } {
  const inputs = {
    cacheVersion: FEATURE_CACHE_VERSION,
    modelHash: model.hash,
    modelKind: model.kind,
    numClips: views.numClips,
    numCrops: views.numCrops,
    numFrames: views.numFrames,
    size: views.size,
    // Only when not CLIP's defaults, so caches made before these options existed keep their keys.
    ...(views.cropFraction !== undefined && views.cropFraction !== 1 ? { cropFraction: views.cropFraction } : {}),
    ...(views.normalization !== undefined && views.normalization !== 'clip' ? { normalization: views.normalization } : {}),
    ...(views.sampler !== undefined && views.sampler !== 'uniform' ? { sampler: views.sampler } : {}),
  };
  return { key: createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 20), inputs };
}

/** A `DataError` listing the unreadable videos of a run that has too many of them. */
export function tooManyBadVideos(skipped: readonly SkippedFeatureVideo[], total: number, maxBadFraction: number, what: string): DataError {
  const list = skipped.map((s) => `  ${s.path}${s.rank !== undefined ? ` (rank ${s.rank})` : ''}: ${s.reason}`).join('\n');
  return new DataError(
    `${skipped.length} of ${total} videos of ${what} could not be read, more than the allowed ${formatFraction(maxBadFraction)}; stopping:\n${list}\n` +
      'Fix or remove them (`lss-data check` lists every bad file of a dataset), or allow more with --max-bad-fraction.',
  );
}

/** A `DataError` for a run none of whose videos could be read. */
export function noneReadable(skipped: readonly SkippedFeatureVideo[], total: number, what: string): DataError {
  const list = skipped.map((s) => `  ${s.path}${s.rank !== undefined ? ` (rank ${s.rank})` : ''}: ${s.reason}`).join('\n');
  return new DataError(
    `None of the ${total} videos of ${what} could be read:\n${list}\nCheck the dataset paths (\`lss-data check\` lists every bad file).`,
  );
}

function formatFraction(f: number): string {
  return `${Number((100 * f).toPrecision(4))} %`;
}

/**
 * Upper bounds of the test-view settings (issue 16: `--views 1000x1000` grew to 10 GiB with no output).
 * Far above the protocols in use (SVT/TimeSformer: 3 clips × 3 crops, 8-96 frames, 224-448 px).
 */
export const VIEW_LIMITS = { numClips: 64, numCrops: 16, numFrames: 512, size: 1024 } as const;

const VIEW_FLAGS: Readonly<Record<'numClips' | 'numCrops' | 'numFrames' | 'size', string>> = {
  numClips: '--views CLIPSxCROPS',
  numCrops: '--views CLIPSxCROPS',
  numFrames: '--frames',
  size: '--size',
};

/** Host bytes of the views of `batchVideos` videos, float32: videos × clips × crops × frames × size² × 3 × 4. */
export function estimateViewBytes(views: ViewSettings, batchVideos: number): number {
  return batchVideos * views.numClips * views.numCrops * views.numFrames * views.size * views.size * 3 * 4;
}

/**
 * Checks test-view settings before anything is allocated: positive integers within {@link VIEW_LIMITS},
 * and the views of one model call (`batchVideos` videos) within half of this machine's memory. The error
 * names the setting and its command-line flag.
 */
export function checkViews(views: ViewSettings, batchVideos = 4, totalBytes: number = totalmem()): void {
  for (const k of ['numClips', 'numCrops', 'numFrames', 'size'] as const) {
    const v = views[k];
    if (!Number.isInteger(v) || v < 1)
      throw new ConfigError(`Test views: ${k} (${VIEW_FLAGS[k]}) must be a positive integer; received ${v}.`);
    if (v > VIEW_LIMITS[k]) {
      throw new ConfigError(
        `Test views: ${k} (${VIEW_FLAGS[k]}) is ${v}; expected at most ${VIEW_LIMITS[k]} (views are held in memory as float32: ` +
          'clips × crops × frames × size² × 3 × 4 bytes per video). Use a smaller value.',
      );
    }
  }
  const need = estimateViewBytes(views, batchVideos);
  if (need > totalBytes / 2) {
    const GiB = 1024 ** 3;
    throw new ConfigError(
      `Test views need ${(need / GiB).toFixed(1)} GiB of host memory per model call (${batchVideos} videos × numClips ${views.numClips} × numCrops ${views.numCrops} ` +
        `(--views) × numFrames ${views.numFrames} (--frames) × size ${views.size}² (--size) × 3 × 4 bytes); this machine has ` +
        `${(totalBytes / GiB).toFixed(1)} GiB and at most half of it may go to views. Lower --views, --frames or --size.`,
    );
  }
}

function readManifest(path: string, inputs: Record<string, unknown>): Manifest | undefined {
  if (!existsSync(path)) return undefined;
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (cause) {
    throw new DataError(
      `Feature cache manifest ${path} is not valid JSON (${(cause as Error).message}); delete its folder to rebuild the cache.`,
      {
        file: path,
        cause,
      },
    );
  }
  if (m.format !== 'lss-eval-feature-cache' || JSON.stringify(m.key) !== JSON.stringify(inputs)) {
    throw new DataError(
      `Feature cache ${path} was written for ${JSON.stringify(m.key)}, not ${JSON.stringify(inputs)}; delete its folder to rebuild it.`,
      {
        file: path,
      },
    );
  }
  return m;
}

/**
 * Embeds every sample's test views with `model`, reading what the cache already holds and writing
 * new shards as it goes. Output: features [N, V, dim] in the order of `samples`, and their labels.
 */
export async function extractFeatures(options: ExtractFeaturesOptions): Promise<ExtractedFeatures> {
  const { model, views } = options;
  const batchVideos = options.batchVideos ?? 4;
  checkViews(views, batchVideos);
  const numViews = views.numClips * views.numCrops;
  const dim = model.embedDim;
  const shardSize = options.shardSize ?? 64;
  const maxBadFraction = options.maxBadFraction ?? DEFAULT_MAX_BAD_FRACTION;
  const what = options.name ?? options.progressLabel ?? 'the dataset';
  if (!(maxBadFraction >= 0 && maxBadFraction <= 1)) {
    throw new ConfigError(`maxBadFraction must be a fraction in [0, 1]; received ${maxBadFraction}. 0.1 allows 10 % unreadable videos.`);
  }
  const { key, inputs } = featureCacheKey(model, views);
  const paths = options.samples.map((s) => resolve(s.path));
  const found = new Map<string, Float32Array>(); // path -> [V, D]
  let manifest: Manifest | undefined;
  let dir: string | undefined;
  if (options.cacheDir) {
    dir = join(options.cacheDir, key);
    mkdirSync(dir, { recursive: true });
    manifest = readManifest(join(dir, 'manifest.json'), inputs) ?? {
      format: 'lss-eval-feature-cache',
      version: 1,
      key: inputs,
      numViews,
      dim,
      shards: [],
    };
    const wanted = new Set(paths);
    const kept: ShardEntry[] = [];
    for (const shard of manifest.shards) {
      const file = join(dir, shard.file);
      if (!existsSync(file)) continue; // a deleted shard is simply recomputed
      kept.push(shard);
      if (!shard.paths.some((p) => wanted.has(p))) continue;
      const t = readSafetensorsFile(file).tensors.get('features');
      if (!t || t.shape.length !== 3 || t.shape[0] !== shard.paths.length || t.shape[1] !== numViews || t.shape[2] !== dim) {
        throw new DataError(
          `Feature cache shard ${file} has features of shape [${t?.shape.join(', ') ?? ''}]; expected [${shard.paths.length}, ${numViews}, ${dim}]. Delete ${dir} to rebuild.`,
          { file },
        );
      }
      shard.paths.forEach((p, i) => {
        if (wanted.has(p)) found.set(p, (t.data as Float32Array).slice(i * numViews * dim, (i + 1) * numViews * dim));
      });
    }
    manifest.shards = kept;
  }
  const fromCache = new Set(paths.filter((p) => found.has(p))).size;
  const todo = [...new Set(paths.filter((p) => !found.has(p)))];
  const labelOf = new Map(options.samples.map((s, i) => [paths[i] as string, s]));
  const bar =
    options.progressLabel === null || todo.length === 0
      ? undefined
      : createProgressBar({
          label: options.progressLabel ?? `features ${model.label}`,
          total: todo.length,
          stream: options.progressStream ?? process.stderr,
        });
  let extracted = 0;
  const numDistinct = new Set(paths).size;
  const skipped: SkippedFeatureVideo[] = [];
  const bad = new Set<string>();
  // One outcome per video: its views, or the reason it cannot be read (a DataError of the loader).
  const load = (batch: string[]) =>
    Promise.all(
      batch.map((p) =>
        options.loadViews(labelOf.get(p) as FeatureSample, views).then(
          (v) => ({ ok: true as const, views: v }),
          (error: unknown) => {
            if (!(error instanceof DataError)) throw error;
            return { ok: false as const, reason: error.message };
          },
        ),
      ),
    );
  for (let shardStart = 0; shardStart < todo.length; shardStart += shardSize) {
    if (options.signal?.aborted) break;
    const shardPaths = todo.slice(shardStart, shardStart + shardSize);
    const shardData = new Float32Array(shardPaths.length * numViews * dim); // [S, V, D], readable rows first
    const shardKept: string[] = [];
    let next = load(shardPaths.slice(0, batchVideos));
    for (let b = 0; b < shardPaths.length; b += batchVideos) {
      const batchPaths = shardPaths.slice(b, b + batchVideos);
      const outcomes = await next;
      if (b + batchVideos < shardPaths.length) next = load(shardPaths.slice(b + batchVideos, b + 2 * batchVideos)); // prefetch while encoding
      const loaded: HostViews[] = [];
      const okPaths: string[] = [];
      outcomes.forEach((o, i) => {
        const p = batchPaths[i] as string;
        if (o.ok) {
          loaded.push(o.views);
          okPaths.push(p);
        } else {
          const s = { path: p, reason: o.reason };
          skipped.push(s);
          bad.add(p);
          options.onSkip?.(s);
        }
      });
      if (!options.deferBadVideoCheck && bad.size > maxBadFraction * numDistinct) {
        next.catch(() => undefined);
        throw tooManyBadVideos(skipped, numDistinct, maxBadFraction, what);
      }
      bar?.tick(batchPaths.length);
      if (okPaths.length === 0) continue;
      const stacked = stackViews(loaded, okPaths, numViews, [views.numFrames, views.size, views.size, 3]); // [(B V), T, H, W, 3]
      const emb = await model.encodeViews(stacked);
      if (emb.length !== okPaths.length * numViews * dim) {
        throw new ShapeError(
          `Model ${model.label} returned ${emb.length} values for ${okPaths.length * numViews} views; expected [${okPaths.length * numViews}, ${dim}].`,
        );
      }
      shardData.set(emb, shardKept.length * numViews * dim);
      shardKept.push(...okPaths);
      okPaths.forEach((p, i) => found.set(p, emb.slice(i * numViews * dim, (i + 1) * numViews * dim)));
      extracted += okPaths.length;
    }
    if (dir && manifest && shardKept.length > 0) {
      // Only readable videos are cached: a skipped one is tried again by the next run.
      const file = `shard-${String(manifest.shards.length).padStart(5, '0')}-${createHash('sha256').update(shardKept.join('\n')).digest('hex').slice(0, 8)}.safetensors`;
      writeSafetensorsFile(
        join(dir, file),
        { features: { data: shardData.subarray(0, shardKept.length * numViews * dim), shape: [shardKept.length, numViews, dim] } },
        { paths: JSON.stringify(shardKept) },
      );
      manifest.shards.push({ file, paths: shardKept });
      writeFileAtomic(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
    }
  }
  bar?.done();
  if (options.signal?.aborted && found.size + bad.size < numDistinct) {
    throw new DataError(
      `Feature extraction stopped after ${extracted} new videos (${found.size} of ${numDistinct} available); run the same command again to resume from the cache.`,
    );
  }
  const rows: number[] = [];
  paths.forEach((p, i) => {
    if (found.has(p)) rows.push(i);
  });
  if (!options.deferBadVideoCheck && rows.length === 0 && skipped.length > 0) throw noneReadable(skipped, numDistinct, what);
  const data = new Float32Array(rows.length * numViews * dim); // [N, V, D]
  rows.forEach((p, r) => data.set(found.get(paths[p] as string) as Float32Array, r * numViews * dim));
  return {
    data,
    numVideos: rows.length,
    numViews,
    dim,
    labels: Int32Array.from(rows, (i) => (options.samples[i] as FeatureSample).label),
    sampleIndices: Int32Array.from(rows),
    skipped,
    fromCache,
    extracted,
    cacheKey: key,
    ...(dir ? { cachePath: dir } : {}),
  };
}

function stackViews(loaded: readonly HostViews[], paths: readonly string[], numViews: number, viewShape: readonly number[]): HostViews {
  const per = viewShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(loaded.length * numViews * per);
  loaded.forEach((v, i) => {
    if (v.shape[0] !== numViews || v.shape.slice(1).join(',') !== viewShape.join(',') || v.data.length !== numViews * per) {
      throw new ShapeError(
        `Views of ${paths[i]} have shape [${v.shape.join(', ')}]; expected [${numViews}, ${viewShape.join(', ')}] (clips × crops first, then [T, H, W, 3]).`,
      );
    }
    data.set(v.data, i * numViews * per);
  });
  return { data, shape: [loaded.length * numViews, ...viewShape] }; // [(B V), T, H, W, 3]
}
