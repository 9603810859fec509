/**
 * Training clips for the step, from `@lss/data`: the dataset's samples (a reader of `@lss/data/node`,
 * or the generated synthetic dataset), SVT's multi-view sampling and augmentation, host data out.
 *
 * Determinism (so that resume is exact, and results do not depend on the number of input workers):
 * the sample order of epoch `e` is a seeded shuffle of `hash(seed, e)`, step `s` takes the next
 * `batchSize * accumulationSteps` samples of its epoch, and the views of clip `c` in epoch `e` draw from
 * `clipViewSeed(seed, e, c)` (`@lss/data/node`, the seed `VideoLoader` uses too): per clip, not per step
 * or rank. Worker threads (`FileClipSource`) render the views of the next steps while the model steps
 * (`TrainInput`); an unreadable clip is replaced by a clip drawn from the same numbers.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError, hashString, LssError, SeededRandom } from '@lss/core';
import {
  collateBatch,
  type FrameGeometry,
  framesNeeded,
  type HostVideo,
  planTrainViews,
  type RgbFrames,
  renderSyntheticVideo,
  renderView,
  SVT_VIEW_CONFIG,
  type SvtViewConfig,
  SYNTHETIC_MOTIONS,
  type VideoInfo,
  type VideoSample,
} from '@lss/data';
import {
  clipViewSeed,
  type LoadViewsOptions,
  readFolderPerClass,
  readHmdb51,
  readKinetics400,
  readListFile,
  readUcf101,
  type SplitNumber,
  ViewWorkerPool,
} from '@lss/data/node';
import type { TrainConfig } from './config/schema.js';
import { ensureSyntheticDataset } from './synthetic-data.js';
import type { HostBatch } from './train-step.js';

/** Where the views of one training sample come from. */
export interface ClipSource {
  /** Number of training clips. */
  readonly numClips: number;
  /** What clip `index` is, for reports (a file path). */
  name?(index: number): string;
  /**
   * Views of clip `index` (global first), drawn from `seed`: the same for the same arguments, always. Throws
   * `DataError` when the clip cannot be read (the trainer then replaces it, see {@link TrainInput}).
   */
  views(index: number, config: SvtViewConfig, seed: number): Promise<HostVideo[]>;
  /**
   * The same views with what the decoder reported making them (frames substituted, decoder errors). Optional: a
   * source without it (in-memory clips) never substitutes frames.
   */
  load?(index: number, config: SvtViewConfig, seed: number): Promise<ClipViews>;
  close?(): Promise<void> | void;
}

/** Views of one clip and how cleanly its frames were decoded. */
export interface ClipViews {
  readonly views: HostVideo[];
  /** Requested frames the stream did not deliver, each replaced by a repeat of the last decoded frame. */
  readonly substitutedFrames: number;
  /** Error lines of the decoder (damaged data it concealed); empty for a clean decode. */
  readonly decoderErrors: readonly string[];
}

/** SVT view config of `@lss/data` from the trainer's `views` section. */
export function svtViewConfig(views: TrainConfig['views']): SvtViewConfig {
  return {
    ...SVT_VIEW_CONFIG,
    numGlobalViews: views.numGlobal,
    numLocalViews: views.numLocal,
    numGlobalFrames: views.numFrames,
    numLocalFrames: views.numFrames,
    globalSize: views.globalSize,
    localSize: views.localSize,
    globalScale: views.globalScale,
    localScale: views.localScale,
    flipProbability: views.flip,
    colorJitterProbability: views.colorJitter,
    grayscaleProbability: views.grayscale,
    globalBlurProbability: [views.blur[0], views.blur[1]],
    localBlurProbability: views.blur[2],
    globalSolarizeProbability: [0, views.solarize],
    localSolarizeProbability: 0,
    normalize: true,
  };
}

