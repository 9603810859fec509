/**
 * Training clips for the step, from `@lss/data`: the dataset's samples (a reader of `@lss/data/node`,
 * or the generated synthetic dataset), SVT's multi-view sampling and augmentation, host data out.
 *
 * Determinism (so that resume is exact): the sample order of epoch `e` is a seeded shuffle of
 * `hash(seed, e)`, step `s` takes the next `batchSize * accumulationSteps` samples of its epoch, and
 * the views of sample `i` at step `s` draw from `hash(seed, s, i)`. Nothing depends on which decode
 * finishes first or on where a run was resumed. (`VideoLoader.epoch()` always starts an epoch at its
 * first batch; resuming mid-epoch needs random access by step, so the trainer calls `loadVideoViews`
 * per sample itself, with bounded concurrency and one step of prefetch.)
 */
import { join } from 'node:path';
import { ConfigError, DataError, hashString, SeededRandom } from '@lss/core';
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
  type VideoSample,
} from '@lss/data';
import {
  decodeFrames,
  loadVideoViews,
  probeVideo,
  readFolderPerClass,
  readHmdb51,
  readKinetics400,
  readListFile,
  readUcf101,
  type SplitNumber,
} from '@lss/data/node';
import type { TrainConfig } from './config/schema.js';
import { ensureSyntheticDataset } from './synthetic-data.js';
import type { HostBatch } from './train-step.js';

/** Where the views of one training sample come from. */
export interface ClipSource {
  /** Number of training clips. */
  readonly numClips: number;
  /** Views of clip `index` (global first), drawn from `seed`. */
  views(index: number, config: SvtViewConfig, seed: number): Promise<HostVideo[]>;
  close?(): Promise<void> | void;
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

/**
 * Video files on disk. By default views come from `loadVideoViews` (one probe per file, cached; one
 * ffmpeg decode of just the needed frames per sample). With `cacheFrames`, each video is decoded once
 * in full (short side at most 256) and kept in memory: for small datasets such as the synthetic one.
 */
export class FileClipSource implements ClipSource {
  private readonly info = new Map<string, Awaited<ReturnType<typeof loadVideoViews>>['info']>();
  private readonly frames = new Map<number, Promise<RgbFrames>>();
  constructor(
    readonly samples: readonly VideoSample[],
    readonly options: { cacheFrames?: boolean } = {},
  ) {
    if (samples.length === 0) throw new DataError('The training dataset has no videos; check data.root and data.annotations.');
  }
  get numClips(): number {
    return this.samples.length;
  }
  async views(index: number, config: SvtViewConfig, seed: number): Promise<HostVideo[]> {
    const sample = this.samples[index] as VideoSample;
    if (this.options.cacheFrames) {
      let frames = this.frames.get(index);
      if (!frames) {
        frames = (async () => {
          const info = await probeVideo(sample.path);
          const all = Array.from({ length: info.numFrames }, (_, i) => i);
          return (await decodeFrames(sample.path, all, { info, maxShortSide: 256 })).frames;
        })();
        this.frames.set(index, frames);
      }
      return renderTrainViews(await frames, config, seed);
    }
    const cached = this.info.get(sample.path);
    const loaded = await loadVideoViews(sample.path, { mode: 'train', config, seed }, cached ? { info: cached } : {});
    this.info.set(sample.path, loaded.info);
    return loaded.views;
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
    return new FileClipSource(dataset.samples, { cacheFrames: d.cacheFrames });
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
  return new FileClipSource(dataset.samples, { cacheFrames: d.cacheFrames });
}

/** Which clips each optimizer step uses, deterministically by (seed, step). */
export class StepPlanner {
  private orderCache: { epoch: number; order: number[] } | null = null;
  readonly clipsPerStep: number;
  readonly stepsPerEpoch: number;

  constructor(
    readonly numClips: number,
    readonly batchSize: number,
    readonly accumulationSteps: number,
    readonly seed: number,
    stepsPerEpoch: number | null,
  ) {
    this.clipsPerStep = batchSize * accumulationSteps;
    const full = Math.floor(numClips / this.clipsPerStep);
    if (full < 1) {
      throw new ConfigError(
        `The dataset has ${numClips} training clips, fewer than one step needs (batchSize ${batchSize} x accumulationSteps ${accumulationSteps}); lower training.batchSize.`,
      );
    }
    this.stepsPerEpoch = stepsPerEpoch ?? full;
  }

  /** The shuffled clip order of an epoch. */
  order(epoch: number): number[] {
    if (this.orderCache?.epoch === epoch) return this.orderCache.order;
    const order = Array.from({ length: this.numClips }, (_, i) => i);
    new SeededRandom(hashString(`epoch:${epoch}`, this.seed)).shuffle(order);
    this.orderCache = { epoch, order };
    return order;
  }

  /** Clip indices of step `step`, one list per micro-batch. Steps past the epoch's clips wrap around its order. */
  clipsOf(step: number): number[][] {
    const epoch = Math.floor(step / this.stepsPerEpoch);
    const within = step % this.stepsPerEpoch;
    const order = this.order(epoch);
    const out: number[][] = [];
    for (let m = 0; m < this.accumulationSteps; m++) {
      const start = (within * this.clipsPerStep + m * this.batchSize) % order.length;
      out.push(Array.from({ length: this.batchSize }, (_, b) => order[(start + b) % order.length] as number));
    }
    return out;
  }

  /** Seed of the views of clip `clip` at step `step` (`stepSeed`: a per-step draw of the run's RNG). */
  viewSeed(step: number, clip: number, stepSeed = 0): number {
    return hashString(`step:${step}:clip:${clip}`, (this.seed ^ stepSeed) >>> 0);
  }
}

/** Loads the micro-batches of a step as host data (views of up to `concurrency` clips at once). */
export async function loadStep(
  source: ClipSource,
  planner: StepPlanner,
  viewConfig: SvtViewConfig,
  step: number,
  stepSeed = 0,
  concurrency = 4,
): Promise<HostBatch[]> {
  const lists = planner.clipsOf(step);
  const jobs = lists.flat();
  const results: HostVideo[][] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
      while (next < jobs.length) {
        const k = next++;
        const clip = jobs[k] as number;
        results[k] = await source.views(clip, viewConfig, planner.viewSeed(step, clip, stepSeed));
      }
    }),
  );
  const batches: HostBatch[] = [];
  let k = 0;
  for (const list of lists) {
    const perSample = list.map(() => results[k++] as HostVideo[]);
    const dummySamples = list.map((i) => ({ path: `clip:${i}`, label: -1, className: '' }));
    const batch = collateBatch(perSample, dummySamples, viewConfig.numGlobalViews);
    batches.push({ views: batch.views, numGlobalViews: batch.numGlobalViews });
  }
  return batches;
}
