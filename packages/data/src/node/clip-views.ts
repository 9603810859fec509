/**
 * Decoding and rendering every view of one video with one probe and one ffmpeg decode: plan the views, decode the
 * union of their frames once, render each view from memory.
 */
import { ConfigError, SeededRandom } from '@lss/core';
import type { HostVideo, RgbFrames, VideoInfo } from '../types.js';
import {
  framesNeeded,
  planTestViews,
  planTrainViews,
  renderView,
  type SvtViewConfig,
  type TestViewConfig,
  type ViewPlan,
} from '../views.js';
import { DEFAULT_BATCH_CLIPS, DecodeBatcher } from './decode-batcher.js';
import { type DecodedFrames, type DecodeOptions, decodeFrames, probeVideo } from './ffmpeg.js';

/** Which views to produce: SVT training views (seeded) or deterministic test views. */
export type ViewRequest =
  | { readonly mode: 'train'; readonly config: SvtViewConfig /** Seed of this sample's random draws. */; readonly seed: number }
  | { readonly mode: 'test'; readonly config: TestViewConfig };

/** Options of {@link loadVideoViews}. */
export interface LoadViewsOptions {
  readonly ffmpegPath?: string;
  /** Known probe result (skips the probe process). */
  readonly info?: VideoInfo;
  /** Training only: decode at most this short side before cropping (default 256). */
  readonly maxShortSide?: number;
  readonly timeoutMs?: number;
  /** ffmpeg decoder threads (default 1). */
  readonly threads?: number;
  /** Reject truncated videos (see `ProbeOptions.minFrameFraction`); default 0.9. */
  readonly minFrameFraction?: number;
  /**
   * Annotated segment in seconds (Kinetics `time_start`, `time_end`). Used only when the file is longer than the
   * segment by more than a second (an untrimmed download); trimmed clips are sampled whole.
   */
  readonly segment?: { readonly start: number; readonly end: number };
  /**
   * Decode this clip in one ffmpeg process with up to this many clips requested at about the same time (a loader
   * worker's burst of jobs; see `DecodeBatcher`): one process start-up for all of them. Default `DEFAULT_BATCH_CLIPS` (4) in
   * `ViewWorkerPool` jobs and `VideoLoader`; 1 gives each clip its own process. `loadVideoViews` alone decodes one clip.
   */
  readonly batchClips?: number;
}

/** Decodes frames of a file: `decodeFrames`, or a batcher's `decode` gathering several clips per ffmpeg process. */
export type FrameDecoder = (path: string, indices: readonly number[], options: DecodeOptions) => Promise<DecodedFrames>;

/** The frame range `[offset, offset + numFrames)` to sample: the annotated segment of an untrimmed video, else all. */
export function segmentFrames(info: VideoInfo, segment?: { start: number; end: number }): { offset: number; numFrames: number } {
  if (!segment || !(segment.end > segment.start) || info.duration <= segment.end - segment.start + 1) {
    return { offset: 0, numFrames: info.numFrames };
  }
  const offset = Math.min(
    info.numFrames - 1,
    Math.max(0, Math.round((segment.start - (info.containerStartTime ?? info.startTime)) * info.fps)),
  );
  const end = Math.min(
    info.numFrames,
    Math.max(offset + 1, Math.round((segment.end - (info.containerStartTime ?? info.startTime)) * info.fps)),
  );
  return { offset, numFrames: end - offset };
}

/** Views of one video plus what was learned about it. */
export interface LoadedViews {
  /** One `[T, S, S, 3]` view per plan, in plan order (global views first when training). */
  readonly views: HostVideo[];
  readonly plans: ViewPlan[];
  readonly info: VideoInfo;
  /** Requested frames the stream did not deliver, each replaced by a copy of the last decoded frame (counted, not silent). */
  readonly missingFrames: number;
  /** The frame indices that were substituted (see `missingFrames`). */
  readonly substitutedIndices: readonly number[];
  /** Error lines the decoder printed while decoding these frames (damaged data, concealed errors); empty when clean. */
  readonly decoderErrors: readonly string[];
}

/** Plans the views of a video (pure given `info`). */
export function planViews(info: VideoInfo, request: ViewRequest): ViewPlan[] {
  return request.mode === 'train'
    ? planTrainViews(info, request.config, new SeededRandom(request.seed))
    : planTestViews(info, request.config);
}

/**
 * Probes (unless `info` is given), decodes the union of the views' frames in one ffmpeg process and renders
 * every view. Test views are decoded with the short side already at the crop size, so cropping is exact.
 */
