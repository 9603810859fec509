/**
 * Feature extraction sharded over the ranks of a distributed job (`lss-eval` under torchrun): each rank
 * embeds a contiguous part of the videos, the parts are gathered in rank order, and every rank ends
 * with exactly the features a single process would have (same rows, same order, same skipped list), so
 * the metrics — computed on every rank, reported by rank 0 — are the single-process ones.
 */
import { join, resolve } from 'node:path';
import { DataError, LssError } from '@lss/core';
import { shardRange } from '@lss/distributed';
import {
  DEFAULT_MAX_BAD_FRACTION,
  type ExtractedFeatures,
  type ExtractFeaturesOptions,
  extractFeatures,
  noneReadable,
  tooManyBadVideos,
} from './feature-cache.js';

/** The part of a process group feature extraction needs (`@lss/distributed`'s `ProcessGroup` has it). */
export interface FeatureShard {
  readonly rank: number;
  readonly worldSize: number;
  /** Every rank's bytes in rank order. */
  allGatherBytes(bytes: Uint8Array): Promise<Uint8Array[]>;
}

interface PartHeader {
  readonly error?: { readonly name: string; readonly message: string };
  readonly start?: number;
  readonly numVideos?: number;
  readonly numViews?: number;
  readonly dim?: number;
  readonly labels?: number[];
  readonly sampleIndices?: number[];
  readonly skipped?: ExtractedFeatures['skipped'];
  readonly fromCache?: number;
  readonly extracted?: number;
  readonly cacheKey?: string;
}

/** [4-byte header length][JSON header][float32 features]. */
function encodePart(header: PartHeader, data?: Float32Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = (4 + json.length + 3) & ~3; // features 4-byte aligned
  const out = new Uint8Array(head + (data?.byteLength ?? 0));
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 4);
  if (data) out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), head);
  return out;
}

function decodePart(bytes: Uint8Array): { header: PartHeader; data: Float32Array } {
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as PartHeader;
  const head = (4 + length + 3) & ~3;
  const copy = bytes.slice(head); // aligned copy
  return { header, data: new Float32Array(copy.buffer, 0, copy.byteLength / 4) };
}

/**
 * {@link extractFeatures} over `shard.worldSize` ranks. Each rank's feature cache is its own subfolder
 * (`<cacheDir>/rank-R-of-W`), so ranks never write one manifest together. Unreadable videos are skipped on each
 * rank and judged after the gather over ALL the videos, as one process would: more than `maxBadFraction` of
 * them (or none readable) stops every rank with the same `DataError`, listing every rank's videos with the rank
 * that met them (a rank does not stop early on its own share). An error on any rank (a model failure) is raised
 * on every rank after the gather, so no rank waits for a peer that already stopped.
 */
export async function extractFeaturesSharded(options: ExtractFeaturesOptions, shard: FeatureShard): Promise<ExtractedFeatures> {
  const { start, end } = shardRange(options.samples.length, shard.rank, shard.worldSize);
  let part: Uint8Array;
  try {
    const local = await extractFeatures({
      ...options,
      samples: options.samples.slice(start, end),
      ...(options.cacheDir ? { cacheDir: join(options.cacheDir, `rank-${shard.rank}-of-${shard.worldSize}`) } : {}),
      deferBadVideoCheck: true, // judged below over every rank's videos
      ...(options.onSkip ? { onSkip: (s) => options.onSkip?.({ ...s, rank: shard.rank }) } : {}),
    });
    part = encodePart(
      {
        start,
        numVideos: local.numVideos,
        numViews: local.numViews,
        dim: local.dim,
        labels: Array.from(local.labels),
        sampleIndices: Array.from(local.sampleIndices),
        skipped: local.skipped,
        fromCache: local.fromCache,
        extracted: local.extracted,
        cacheKey: local.cacheKey,
      },
      local.data,
    );
  } catch (error) {
    if (!(error instanceof LssError)) throw error; // a bug: this rank dies, the others time out with a DistributedError
    part = encodePart({ error: { name: error.name, message: error.message } });
  }
  const parts = (await shard.allGatherBytes(part)).map(decodePart);
  const failed = parts.findIndex((p) => p.header.error);
  if (failed >= 0) {
    const e = parts[failed]?.header.error as { name: string; message: string };
    throw new DataError(`Rank ${failed} of ${shard.worldSize} stopped the feature extraction: ${e.name}: ${e.message}`);
  }
  const skipped = parts.flatMap((p, rank) => (p.header.skipped ?? []).map((v) => ({ ...v, rank })));
  const what = options.name ?? options.progressLabel ?? 'the dataset';
  const numDistinct = new Set(options.samples.map((v) => resolve(v.path))).size;
  const numBad = new Set(skipped.map((v) => v.path)).size;
  const maxBadFraction = options.maxBadFraction ?? DEFAULT_MAX_BAD_FRACTION;
  if (numBad > maxBadFraction * numDistinct)
    throw tooManyBadVideos(skipped, numDistinct, maxBadFraction, `${what} (all ${shard.worldSize} ranks)`);
  const first = parts[0]?.header as PartHeader;
  const numViews = first.numViews as number;
  const dim = first.dim as number;
  const numVideos = parts.reduce((n, p) => n + (p.header.numVideos as number), 0);
  const data = new Float32Array(numVideos * numViews * dim); // [N, V, D] in sample order
  let row = 0;
  for (const p of parts) {
    data.set(p.data.subarray(0, (p.header.numVideos as number) * numViews * dim), row * numViews * dim);
    row += p.header.numVideos as number;
  }
  if (numVideos === 0 && skipped.length > 0) throw noneReadable(skipped, numDistinct, `${what} (all ${shard.worldSize} ranks)`);
  return {
    data,
    numVideos,
    numViews,
    dim,
    labels: Int32Array.from(parts.flatMap((p) => p.header.labels ?? [])),
    sampleIndices: Int32Array.from(parts.flatMap((p) => (p.header.sampleIndices ?? []).map((i) => i + (p.header.start as number)))),
    skipped,
    fromCache: parts.reduce((n, p) => n + (p.header.fromCache as number), 0),
    extracted: parts.reduce((n, p) => n + (p.header.extracted as number), 0),
    cacheKey: first.cacheKey as string,
  };
}
