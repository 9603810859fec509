/**
 * The evaluation protocols of SPEC.md section 5 as functions: zero-shot (and transductive zero-shot),
 * linear probe (L-BFGS, or the SVT-style SGD probe), weighted k-NN, and single-video classification.
 * Each evaluates every split of a dataset, returns an {@link EvalReport} (per split, mean ± sample std
 * over splits) and, with `outDir`, writes it as JSON + Markdown + confusion-matrix SVGs.
 *
 * Video features: each test video gives numClips × numCrops views; every view is embedded; the video
 * feature is the mean of the L2-normalised view features. Zero-shot scores are cosines with the class
 * rows, which for that mean equals the mean over views of the per-view cosine (the SPEC's "video score
 * = mean over test views"). Probes and k-NN use the same per-video feature.
 */
import { buildZeroShotClassifier, DEFAULT_CATEGORY_TEMPLATES, normalizeLabel } from '@lss/concepts';
import { loadPromptTemplates, PROMPT_TEMPLATE_SETS } from '@lss/concepts/node';
import { ConfigError, DataError, ShapeError } from '@lss/core';
import { ensureWritableDir } from '@lss/core/node';
import { describeTestProtocol, testProtocol, type VideoSample } from '@lss/data';
import { loadVideoViews } from '@lss/data/node';
import * as tf from '@tensorflow/tfjs-core';
import { type DatasetSpec, type EvalSplit, type ResolvedDataset, resolveDataset } from './datasets.js';
import { exportFeatures } from './export.js';
import {
  checkViews,
  DEFAULT_MAX_BAD_FRACTION,
  type ExtractFeaturesOptions,
  extractFeatures,
  type FeatureSample,
  type HostViews,
  type SkippedFeatureVideo,
  type ViewLoader,
  type ViewSettings,
} from './feature-cache.js';
import { assertFiniteFeatures, type FeatureSet } from './features-math.js';
import { KNN_DEFAULTS, knnAccuracy, knnScores, knnTop5Positions } from './knn.js';
import { DEFAULT_C_GRID, type LinearProbeOptions, runLinearProbe, videoGroup } from './linear-probe.js';
import { argmaxRows, computeSplitMetrics, type ScoreMatrix, topKIndices } from './metrics.js';
import { checkModelPath, type EvalModel, type LoadEvalModelOptions, loadEvalModel, loadTextEncoder, type TextEngine } from './model.js';
import {
  type EvalReport,
  makeReport,
  type PromptSet,
  type SkippedVideoEntry,
  type SplitResult,
  viewVariant,
  writeReport,
} from './report.js';
import { runSgdProbe, SGD_PROBE_DEFAULTS, type SgdProbeOptions } from './sgd-probe.js';
import { extractFeaturesSharded, type FeatureShard } from './sharded.js';
import {
  averageNormalizedViews,
  TRANSDUCTIVE_DEFAULTS,
  type TransductiveOptions,
  transductiveZeroShot,
  zeroShotScores,
} from './zero-shot.js';

/** Options shared by every protocol. */
export interface EvaluateCommonOptions {
  /** A loaded model, or a path for {@link loadEvalModel} (then loaded and disposed here). */
  readonly model: EvalModel | string;
  readonly modelOptions?: LoadEvalModelOptions;
  /** The dataset, as a spec for `@lss/data`'s readers or already resolved. */
  readonly dataset: DatasetSpec | ResolvedDataset;
  /** Test views (default 1 clip × 1 crop, the model's frame count or 8 frames, the model's input size). */
  readonly views?: Partial<ViewSettings>;
  /** Feature cache root (default: no cache). */
  readonly cacheDir?: string;
  /** Where to write report.json / report.md / confusion-*.svg (default: nothing written). */
  readonly outDir?: string;
  /** Progress bars on stderr (default true). */
  readonly progress?: boolean;
  /** How views are loaded (default: `@lss/data`'s ffmpeg decoder via `loadVideoViews`). */
  readonly loadViews?: ViewLoader;
  /** ffmpeg binary for the default loader. */
  readonly ffmpegPath?: string;
  /**
   * Largest fraction of a split's train or test videos that may be unreadable (default 0.1). Unreadable
   * videos are skipped, listed in the report and left out of the metrics; above this fraction the run
   * stops with a `DataError` listing them.
   */
  readonly maxBadFraction?: number;
  /** Warning lines (skipped videos, dataset notes); default: stderr with an `[lss-eval]` prefix. */
  readonly onWarning?: (line: string) => void;
  /**
   * Shard feature extraction over the ranks of a distributed job (`lss-eval` under torchrun): each rank
   * embeds its part, every rank gets all the features and computes the same metrics.
   */
  readonly shard?: FeatureShard;
}