export async function loadVideoViews(
  path: string,
  request: ViewRequest,
  options: LoadViewsOptions = {},
  decode: FrameDecoder = decodeFrames,
): Promise<LoadedViews> {
  const info =
    options.info ??
    (await probeVideo(path, {
      minFrameFraction: options.minFrameFraction ?? 0.9,
      ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    }));
  const { offset, numFrames } = segmentFrames(info, options.segment);
  const plans = planViews({ ...info, numFrames }, request).map((plan) =>
    offset === 0 ? plan : { ...plan, frameIndices: plan.frameIndices.map((i) => i + offset) },
  );
  const needed = framesNeeded(plans);
  let decodeOptions: DecodeOptions = {
    info,
    ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
  };
  // Test plans are in resized pixels (torchvision's Resize of the short side): decode straight to that size with
  // bicubic, so the integer crop in renderView is a copy and nothing is resampled twice.
  let outputSize: { width: number; height: number } | undefined;
  if (request.mode === 'test' && plans[0]) outputSize = { width: plans[0].sourceWidth, height: plans[0].sourceHeight };
  const interpolation = request.mode === 'test' ? (request.config.interpolation ?? 'bicubic') : 'bicubic';
  decodeOptions = { ...decodeOptions, interpolation };
  const decoded = await decode(
    path,
    needed,
    outputSize ? { ...decodeOptions, outputSize } : { ...decodeOptions, maxShortSide: options.maxShortSide ?? 256 },
  );
  const views = plans.map((plan) => renderView(decoded.frames, decoded.indices, plan));
  return {
    views,
    plans,
    info,
    missingFrames: decoded.missingFrames,
    substitutedIndices: decoded.substitutedIndices,
    decoderErrors: decoded.decoderErrors,
  };
}

/** Options of {@link DecodedFramesCache}: decode each video once, short side at most `maxShortSide` (default 256). */
export interface CachedFramesOptions {
  readonly maxShortSide?: number;
}

/**
 * Whole decoded videos kept in memory (for small datasets such as the synthetic one): each video is decoded once in
 * full, and train views are planned on the decoded frames and rendered from memory. One cache per thread.
 */
export class DecodedFramesCache {
  private readonly videos = new Map<string, Promise<{ frames: RgbFrames; info: VideoInfo; decoded: DecodedFrames }>>();

  /** Views of `path` for a train `request`, decoding the video on first use. A failed decode is not kept (the next call tries again). */
  async load(path: string, request: ViewRequest, cache: CachedFramesOptions = {}, options: LoadViewsOptions = {}): Promise<LoadedViews> {
    if (request.mode !== 'train') {
      throw new ConfigError('DecodedFramesCache renders train views only; load test views with loadVideoViews.');
    }
    let entry = this.videos.get(path);
    if (!entry) {
      entry = (async () => {
        const info =
          options.info ??
          (await probeVideo(path, {
            minFrameFraction: options.minFrameFraction ?? 0.9,
            ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
            ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
          }));
        const all = Array.from({ length: info.numFrames }, (_, i) => i);
        const decoded = await decodeFrames(path, all, {
          info,
          maxShortSide: cache.maxShortSide ?? 256,
          ...(options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {}),
          ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
          ...(options.threads ? { threads: options.threads } : {}),
        });
        return { frames: decoded.frames, info, decoded };
      })();
      this.videos.set(path, entry);
      entry.catch(() => this.videos.delete(path));
    }
    const { frames, info, decoded } = await entry;
    const [N, H, W] = frames.shape;
    const plans = planTrainViews({ width: W, height: H, numFrames: N }, request.config, new SeededRandom(request.seed));
    const indices = Array.from({ length: N }, (_, i) => i);
    const views = plans.map((plan) => renderView(frames, indices, plan));
    return {
      views,
      plans,
      info,
      missingFrames: decoded.missingFrames,
      substitutedIndices: decoded.substitutedIndices,
      decoderErrors: decoded.decoderErrors,
    };
  }

  clear(): void {
    this.videos.clear();
  }
}

/**
 * How one thread loads the view pool's jobs (a pool worker, or the pool's calling thread when it has none): train
 * views from this thread's {@link DecodedFramesCache} when `cacheFrames` is given, else {@link loadVideoViews}, the
 * jobs that arrive together sharing one ffmpeg process up to `options.batchClips` (default `DEFAULT_BATCH_CLIPS`; one
 * `DecodeBatcher` per group size, 1 = a process per clip).
 */
export class ThreadViewLoader {
  private readonly cache = new DecodedFramesCache();
  private readonly batchers = new Map<number, DecodeBatcher>();

  load(path: string, request: ViewRequest, options: LoadViewsOptions = {}, cacheFrames?: CachedFramesOptions): Promise<LoadedViews> {
    if (cacheFrames) return this.cache.load(path, request, cacheFrames, options);
    const maxClips = options.batchClips ?? DEFAULT_BATCH_CLIPS;
    if (maxClips <= 1) return loadVideoViews(path, request, options);
    const batcher = this.batcherFor(maxClips);
    return loadVideoViews(path, request, options, (p, i, o) => batcher.decode(p, i, o));
  }

  private batcherFor(maxClips: number): DecodeBatcher {
    let batcher = this.batchers.get(maxClips);
    if (!batcher) {
      batcher = new DecodeBatcher({ maxClips });
      this.batchers.set(maxClips, batcher);
    }
    return batcher;
  }

  /** Drops the cached frames. */
  clear(): void {
    this.cache.clear();
  }
}