/** SVT views of in-memory frames `[N, H, W, 3]` (the same plans `loadVideoViews` makes for a file). */
export function renderTrainViews(frames: RgbFrames, config: SvtViewConfig, seed: number): HostVideo[] {
  const [N, H, W] = frames.shape;
  const geometry: FrameGeometry = { width: W, height: H, numFrames: N };
  const plans = planTrainViews(geometry, config, new SeededRandom(seed));
  const needed = framesNeeded(plans);
  const frameSize = H * W * 3;
  const data = new Uint8Array(needed.length * frameSize);
  needed.forEach((f, k) => data.set(frames.data.subarray(f * frameSize, (f + 1) * frameSize), k * frameSize));
  const subset: RgbFrames = { data, shape: [needed.length, H, W, 3] }; // only the frames the views use
  return plans.map((plan) => renderView(subset, needed, plan));
}

/** Default number of worker threads rendering training views: one per core but the one the model steps on, 1 to 4. */
export function defaultInputWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * Video files on disk, decoded (ffmpeg subprocesses) and rendered (crops, augmentations) in a pool of worker
 * threads, so the views of the next steps are made while the model steps on the main thread. By default each
 * sample costs one ffmpeg decode of just the frames its views need (the probe is cached per file). With
 * `cacheFrames`, each video is decoded once in full (short side at most 256) and kept in the memory of one worker
 * (the same worker for the same clip): for small datasets such as the synthetic one. A clip's views depend only on
 * the file and the seed, never on the number of workers.
 */
export class FileClipSource implements ClipSource {
  private readonly info = new Map<string, VideoInfo>();
  private readonly pool: ViewWorkerPool;
  constructor(
    readonly samples: readonly VideoSample[],
    readonly options: { cacheFrames?: boolean; numWorkers?: number; ffmpegPath?: string } = {},
  ) {
    if (samples.length === 0) throw new DataError('The training dataset has no videos; check data.root and data.annotations.');
    this.pool = new ViewWorkerPool(options.numWorkers ?? defaultInputWorkers());
  }
  get numClips(): number {
    return this.samples.length;
  }
  name(index: number): string {
    return (this.samples[index] as VideoSample).path;
  }
  /** Jobs done per worker thread id (0: the calling thread). */
  get jobsPerWorker(): ReadonlyMap<number, number> {
    return this.pool.jobsPerWorker;
  }
  async views(index: number, config: SvtViewConfig, seed: number): Promise<HostVideo[]> {
    return (await this.load(index, config, seed)).views;
  }
  async load(index: number, config: SvtViewConfig, seed: number): Promise<ClipViews> {
    const sample = this.samples[index] as VideoSample;
    const info = this.info.get(sample.path);
    const options: LoadViewsOptions = {
      ...(info ? { info } : {}),
      ...(this.options.ffmpegPath ? { ffmpegPath: this.options.ffmpegPath } : {}),
      ...(sample.timeStart !== undefined && sample.timeEnd !== undefined
        ? { segment: { start: sample.timeStart, end: sample.timeEnd } }
        : {}),
    };
    const result = await this.pool.load(
      sample.path,
      { mode: 'train', config, seed },
      { options, affinity: index, ...(this.options.cacheFrames ? { cacheFrames: { maxShortSide: 256 } } : {}) },
    );
    if (!result.ok) {
      if (result.dataError) throw new DataError(result.reason, { file: sample.path });
      throw new Error(`Rendering the views of ${sample.path} failed: ${result.reason}`);
    }
    this.info.set(sample.path, result.info);
    return { views: result.views, substitutedFrames: result.substitutedIndices.length, decoderErrors: result.decoderErrors };
  }
  async close(): Promise<void> {
    await this.pool.close();
  }
}

/**
 * Synthetic clips rendered in memory with `@lss/data`'s renderer (the same videos the generator
 * encodes, without the codec round trip): for tests and quick experiments without ffmpeg.
 */