/** The default view loader: `@lss/data`'s test views (uniform clips, short side resize, crops), CLIP-normalised. */
export function ffmpegViewLoader(options: { ffmpegPath?: string } = {}): ViewLoader {
  return async (sample: FeatureSample, views: ViewSettings): Promise<HostViews> => {
    const loaded = await loadVideoViews(
      sample.path,
      {
        mode: 'test',
        config: {
          numClips: views.numClips,
          numCrops: views.numCrops,
          numFrames: views.numFrames,
          size: views.size,
          normalize: true,
          ...(views.cropFraction !== undefined ? { cropFraction: views.cropFraction } : {}),
          ...(views.normalization !== undefined ? { normalization: views.normalization } : {}),
          ...(views.sampler !== undefined ? { sampler: views.sampler } : {}),
        },
      },
      options.ffmpegPath ? { ffmpegPath: options.ffmpegPath } : {},
    );
    const per = views.numFrames * views.size * views.size * 3;
    const data = new Float32Array(loaded.views.length * per); // [V, T, S, S, 3]
    loaded.views.forEach((v, i) => {
      if (v.data.length !== per) {
        throw new ShapeError(
          `View ${i} of ${sample.path} has shape [${v.shape.join(', ')}]; expected [${views.numFrames}, ${views.size}, ${views.size}, 3].`,
        );
      }
      data.set(v.data, i * per);
    });
    return { data, shape: [loaded.views.length, views.numFrames, views.size, views.size, 3] };
  };
}

interface Prepared {
  readonly model: EvalModel;
  readonly owned: boolean;
  readonly dataset: ResolvedDataset;
  readonly views: ViewSettings;
  readonly loadViews: ViewLoader;
  readonly warn: (line: string) => void;
}

function resolveViews(model: EvalModel, views: Partial<ViewSettings> | undefined): ViewSettings {
  return {
    numClips: views?.numClips ?? 1,
    numCrops: views?.numCrops ?? 1,
    numFrames: views?.numFrames ?? model.numFrames ?? 8,
    size: views?.size ?? model.imageSize,
    ...(views?.cropFraction !== undefined ? { cropFraction: views.cropFraction } : {}),
    ...(views?.normalization !== undefined ? { normalization: views.normalization } : {}),
    ...(views?.sampler !== undefined ? { sampler: views.sampler } : {}),
  };
}

async function prepare(options: EvaluateCommonOptions, needTrain: boolean): Promise<Prepared> {
  // Outputs first: an unwritable report folder fails now, not after hours of feature extraction.
  if (options.outDir) ensureWritableDir(options.outDir, 'report folder');
  const exportDir = (options as { exportDir?: string }).exportDir;
  if (exportDir) ensureWritableDir(exportDir, 'feature export folder');
  // A missing model fails before the dataset is scanned (and before its warnings are printed).
  if (typeof options.model === 'string') checkModelPath(options.model);
  const dataset: ResolvedDataset = 'kind' in options.dataset ? resolveDataset(options.dataset, needTrain) : options.dataset;
  if (needTrain) {
    for (const s of dataset.splits) {
      if (!s.train) throw new ConfigError(`Split ${s.name} of ${dataset.name} has no training part; this protocol needs one.`);
    }
  }
  const warn = options.onWarning ?? ((line: string) => process.stderr.write(`[lss-eval] ${line}\n`));
  const owned = typeof options.model === 'string';
  const model = typeof options.model === 'string' ? await loadEvalModel(options.model, options.modelOptions) : options.model;
  for (const w of dataset.warnings) warn(w); // after the model loaded: a model error is the last thing printed
  return {
    model,
    owned,
    dataset,
    views: resolveViews(model, options.views),
    loadViews: options.loadViews ?? ffmpegViewLoader(options),
    warn,
  };
}