export class MemoryClipSource implements ClipSource {
  private readonly frames: RgbFrames[];
  constructor(options: { numClasses: number; videosPerClass: number; numFrames: number; size: number; seed: number }) {
    this.frames = [];
    for (let c = 0; c < options.numClasses; c++) {
      for (let v = 0; v < options.videosPerClass; v++) {
        this.frames.push(
          renderSyntheticVideo({
            motion: SYNTHETIC_MOTIONS[c % SYNTHETIC_MOTIONS.length] as (typeof SYNTHETIC_MOTIONS)[number],
            width: options.size,
            height: options.size,
            numFrames: options.numFrames,
            seed: hashString(`${c}/${v}`, options.seed),
          }),
        );
      }
    }
  }
  get numClips(): number {
    return this.frames.length;
  }
  async views(index: number, config: SvtViewConfig, seed: number): Promise<HostVideo[]> {
    return renderTrainViews(this.frames[index] as RgbFrames, config, seed);
  }
}

/** Opens the configured training data (generating the synthetic dataset when it is absent). */
export async function openClipSource(config: TrainConfig, log: (line: string) => void): Promise<ClipSource> {
  const d = config.data;
  if (d.kind === 'synthetic') {
    const videosDir = join(d.root, 'UCF-101');
    const annotationsDir = join(d.root, 'ucfTrainTestlist');
    await ensureSyntheticDataset(d, log); // generated, reused, or regenerated when its settings changed
    const dataset = readUcf101({ videosDir, annotationsDir, split: d.split as SplitNumber, subset: 'train' });
    return new FileClipSource(dataset.samples, sourceOptions(d));
  }
  const need = (what: string) => {
    if (!d.annotations) throw new ConfigError(`data.kind ${d.kind} needs data.annotations (${what}); received null.`);
    return d.annotations;
  };
  const dataset =
    d.kind === 'ucf101'
      ? readUcf101({
          videosDir: d.root,
          annotationsDir: need('the ucfTrainTestlist folder'),
          split: d.split as SplitNumber,
          subset: 'train',
        })
      : d.kind === 'hmdb51'
        ? readHmdb51({
            videosDir: d.root,
            splitsDir: need('the testTrainMulti_7030_splits folder'),
            split: d.split as SplitNumber,
            subset: 'train',
          })
        : d.kind === 'kinetics400'
          ? readKinetics400({ csvPath: need('the train CSV'), videosDir: d.root })
          : d.kind === 'folder'
            ? readFolderPerClass({ root: d.root })
            : readListFile({ listPath: need('the list file'), root: d.root });
  if (dataset.missing.length > 0) log(`${dataset.missing.length} listed videos are missing on disk and were left out`);
  return new FileClipSource(dataset.samples, sourceOptions(d));
}

function sourceOptions(d: TrainConfig['data']): { cacheFrames: boolean; numWorkers: number } {
  return { cacheFrames: d.cacheFrames, numWorkers: d.numWorkers ?? defaultInputWorkers() };
}

/** This process's place in a data-parallel job (`@lss/distributed` `ProcessGroup` has both). */
export interface RankShard {
  readonly rank: number;
  readonly worldSize: number;
}

/**
 * Which clips each optimizer step uses, deterministically by (seed, step). A step's GLOBAL batch is the next
 * `batchSize * accumulationSteps * worldSize` clips of the epoch's seeded order; in a data-parallel job rank r
 * takes its positions r, r + worldSize, r + 2·worldSize, ... (PyTorch's `DistributedSampler` on top of one
 * permutation per epoch, under a `DataLoader` with `drop_last`): every clip once per epoch on exactly one rank,
 * the same global batch for any world size with the same global batch, and the tail of the epoch that does not
 * fill a global batch is dropped (no padding; with `training.stepsPerEpoch` above that, the order wraps).
 * `batchSize` is the per-rank (per-process) batch, as in PyTorch.
 */
export class StepPlanner {
  private orderCache: { epoch: number; order: number[] } | null = null;
  /** Clips of one step over all ranks (the global batch). */
  readonly clipsPerStep: number;
  /** Clips of one step on this rank (`batchSize * accumulationSteps`). */
  readonly localClipsPerStep: number;
  readonly stepsPerEpoch: number;
  readonly rank: number;
  readonly worldSize: number;