function samplesOf(samples: readonly VideoSample[]): FeatureSample[] {
  return samples.map((s) => ({ path: s.path, label: s.label }));
}

async function splitFeatures(p: Prepared, options: EvaluateCommonOptions, samples: readonly VideoSample[], label: string) {
  const extract = options.shard ? (o: ExtractFeaturesOptions) => extractFeaturesSharded(o, options.shard as FeatureShard) : extractFeatures;
  const f = await extract({
    model: p.model,
    samples: samplesOf(samples),
    views: p.views,
    loadViews: p.loadViews,
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.maxBadFraction !== undefined ? { maxBadFraction: options.maxBadFraction } : {}),
    progressLabel: options.progress === false ? null : label,
    name: label,
    onSkip: (s) => p.warn(`${label}: skipping ${s.path}${s.rank !== undefined ? ` (rank ${s.rank})` : ''}: ${s.reason}`),
  });
  assertFiniteFeatures(
    f.data,
    f.numVideos,
    Array.from(f.sampleIndices, (i) => (samples[i] as VideoSample).path),
    p.model,
    label,
  );
  if (f.skipped.length > 0) {
    // Sharded: every rank's skipped videos were gathered; the union, with the rank that met each, is listed once.
    const sharded = options.shard ? `:\n${f.skipped.map((s) => `  ${s.path} (rank ${s.rank})`).join('\n')}` : '';
    p.warn(`${label}: ${f.skipped.length} unreadable video(s) skipped; the metrics use the other ${f.numVideos}${sharded || '.'}`);
  }
  return f;
}

/** The per-split fields that say which listed videos were left out. */
function skippedFields(test: { skipped: readonly SkippedFeatureVideo[] }, train?: { skipped: readonly SkippedFeatureVideo[] }) {
  const skipped: SkippedVideoEntry[] = [
    ...(train?.skipped ?? []).map((s) => ({ subset: 'train' as const, path: s.path, reason: s.reason })),
    ...test.skipped.map((s) => ({ subset: 'test' as const, path: s.path, reason: s.reason })),
  ];
  return {
    ...(train ? { numTrainSkipped: train.skipped.length } : {}),
    numTestSkipped: test.skipped.length,
    ...(skipped.length > 0 ? { skipped } : {}),
  };
}

function viewsLabel(v: ViewSettings): string {
  return `${v.numClips} clip(s) × ${v.numCrops} crop(s), ${v.numFrames} frames, ${v.size} px`;
}

function commonSettings(p: Prepared, options: EvaluateCommonOptions): Record<string, unknown> {
  return {
    testViews: viewsLabel(p.views),
    // Sampler, resize and crop fraction, interpolation and normalisation of the default loader (CLIP's _transform).
    testProtocol: options.loadViews ? 'custom view loader' : describeTestProtocol({ ...p.views, normalize: true }),
    ...(options.loadViews ? {} : { testProtocolFields: testProtocol({ ...p.views, normalize: true }) }),
    videoFeature: 'mean of the L2-normalised view features',
    backend: tf.getBackend(),
    maxBadFraction: options.maxBadFraction ?? DEFAULT_MAX_BAD_FRACTION,
    modelKind: p.model.kind === 'clip' ? 'frozen image CLIP, frame embeddings averaged' : 'video tower (trainer checkpoint)',
  };
}

function finish(report: EvalReport, options: EvaluateCommonOptions): EvalReport {
  if (options.outDir) writeReport(options.outDir, report);
  return report;
}

function splitResult(
  name: string,
  scores: ScoreMatrix,
  labels: Int32Array,
  numTrain: number | undefined,
  details: Record<string, unknown> | undefined,
  skips: ReturnType<typeof skippedFields>,
): SplitResult {
  const m = computeSplitMetrics(scores, labels);
  return {
    split: name,
    ...(numTrain !== undefined ? { numTrain } : {}),
    numTest: m.numSamples,
    ...skips,
    top1: m.top1,
    top5: m.top5,
    confusion: m.confusion,
    predictions: Array.from(argmaxRows(scores)),
    ...(details ? { details } : {}),
  };
}