  constructor(
    readonly numClips: number,
    readonly batchSize: number,
    readonly accumulationSteps: number,
    readonly seed: number,
    stepsPerEpoch: number | null,
    shard: RankShard = { rank: 0, worldSize: 1 },
  ) {
    this.rank = shard.rank;
    this.worldSize = shard.worldSize;
    if (
      !Number.isInteger(this.worldSize) ||
      this.worldSize < 1 ||
      !Number.isInteger(this.rank) ||
      this.rank < 0 ||
      this.rank >= this.worldSize
    ) {
      throw new ConfigError(`rank ${this.rank} of world size ${this.worldSize}: expected an integer rank in [0, worldSize).`);
    }
    this.localClipsPerStep = batchSize * accumulationSteps;
    this.clipsPerStep = this.localClipsPerStep * this.worldSize;
    const full = Math.floor(numClips / this.clipsPerStep);
    if (full < 1) {
      throw new ConfigError(
        `The dataset has ${numClips} training clips, fewer than one step needs (batchSize ${batchSize} x accumulationSteps ${accumulationSteps}` +
          `${this.worldSize > 1 ? ` x ${this.worldSize} ranks` : ''}); lower training.batchSize.`,
      );
    }
    this.stepsPerEpoch = stepsPerEpoch ?? full;
  }

  /** The shuffled clip order of an epoch (the same on every rank). */
  order(epoch: number): number[] {
    if (this.orderCache?.epoch === epoch) return this.orderCache.order;
    const order = Array.from({ length: this.numClips }, (_, i) => i);
    new SeededRandom(hashString(`epoch:${epoch}`, this.seed)).shuffle(order);
    this.orderCache = { epoch, order };
    return order;
  }

  /** Position in the global batch of this rank's local row `j` (micro-batches concatenated): `j * worldSize + rank`. */
  globalRow(j: number): number {
    return j * this.worldSize + this.rank;
  }

  /** Clip indices of step `step` on this rank, one list per micro-batch. Steps past the epoch's clips wrap around its order. */
  clipsOf(step: number): number[][] {
    return this.slotsOf(step).map((list) => list.map((s) => s.clip));
  }

  /** The clips of step `step` on this rank and their place in the epoch (`pass` > 0: a later pass of an epoch longer than the dataset), one list per micro-batch. */
  slotsOf(step: number): ClipSlot[][] {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    const within = step % this.stepsPerEpoch;
    const order = this.order(epoch);
    const out: ClipSlot[][] = [];
    for (let m = 0; m < this.accumulationSteps; m++) {
      out.push(
        Array.from({ length: this.batchSize }, (_, b) => {
          const position = within * this.clipsPerStep + this.globalRow(m * this.batchSize + b);
          return { epoch, clip: order[position % order.length] as number, pass: Math.floor(position / order.length) };
        }),
      );
    }
    return out;
  }
}

/** One clip of a step: drawn at `epoch`, dataset index `clip`, `pass` of the epoch's order. */
export interface ClipSlot {
  readonly epoch: number;
  readonly clip: number;
  readonly pass: number;
}

/** A training video that could not be read. */
export interface BadVideo {
  readonly clip: number;
  /** Its path (or the source's name for it). */
  readonly path: string;
  /** The `DataError` message. */
  readonly reason: string;
  /** The rank that met it first (data-parallel runs only). */
  readonly rank?: number;
}

/** A training video that was read, but not cleanly: frames substituted or decoder errors. */
export interface DamagedVideo {
  readonly clip: number;
  readonly path: string;
  /** What the decoder reported the first time it was met, e.g. `2 frame(s) substituted; decoder: mpeg4: ac-tex damaged at 1 1`. */
  readonly reason: string;
  /** The rank that met it first (data-parallel runs only). */
  readonly rank?: number;
}