/** Prompt templates by name ('default', 'kinetics700', 'ucf101'), from a JSON file, or given as a list. */
export function resolvePromptSet(prompts: string | readonly string[] | undefined): PromptSet {
  if (prompts === undefined || prompts === 'default')
    return { templates: [...DEFAULT_CATEGORY_TEMPLATES], source: '@lss/concepts DEFAULT_CATEGORY_TEMPLATES' };
  if (typeof prompts !== 'string') return { templates: [...prompts], source: 'given by the caller' };
  return {
    templates: loadPromptTemplates(prompts),
    source: (PROMPT_TEMPLATE_SETS as readonly string[]).includes(prompts) ? `@lss/concepts prompt set "${prompts}"` : prompts,
  };
}

/** The text put into the prompts for a class: `normalizeLabel` (ApplyEyeMakeup → apply eye makeup) unless `raw`. */
export function classPromptNames(classNames: readonly string[], raw = false): string[] {
  return classNames.map((n) => (raw ? n : normalizeLabel(n)));
}

export interface ZeroShotOptions extends EvaluateCommonOptions {
  /** Prompt set (default: the plain label + "a video of a person {}."). */
  readonly prompts?: string | readonly string[];
  /** Use the dataset's class names as written (default: normalised to words). */
  readonly rawClassNames?: boolean;
  /** Transductive refinement (true = defaults). */
  readonly transductive?: boolean | TransductiveOptions;
  readonly textEngine?: TextEngine;
  /** CLIP folder for the text encoder when the model does not name one. */
  readonly textModel?: string;
}

/** Zero-shot (and transductive zero-shot) classification over every split. */
export async function evaluateZeroShot(options: ZeroShotOptions): Promise<EvalReport> {
  const p = await prepare(options, false);
  try {
    const promptSet = resolvePromptSet(options.prompts);
    const names = classPromptNames(p.dataset.classNames, options.rawClassNames);
    const text = await loadTextEncoder(options.textModel ?? p.model.textModelDir, {
      engine: options.textEngine ?? 'auto',
      clip: p.model.clip,
    });
    let classifier: { matrix: Float32Array; shape: readonly [number, number] };
    try {
      const zs = await buildZeroShotClassifier(text.encoder, names, {
        templates: promptSet.templates,
        source: `${p.dataset.name} class names`,
      });
      classifier = { matrix: zs.space.matrix, shape: zs.space.shape };
    } finally {
      await text.release();
    }
    const transductive = options.transductive
      ? { ...TRANSDUCTIVE_DEFAULTS, ...(options.transductive === true ? {} : options.transductive) }
      : null;
    // SPEC section 5: both 1 x 1 and 4 x 3 test views are reported unless the caller chose the clips and crops.
    const viewSets = zeroShotViewSets(p.views, options.views);
    const perViews: { views: ViewSettings; splits: SplitResult[] }[] = [];
    for (const views of viewSets) {
      const q: Prepared = { ...p, views };
      const splits: SplitResult[] = [];
      for (const split of p.dataset.splits) {
        const f = await splitFeatures(
          q,
          options,
          split.test.samples,
          `split ${split.name} test (${views.numClips}x${views.numCrops} views)`,
        );
        if (transductive) {
          const r = transductiveZeroShot(f, classifier, transductive);
          splits.push(
            splitResult(
              split.name,
              r.scores,
              f.labels,
              undefined,
              {
                transductiveIterations: r.iterations,
                converged: r.converged,
                assignmentChanges: r.changes.join(','),
              },
              skippedFields(f),
            ),
          );
        } else {
          splits.push(splitResult(split.name, zeroShotScores(f, classifier), f.labels, undefined, undefined, skippedFields(f)));
        }
      }
      perViews.push({ views, splits });
    }
    const [primary, ...others] = perViews as [(typeof perViews)[number], ...typeof perViews];
    const splits = primary.splits;
    const report = makeReport({
      protocol: transductive ? 'zero-shot-transductive' : 'zero-shot',
      dataset: { name: p.dataset.name, root: p.dataset.root, classNames: p.dataset.classNames },
      model: { kind: p.model.kind, path: p.model.path, hash: p.model.hash.slice(0, 16), label: p.model.label },
      settings: {
        ...commonSettings(p, options),
        classifier: 'category concept space of the class names (prompt ensemble: each template embedded, normalised, averaged, normalised)',
        classNames: options.rawClassNames ? 'as written in the dataset' : 'normalizeLabel (CamelCase and _ split into lower-case words)',
        textEngine: text.engine,
        textModel: options.textModel ?? p.model.textModelDir,
        textTokenizer: text.source.tokenizer,
        textWeights: text.source.weights.join(', '),
        score: 'cosine, mean over test views',
        ...(others.length > 0 ? { alsoReported: others.map((o) => viewsLabel(o.views)).join('; ') } : {}),
        ...(transductive
          ? {
              transductiveMaxIterations: transductive.maxIterations,
              transductiveStep: transductive.step,
              transductiveStop: 'assignments unchanged',
            }
          : {}),
      },
      promptSet,
      splits,
      ...(others.length > 0 ? { otherTestViews: others.map((o) => viewVariant(viewsLabel(o.views), o.splits)) } : {}),
    });
    return finish(report, options);
  } finally {
    if (p.owned) p.model.dispose();
  }
}