/** What the input has met up to a step: checkpointed, so a resumed run continues the same counts. */
export interface InputState {
  /** Clip draws replaced by another clip because they could not be read. */
  readonly replacedClips: number;
  /** Distinct unreadable videos, in the order met. */
  readonly badVideos: readonly BadVideo[];
  /** Frames substituted (repeats of the last decoded frame: the stream ended early) over the clip draws used. Absent in checkpoints before it was counted. */
  readonly substitutedFrames?: number;
  /** Clip draws used whose decode substituted frames or reported errors. */
  readonly damagedClips?: number;
  /** Distinct damaged videos, in the order met. */
  readonly damagedVideos?: readonly DamagedVideo[];
}

/** The host batches of one step and the unreadable clips met while making them. */
export interface StepInput {
  readonly step: number;
  readonly batches: HostBatch[];
  /** Slots whose clip could not be read: the drawn clip and the clip whose views took its place. */
  readonly replaced: readonly { readonly clip: number; readonly replacement: number }[];
  /** Every unreadable video met for this step (a replacement candidate may be unreadable too). */
  readonly bad: readonly BadVideo[];
  /** The clip draws used by this step that were decoded with substituted frames or errors. */
  readonly damaged: readonly (DamagedVideo & { readonly substitutedFrames: number })[];
}

export interface TrainInputOptions {
  /** The run's seed: the clip order and every clip's augmentations derive from it. */
  readonly seed: number;
  /** Steps whose views are made ahead of the one the model is on (default 2). */
  readonly prefetchSteps?: number;
  /** Clips whose views are being made at once (default: the clips of one step, at least 2). */
  readonly concurrency?: number;
  /** Largest fraction of the training videos that may be unreadable before the run stops with the list (default 0.1). */
  readonly maxBadFraction?: number;
  /**
   * Called when a step that meets an unreadable video is taken (with `group`: on every rank, for the videos of
   * every rank; `bad.rank` says which rank met it, `replacement` is that rank's).
   */
  readonly onBadVideo?: (bad: BadVideo, replacement: number | null) => void;
  /**
   * The data-parallel process group: each step's unreadable and damaged videos are exchanged between the ranks
   * (one small all-gather per step) and counted in rank order on every rank, so the counts, the checkpointed
   * state and the `maxBadFraction` stop are the whole job's and the same on every rank (all ranks stop together
   * with one error). A rank that cannot make its views (a `DataError`) stops every rank with its error.
   */
  readonly group?: InputGroup;
}

/** The part of a process group {@link TrainInput} needs (`@lss/distributed`'s `ProcessGroup` has it). */
export interface InputGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** Every rank's bytes in rank order. */
  allGatherBytes(bytes: Uint8Array): Promise<Uint8Array[]>;
}

/** One rank's unreadable and damaged videos of a step, or the error that stopped its input. */
interface StepReport {
  readonly replaced: StepInput['replaced'];
  readonly bad: StepInput['bad'];
  readonly damaged: StepInput['damaged'];
  readonly error?: { readonly name: string; readonly message: string };
}

/** `  path (rank r): reason` lines of a list of bad or damaged videos. */
function listVideos(videos: Iterable<{ readonly path: string; readonly reason: string; readonly rank?: number }>): string {
  return [...videos].map((v) => `  ${v.path}${v.rank !== undefined ? ` (rank ${v.rank})` : ''}: ${v.reason}`).join('\n');
}

/** `2 frame(s) substituted; decoder: mpeg4: ac-tex damaged at 1 1` */
function describeDamage(d: { substitutedFrames: number; decoderErrors: readonly string[] }): string {
  const out: string[] = [];
  if (d.substitutedFrames > 0) out.push(`${d.substitutedFrames} frame(s) substituted by a repeat of the last decoded frame`);
  if (d.decoderErrors.length > 0) out.push(`decoder: ${d.decoderErrors.slice(0, 2).join(' | ')}`);
  return out.join('; ');
}

/** Draws tried for one slot before giving up (the first is the clip itself). */
const MAX_DRAWS = 16;