/** The test views zero-shot reports: 1 x 1 and 4 x 3 (SPEC section 5) unless `requested` sets the clips or the crops. */
export function zeroShotViewSets(resolved: ViewSettings, requested: Partial<ViewSettings> | undefined): ViewSettings[] {
  if (requested?.numClips !== undefined || requested?.numCrops !== undefined) return [resolved];
  // SVT's test sampler gives one clip per video: its single view and its 3 crops.
  if (resolved.sampler === 'svt')
    return [
      { ...resolved, numClips: 1, numCrops: 1 },
      { ...resolved, numClips: 1, numCrops: 3 },
    ];
  return [
    { ...resolved, numClips: 1, numCrops: 1 },
    { ...resolved, numClips: 4, numCrops: 3 },
  ];
}

function toFeatureSet(f: { data: Float32Array; numVideos: number; numViews: number; dim: number; labels: Int32Array }): FeatureSet {
  return { data: averageNormalizedViews(f), numSamples: f.numVideos, dim: f.dim, labels: f.labels };
}

async function trainTest(
  p: Prepared,
  options: EvaluateCommonOptions,
  split: EvalSplit,
): Promise<{ train: FeatureSet; test: FeatureSet; skips: ReturnType<typeof skippedFields>; trainGroups: string[] }> {
  const trainSamples = (split.train as NonNullable<EvalSplit['train']>).samples;
  const trainF = await splitFeatures(p, options, trainSamples, `split ${split.name} train`);
  const testF = await splitFeatures(p, options, split.test.samples, `split ${split.name} test`);
  // The source-video group of each train row (the rows are the videos that could be read).
  const trainGroups = Array.from(trainF.sampleIndices, (i) => videoGroup((trainSamples[i] as VideoSample).path));
  return { train: toFeatureSet(trainF), test: toFeatureSet(testF), skips: skippedFields(testF, trainF), trainGroups };
}

export interface LinearProbeEvalOptions extends EvaluateCommonOptions {
  /** L-BFGS probe options (C grid, held-out fraction, seed, normalisation). */
  readonly probe?: LinearProbeOptions;
  /** Use the SVT-style SGD probe instead (true = defaults). */
  readonly sgd?: boolean | SgdProbeOptions;
  /** Export each split's features (as fed to the classifier) for scikit-learn: `<exportDir>/split-<name>/`. */
  readonly exportDir?: string;
}

/** Linear probe on frozen features over every split. */
export async function evaluateLinearProbe(options: LinearProbeEvalOptions): Promise<EvalReport> {
  const p = await prepare(options, true);
  try {
    const numClasses = p.dataset.classNames.length;
    const splits: SplitResult[] = [];
    for (const split of p.dataset.splits) {
      const { train, test, skips, trainGroups } = await trainTest(p, options, split);
      if (options.sgd) {
        const r = runSgdProbe(train, test, { ...(options.sgd === true ? {} : options.sgd), numClasses });
        splits.push(
          splitResult(split.name, r.scores, test.labels, train.numSamples, { finalTrainLoss: Number(r.finalTrainLoss.toFixed(4)) }, skips),
        );
        if (options.exportDir)
          exportFeatures(`${options.exportDir}/split-${split.name}`, train, test, {
            classNames: p.dataset.classNames,
            preprocessing: 'mean of L2-normalised view features (the SGD probe normalises rows again)',
          });
      } else {
        // Hold out whole source videos (UCF-101 groups) when choosing C: clips of one video in both parts are optimistic.
        const r = runLinearProbe(train, test, { groups: trainGroups, ...(options.probe ?? {}), numClasses });
        splits.push(
          splitResult(
            split.name,
            r.scores,
            test.labels,
            train.numSamples,
            {
              chosenC: r.chosenC,
              lbfgsIterations: r.iterations,
              lbfgsStop: r.stopReason,
              engine: r.engine,
              heldOutTop1: r.selection.map((s) => `C=${s.c}: ${s.heldOutTop1.toFixed(1)}`).join('; '),
            },
            skips,
          ),
        );
        if (options.exportDir) {
          exportFeatures(`${options.exportDir}/split-${split.name}`, r.preparedTrain, r.preparedTest, {
            classNames: p.dataset.classNames,
            preprocessing:
              (options.probe?.normalize ?? 'l2') === 'l2'
                ? 'mean of L2-normalised view features, then L2-normalised rows'
                : 'mean of L2-normalised view features',
            chosenC: r.chosenC,
            sklearn: `LogisticRegression(C=${r.chosenC}, multi_class='multinomial', solver='lbfgs', penalty='l2')`,
          });
        }
      }
    }
    const probe = options.probe ?? {};
    const settings = options.sgd
      ? {
          ...commonSettings(p, options),
          probe: 'SGD (DINO/SVT eval_linear style)',
          ...SGD_PROBE_DEFAULTS,
          ...(options.sgd === true ? {} : options.sgd),
        }
      : {
          ...commonSettings(p, options),
          probe: 'multinomial logistic regression, L2 on W (sklearn objective C·ΣCE + ½‖W‖²), full-batch L-BFGS in float64',
          cGrid: (probe.cGrid ?? DEFAULT_C_GRID).join(', '),
          selection: `stratified held-out ${Math.round((probe.heldOutFraction ?? 0.2) * 100)}% of train (seed ${probe.seed ?? 0}), best held-out top-1, then refit on all of train`,
          normalize: probe.normalize ?? 'l2',
        };
    return finish(
      makeReport({
        protocol: options.sgd ? 'linear-probe-sgd' : 'linear-probe',
        dataset: { name: p.dataset.name, root: p.dataset.root, classNames: p.dataset.classNames },
        model: { kind: p.model.kind, path: p.model.path, hash: p.model.hash.slice(0, 16), label: p.model.label },
        settings,
        splits,
      }),
      options,
    );
  } finally {
    if (p.owned) p.model.dispose();
  }
}

export interface KnnEvalOptions extends EvaluateCommonOptions {
  readonly k?: number;
  readonly temperature?: number;
}