/**
 * The training input: the host batches of each step, made ahead of time by the source (worker threads for files)
 * while the model steps. Deterministic and seekable: the views of a slot are a function of (seed, epoch, clip,
 * pass) only, via {@link clipViewSeed}, so they do not depend on the number of workers, on completion order, on
 * which rank draws the clip, or on where a run was resumed.
 *
 * An unreadable clip (the source throws `DataError`) is replaced deterministically: draw `k` = 1, 2, ... of the
 * slot takes clip `hash(seed, epoch, clip, pass, k) mod numClips` with views seeded by the same numbers, the first
 * readable one wins. Counts are kept in step order ({@link state}); once more than `maxBadFraction` of the
 * videos are known to be unreadable, {@link take} throws a `DataError` listing them.
 */
export class TrainInput {
  private readonly loading = new Map<number, Promise<StepInput>>();
  private readonly prefetchSteps: number;
  private readonly concurrency: number;
  private readonly maxBadFraction: number;
  private replacedClips = 0;
  private readonly badVideos = new Map<string, BadVideo>();
  private substitutedFrames = 0;
  private damagedClips = 0;
  private readonly damagedVideos = new Map<string, DamagedVideo>();
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    readonly source: ClipSource,
    readonly planner: StepPlanner,
    readonly viewConfig: SvtViewConfig,
    readonly options: TrainInputOptions,
  ) {
    this.prefetchSteps = options.prefetchSteps ?? 2;
    this.concurrency = options.concurrency ?? Math.max(2, planner.localClipsPerStep);
    this.maxBadFraction = options.maxBadFraction ?? 0.1;
    if (!Number.isInteger(this.prefetchSteps) || this.prefetchSteps < 0) {
      throw new ConfigError(`prefetchSteps must be an integer >= 0; received ${this.prefetchSteps}.`);
    }
    if (!(this.maxBadFraction >= 0 && this.maxBadFraction <= 1)) {
      throw new ConfigError(
        `maxBadFraction must be a fraction in [0, 1]; received ${this.maxBadFraction}. 0.1 allows 10 % unreadable videos.`,
      );
    }
  }

  /** Counts so far (steps taken), for the checkpoint. */
  state(): InputState {
    return {
      replacedClips: this.replacedClips,
      badVideos: [...this.badVideos.values()],
      substitutedFrames: this.substitutedFrames,
      damagedClips: this.damagedClips,
      damagedVideos: [...this.damagedVideos.values()],
    };
  }

  /** Continues the counts of a checkpoint (call before the first {@link take} of a resumed run). */
  restore(state: InputState | undefined): void {
    this.replacedClips = state?.replacedClips ?? 0;
    this.badVideos.clear();
    for (const b of state?.badVideos ?? []) this.badVideos.set(b.path, b);
    this.substitutedFrames = state?.substitutedFrames ?? 0;
    this.damagedClips = state?.damagedClips ?? 0;
    this.damagedVideos.clear();
    for (const d of state?.damagedVideos ?? []) this.damagedVideos.set(d.path, d);
  }

  /**
   * Counts for a metrics record, from the start of the run to the last step taken: clip draws replaced, distinct
   * unreadable videos, frames substituted by a repeat of the last decoded one, clip draws decoded with damage.
   */
  counts(): { replacedClips: number; badVideos: number; substitutedFrames: number; damagedClips: number } {
    return {
      replacedClips: this.replacedClips,
      badVideos: this.badVideos.size,
      substitutedFrames: this.substitutedFrames,
      damagedClips: this.damagedClips,
    };
  }

  /** One line (or a short list) for the end of a run. */
  summary(): string {
    const parts: string[] = [];
    if (this.badVideos.size === 0) parts.push('every training video was readable');
    else {
      parts.push(
        `${this.badVideos.size} unreadable training video(s), ${this.replacedClips} clip draw(s) replaced by other clips:\n${listVideos(this.badVideos.values())}`,
      );
    }
    if (this.damagedVideos.size > 0) {
      parts.push(
        `${this.damagedVideos.size} damaged training video(s) used, ${this.damagedClips} clip draw(s) with ${this.substitutedFrames} frame(s) substituted by a repeat of the last decoded frame:\n${listVideos(this.damagedVideos.values())}`,
      );
    }
    return parts.join('\n');
  }

  /** Runs `work` when fewer than `concurrency` clips are in flight. */
  private async limited<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.concurrency) await new Promise<void>((resolve) => this.queue.push(resolve));
    this.active++;
    try {
      return await work();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  private drawSeed(slot: ClipSlot, draw: number): number {
    const tag = slot.pass === 0 && draw === 0 ? '' : `p${slot.pass}d${draw}`;
    return clipViewSeed(this.options.seed, slot.epoch, slot.clip, tag);
  }

  /** The views of one slot: the clip, or its deterministic replacement when it cannot be read. */
  private async fillSlot(
    slot: ClipSlot,
  ): Promise<{ views: HostVideo[]; replacement: number | null; bad: BadVideo[]; damaged: StepInput['damaged'][number] | null }> {
    const bad: BadVideo[] = [];
    const n = this.planner.numClips;
    for (let draw = 0; draw < MAX_DRAWS; draw++) {
      const clip = draw === 0 ? slot.clip : hashString(`replace:${slot.epoch}:${slot.clip}:${slot.pass}:${draw}`, this.options.seed) % n;
      try {
        const seed = this.drawSeed(slot, draw);
        const source = this.source;
        const loaded = await this.limited(
          async (): Promise<ClipViews> =>
            source.load
              ? source.load(clip, this.viewConfig, seed)
              : { views: await source.views(clip, this.viewConfig, seed), substitutedFrames: 0, decoderErrors: [] },
        );
        const damaged =
          loaded.substitutedFrames > 0 || loaded.decoderErrors.length > 0
            ? {
                clip,
                path: source.name?.(clip) ?? `clip ${clip}`,
                reason: describeDamage({ substitutedFrames: loaded.substitutedFrames, decoderErrors: loaded.decoderErrors }),
                substitutedFrames: loaded.substitutedFrames,
              }
            : null;
        return { views: loaded.views, replacement: draw === 0 ? null : clip, bad, damaged };
      } catch (error) {
        if (!(error instanceof DataError)) throw error;
        bad.push({ clip, path: this.source.name?.(clip) ?? `clip ${clip}`, reason: error.message });
      }
    }
    throw new DataError(
      `No readable training clip in ${MAX_DRAWS} draws for clip ${slot.clip} of epoch ${slot.epoch}; the unreadable ones:\n${bad.map((b) => `  ${b.path}: ${b.reason}`).join('\n')}\nCheck the dataset (\`lss-data check\` lists every bad file).`,
    );
  }

  private async load(step: number): Promise<StepInput> {
    const lists = this.planner.slotsOf(step);
    const filled = await Promise.all(lists.map((list) => Promise.all(list.map((slot) => this.fillSlot(slot)))));
    const replaced: { clip: number; replacement: number }[] = [];
    const bad: BadVideo[] = [];
    const damaged: StepInput['damaged'][number][] = [];
    const batches = filled.map((list, m) => {
      list.forEach((f, b) => {
        const slot = (lists[m] as ClipSlot[])[b] as ClipSlot;
        if (f.replacement !== null) replaced.push({ clip: slot.clip, replacement: f.replacement });
        bad.push(...f.bad);
        if (f.damaged) damaged.push(f.damaged);
      });
      const samples = list.map((_, b) => ({ path: `clip:${(lists[m] as ClipSlot[])[b]?.clip}`, label: -1, className: '' }));
      const batch = collateBatch(
        list.map((f) => f.views),
        samples,
        this.viewConfig.numGlobalViews,
      );
      return { views: batch.views, numGlobalViews: batch.numGlobalViews };
    });
    return { step, batches, replaced, bad, damaged };
  }

  private start(step: number): Promise<StepInput> {
    let p = this.loading.get(step);
    if (!p) {
      p = this.load(step);
      p.catch(() => undefined); // surfaced by take()
      this.loading.set(step, p);
    }
    return p;
  }

  /**
   * The host batches of `step` (one per micro-batch), starting the next `prefetchSteps` steps below `endStep`.
   * Call with consecutive steps; counts and the bad-video stop are applied in step order (with `group`: in rank
   * order within a step, over every rank's videos, identically on every rank).
   */
  async take(step: number, endStep = Number.POSITIVE_INFINITY): Promise<HostBatch[]> {
    const current = this.start(step);
    for (let s = step + 1; s <= step + this.prefetchSteps && s < endStep; s++) this.start(s);
    for (const s of this.loading.keys()) if (s < step) this.loading.delete(s);
    const { group } = this.options;
    if (!group) {
      const input = await current;
      this.loading.delete(step);
      this.account(step, [input]);
      return input.batches;
    }
    let input: StepInput | null = null;
    let error: LssError | null = null;
    try {
      input = await current;
    } catch (e) {
      // An LssError (no readable clip in MAX_DRAWS draws) goes to every rank; anything else is a bug: this rank
      // dies and the others stop with a DistributedError naming it.
      if (!(e instanceof LssError)) throw e;
      error = e;
    } finally {
      this.loading.delete(step);
    }
    const local: StepReport = input
      ? { replaced: input.replaced, bad: input.bad, damaged: input.damaged }
      : { replaced: [], bad: [], damaged: [], ...(error ? { error: { name: error.name, message: error.message } } : {}) };
    const reports = (await group.allGatherBytes(new TextEncoder().encode(JSON.stringify(local)))).map(
      (bytes) => JSON.parse(new TextDecoder().decode(bytes)) as StepReport,
    );
    const failed = reports.findIndex((r) => r.error);
    if (failed >= 0) {
      const e = reports[failed]?.error as { name: string; message: string };
      throw new DataError(
        `Rank ${failed} of ${group.worldSize} could not make its views of step ${step}; every rank stops. ${e.name}: ${e.message}`,
      );
    }
    this.account(
      step,
      reports.map((r, rank) => ({
        replaced: r.replaced,
        bad: r.bad.map((b) => ({ ...b, rank })),
        damaged: r.damaged.map((d) => ({ ...d, rank })),
      })),
    );
    return (input as StepInput).batches;
  }

  /** Counts the videos of one step (one report per rank, in rank order); stops when too many are unreadable. */
  private account(step: number, reports: readonly Pick<StepInput, 'replaced' | 'bad' | 'damaged'>[]): void {
    for (const input of reports) {
      this.replacedClips += input.replaced.length;
      for (const d of input.damaged) {
        this.damagedClips++;
        this.substitutedFrames += d.substitutedFrames;
        if (!this.damagedVideos.has(d.path)) {
          this.damagedVideos.set(d.path, {
            clip: d.clip,
            path: d.path,
            reason: d.reason,
            ...(d.rank !== undefined ? { rank: d.rank } : {}),
          });
        }
      }
      const fresh: BadVideo[] = [];
      for (const b of input.bad) {
        if (this.badVideos.has(b.path)) continue;
        this.badVideos.set(b.path, b);
        fresh.push(b);
      }
      for (const b of fresh) {
        const r = input.replaced.find((x) => x.clip === b.clip);
        this.options.onBadVideo?.(b, r ? r.replacement : null);
      }
    }
    const n = this.planner.numClips;
    if (this.badVideos.size > this.maxBadFraction * n) {
      const ranks = this.options.group ? ` over all ${this.options.group.worldSize} ranks` : '';
      throw new DataError(
        `${this.badVideos.size} of ${n} training videos could not be read${ranks} (by step ${step}), more than data.maxBadFraction = ${this.maxBadFraction} allows; stopping:\n${listVideos(this.badVideos.values())}\n` +
          'Fix or remove them (`lss-data check` lists every bad file of a dataset), or allow more with --set data.maxBadFraction=F.',
      );
    }
  }

  /** Waits for the loads in flight to settle (their results are dropped). */
  async close(): Promise<void> {
    const pending = [...this.loading.values()];
    this.loading.clear();
    await Promise.allSettled(pending);
  }
}