/** Weighted k-NN (DINO/SVT) over every split. */
export async function evaluateKnn(options: KnnEvalOptions): Promise<EvalReport> {
  const p = await prepare(options, true);
  try {
    const k = options.k ?? KNN_DEFAULTS.k;
    const temperature = options.temperature ?? KNN_DEFAULTS.temperature;
    const splits: SplitResult[] = [];
    for (const split of p.dataset.splits) {
      const { train, test, skips } = await trainTest(p, options, split);
      const scores = knnScores(train, test, { k, temperature, numClasses: p.dataset.classNames.length });
      const effectiveK = Math.min(k, train.numSamples);
      const result = splitResult(
        split.name,
        scores,
        test.labels,
        train.numSamples,
        { effectiveK, top5Positions: knnTop5Positions(effectiveK) },
        skips,
      );
      // DINO: top-5 counts only the first min(5, k) ranked classes (the rest have no neighbour's vote).
      splits.push({ ...result, top5: knnAccuracy(scores, test.labels, effectiveK).top5 });
    }
    return finish(
      makeReport({
        protocol: 'knn',
        dataset: { name: p.dataset.name, root: p.dataset.root, classNames: p.dataset.classNames },
        model: { kind: p.model.kind, path: p.model.path, hash: p.model.hash.slice(0, 16), label: p.model.label },
        settings: {
          ...commonSettings(p, options),
          k,
          temperature,
          vote: 'Σ exp(cos / T) over the k nearest training videos (DINO eval_knn)',
          top5: 'DINO knn_classifier: the label among the first min(5, k) classes ranked by votes',
        },
        splits,
      }),
      options,
    );
  } finally {
    if (p.owned) p.model.dispose();
  }
}

export interface ClassifyOptions {
  readonly model: EvalModel | string;
  readonly modelOptions?: LoadEvalModelOptions;
  readonly labels: readonly string[];
  readonly prompts?: string | readonly string[];
  readonly views?: Partial<ViewSettings>;
  readonly topK?: number;
  readonly textEngine?: TextEngine;
  readonly textModel?: string;
  readonly loadViews?: ViewLoader;
  readonly ffmpegPath?: string;
}

export interface Classification {
  readonly label: string;
  /** Mean over views of the cosine similarity. */
  readonly cosine: number;
  /** softmax over the labels of the cosine times CLIP's logit scale (100). */
  readonly probability: number;
}

/** Classifies one video among free-text labels; returns the top-k labels, best first. */
export async function classifyVideo(
  videoPath: string,
  options: ClassifyOptions,
): Promise<{ predictions: Classification[]; promptSet: PromptSet; views: ViewSettings }> {
  const labels = options.labels.map((l) => l.trim()).filter((l) => l.length > 0);
  if (labels.length < 1) throw new ConfigError('classify needs at least one label, e.g. --labels "archery, juggling balls".');
  const owned = typeof options.model === 'string';
  const model = typeof options.model === 'string' ? await loadEvalModel(options.model, options.modelOptions) : options.model;
  try {
    const promptSet = resolvePromptSet(options.prompts);
    // The video first: an unreadable one fails before the text encoder is loaded.
    const views = resolveViews(model, options.views);
    checkViews(views, 1);
    const loader = options.loadViews ?? ffmpegViewLoader(options);
    let loaded: HostViews;
    try {
      loaded = await loader({ path: videoPath, label: 0 }, views);
    } catch (error) {
      if (!(error instanceof DataError)) throw error;
      throw new DataError(
        `Cannot classify ${videoPath}: the video cannot be read (${error.message}). Pass a readable video file (download or re-encode this one again).`,
        { file: videoPath, cause: error },
      );
    }
    const text = await loadTextEncoder(options.textModel ?? model.textModelDir, { engine: options.textEngine ?? 'auto', clip: model.clip });
    let classifier: { matrix: Float32Array; shape: readonly [number, number] };
    try {
      const zs = await buildZeroShotClassifier(text.encoder, labels, { templates: promptSet.templates, source: 'command-line labels' });
      classifier = { matrix: zs.space.matrix, shape: zs.space.shape };
    } finally {
      await text.release();
    }
    const emb = await model.encodeViews(loaded);
    assertFiniteFeatures(emb, 1, [videoPath], model, 'classify');
    const scores = zeroShotScores({ data: emb, numVideos: 1, numViews: views.numClips * views.numCrops, dim: model.embedDim }, classifier);
    const logits = Array.from(scores.data, (c) => 100 * c);
    const max = Math.max(...logits);
    const exp = logits.map((l) => Math.exp(l - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    const predictions = topKIndices(scores, 0, options.topK ?? 5).map((j) => ({
      label: labels[j] as string,
      cosine: scores.data[j] as number,
      probability: (exp[j] as number) / sum,
    }));
    return { predictions, promptSet, views };
  } finally {
    if (owned) model.dispose();
  }
}
