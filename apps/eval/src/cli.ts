/**
 * The `lss-eval` command line: `zero-shot` (with `--transductive`), `linear-probe` (with `--sgd`),
 * `knn`, `classify` and `compare`. `runCli(argv)` returns the exit code, so tests drive the real CLI.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, type BackendName, ConfigError, describeBackend, initBackend, LssError } from '@lss/core';
import { writeFileAtomic } from '@lss/core/node';
import { describeFfmpeg, resolveFfmpeg, type SplitNumber } from '@lss/data/node';
import { ProcessGroup, rendezvousFromEnv } from '@lss/distributed';
import * as tf from '@tensorflow/tfjs-core';
import type { DatasetSpec } from './datasets.js';
import { classifyVideo, evaluateKnn, evaluateLinearProbe, evaluateZeroShot } from './evaluate.js';
import { checkViews, type ViewSettings } from './feature-cache.js';
import { exportOnnxModelFolder } from './onnx-model.js';
import { compareReports, type EvalReport, readReport, reportToMarkdown } from './report.js';

export const USAGE = `lss-eval: evaluate LSS video checkpoints and frozen CLIP (SPEC.md section 5)

Commands
  lss-eval zero-shot     --model PATH DATASET [--transductive] [options]
  lss-eval linear-probe  --model PATH DATASET [--sgd] [options]
  lss-eval knn           --model PATH DATASET [--k 20] [--temperature 0.07] [options]
  lss-eval classify VIDEO --labels "archery, juggling balls, ..." --model PATH [--top 5]
  lss-eval compare REPORT.json REPORT.json ... [--names a,b,...] [--out FILE.md]
  lss-eval export-onnx   --model PATH --out DIR [--frames N] [--quantize int8] [--text-model DIR]

Model (--model): a trainer checkpoint (step-*.safetensors or its folder; --role teacher|student,
  default teacher), a video-tower .safetensors, or a CLIP folder (frozen image CLIP, frames averaged).
  --text-model DIR      CLIP folder for the text encoder (default: the checkpoint's or the CLIP folder)
  --text-engine E       auto (ONNX when onnx/text_model.onnx exists) | onnx | tfjs
  --engine E            tfjs (default) | onnx: run the video tower with onnxruntime-node (an exported folder,
                        or the model exported once into .lss-cache/onnx); an exported folder always runs on onnx
  --threads N           onnxruntime intra-op threads (default: all cores)

Export (export-onnx): a complete model folder: onnx/video_model.onnx (pixel_values [B,T,H,W,3] CLIP-normalised
  -> video_embeds [B,D], dynamic batch, opset 17), onnx/text_model.onnx, tokenizer files, lss_video.json
  --quantize int8       linear-layer weights as int8 per output channel (dynamic quantisation in ONNX Runtime)

DATASET
  --dataset ucf101  --videos DIR --annotations DIR   (classInd.txt, trainlist0N.txt, testlist0N.txt)
  --dataset hmdb51  --videos DIR --splits-dir DIR    (testTrainMulti_7030_splits)
  --dataset k400    --videos DIR --val-csv FILE [--train-csv FILE]
  --dataset folder  --test-root DIR [--train-root DIR]
  --dataset list    --test-list FILE [--train-list FILE] [--root DIR] [--class-names FILE]
  --splits 1,2,3    official splits to evaluate (UCF-101 / HMDB-51; default all three)

Views and features
  --views CxK       clips x crops per test video (zero-shot default: both 1x1 and 4x3, SPEC section 5; probes, k-NN: 1x1)
  --frames N        frames per view (default: the checkpoint's, 8 for CLIP)
  --size PX         crop size (default: the model's input size)
  --crop-fraction F crop / resized short side (default 1, CLIP's; 0.875 = resize 256, crop 224 as ViFi-CLIP,
                    X-CLIP, ActionCLIP and SVT evaluate)
  --normalization N clip (default) or imagenet (the mean/std ViFi-CLIP and X-CLIP checkpoints are trained with)
  --sampler S       uniform (default) or svt: SVT's test clip, 8 frames 32 apart at 30 fps from the start
                    (one clip per video); zero-shot then runs 1x1 and 1x3
  --cache DIR       feature cache (default .lss-cache/features); --no-cache to disable
  --backend B       ${BACKEND_NAMES.join(' | ')} (default auto: torch when built, else wasm)
  --max-bad-fraction F  unreadable videos are skipped and listed in the report; stop when more than
                    this fraction of a split's train or test videos is unreadable (default 0.1)

Zero-shot
  --prompts P       default | kinetics700 | ucf101 | FILE.json (list of templates with {})
  --raw-class-names use class names as written (default: CamelCase/_ split into words)
  --transductive    refine the class prototypes on the test features
  --iterations N    transductive iterations (default 10), --step A (default 0.5)

Linear probe
  --c-grid LIST     C values (default 0.01,0.1,1,10,100,1000,10000), --held-out F (default 0.2), --seed N
  --no-normalize    do not L2-normalise features before the probe
  --sgd             SVT-style SGD probe: --epochs N --lr BASE_LR --batch-size N --momentum M --weight-decay W
  --export DIR      write the probe's features as .npy for scikit-learn

Distributed (under torchrun --no_python ... node lss-eval ...; see @lss/distributed)
  --dist-url URL    tcp://host:port or file:///path instead of torchrun's MASTER_ADDR/MASTER_PORT
  --dist-timeout S  seconds a rank waits for the others (default 1800)
  Feature extraction is sharded over the ranks; rank 0 prints and writes the report.

Output
  --out DIR         report.json, report.md and confusion-split-*.svg (default runs/eval/<command>-<dataset>-<time>)
  --quiet           no progress bars
`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const defaultIo: CliIo = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

const OPTIONS = {
  model: { type: 'string' },
  role: { type: 'string' },
  'text-model': { type: 'string' },
  'text-engine': { type: 'string' },
  dataset: { type: 'string' },
  videos: { type: 'string' },
  annotations: { type: 'string' },
  'splits-dir': { type: 'string' },
  'val-csv': { type: 'string' },
  'train-csv': { type: 'string' },
  'test-root': { type: 'string' },
  'train-root': { type: 'string' },
  'test-list': { type: 'string' },
  'train-list': { type: 'string' },
  root: { type: 'string' },
  'class-names': { type: 'string' },
  splits: { type: 'string' },
  views: { type: 'string' },
  frames: { type: 'string' },
  size: { type: 'string' },
  'crop-fraction': { type: 'string' },
  normalization: { type: 'string' },
  sampler: { type: 'string' },
  cache: { type: 'string' },
  'no-cache': { type: 'boolean' },
  'max-bad-fraction': { type: 'string' },
  backend: { type: 'string' },
  prompts: { type: 'string' },
  'raw-class-names': { type: 'boolean' },
  transductive: { type: 'boolean' },
  iterations: { type: 'string' },
  step: { type: 'string' },
  'c-grid': { type: 'string' },
  'held-out': { type: 'string' },
  seed: { type: 'string' },
  'no-normalize': { type: 'boolean' },
  sgd: { type: 'boolean' },
  epochs: { type: 'string' },
  lr: { type: 'string' },
  'batch-size': { type: 'string' },
  momentum: { type: 'string' },
  'weight-decay': { type: 'string' },
  export: { type: 'string' },
  k: { type: 'string' },
  temperature: { type: 'string' },
  labels: { type: 'string' },
  engine: { type: 'string' },
  threads: { type: 'string' },
  quantize: { type: 'string' },
  top: { type: 'string' },
  names: { type: 'string' },
  out: { type: 'string' },
  quiet: { type: 'boolean' },
  ffmpeg: { type: 'string' },
  'dist-url': { type: 'string' },
  'dist-timeout': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function num(values: Values, name: keyof Values, check: (v: number) => boolean, what: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (typeof raw !== 'string' || !Number.isFinite(v) || !check(v))
    throw new ConfigError(`--${String(name)}: received ${JSON.stringify(raw)}; expected ${what}.`);
  return v;
}
const isPositiveInt = (v: number) => Number.isInteger(v) && v >= 1;

function need(values: Values, name: keyof Values, why: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new ConfigError(`Missing --${String(name)}: ${why}.`);
  return v;
}

function parseViews(values: Values): Partial<ViewSettings> {
  const out: {
    numClips?: number;
    numCrops?: number;
    numFrames?: number;
    size?: number;
    cropFraction?: number;
    normalization?: 'clip' | 'imagenet';
    sampler?: 'uniform' | 'svt';
  } = {};
  if (values.views !== undefined) {
    const m = /^(\d+)x(\d+)$/.exec(values.views);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1)
      throw new ConfigError(`--views: received ${JSON.stringify(values.views)}; expected CLIPSxCROPS such as 1x1 or 4x3.`);
    out.numClips = Number(m[1]);
    out.numCrops = Number(m[2]);
  }
  const frames = num(values, 'frames', isPositiveInt, 'a positive integer');
  if (frames !== undefined) out.numFrames = frames;
  const size = num(values, 'size', isPositiveInt, 'a positive integer (pixels)');
  if (size !== undefined) out.size = size;
  const cropFraction = num(values, 'crop-fraction', (v) => v > 0 && v <= 1, 'a fraction in (0, 1] such as 0.875 (resize 256, crop 224)');
  if (cropFraction !== undefined) out.cropFraction = cropFraction;
  if (values.normalization !== undefined) {
    if (values.normalization !== 'clip' && values.normalization !== 'imagenet')
      throw new ConfigError(`--normalization: received ${JSON.stringify(values.normalization)}; expected clip or imagenet.`);
    out.normalization = values.normalization;
  }
  if (values.sampler !== undefined) {
    if (values.sampler !== 'uniform' && values.sampler !== 'svt')
      throw new ConfigError(`--sampler: received ${JSON.stringify(values.sampler)}; expected uniform or svt.`);
    out.sampler = values.sampler;
    if (values.sampler === 'svt' && out.numClips !== undefined && out.numClips !== 1)
      throw new ConfigError(
        `--sampler svt takes one clip per video (SVT's test clip); received --views ${values.views}. Use --views 1x1 or 1x3.`,
      );
  }
  // Bounds and the memory estimate before any model is loaded (defaults fill what is not given).
  checkViews({ numClips: 1, numCrops: 1, numFrames: 8, size: 224, ...out });
  return out;
}

function parseSplits(values: Values): SplitNumber[] | undefined {
  if (values.splits === undefined) return undefined;
  const list = values.splits.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((s) => ![1, 2, 3].includes(s)))
    throw new ConfigError(`--splits: received ${JSON.stringify(values.splits)}; expected a list of 1, 2, 3 such as "1,2,3".`);
  return list as SplitNumber[];
}

function readClassNames(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  // `id,name` CSV (the label files of @lss/concepts) or one name per line.
  if (lines[0]?.trim().toLowerCase() === 'id,name')
    return lines.slice(1).map((l) =>
      l
        .slice(l.indexOf(',') + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
    );
  return lines.map((l) => l.trim());
}

/** Builds the dataset spec from `--dataset` and its flags. */
export function parseDataset(values: Values): DatasetSpec {
  const kind = need(values, 'dataset', 'ucf101, hmdb51, k400, folder or list').toLowerCase();
  const splits = parseSplits(values);
  switch (kind) {
    case 'ucf101':
    case 'ucf-101':
    case 'ucf':
      return {
        kind: 'ucf101',
        videosDir: need(values, 'videos', 'the UCF-101 videos folder'),
        annotationsDir: need(values, 'annotations', 'the ucfTrainTestlist folder'),
        ...(splits ? { splits } : {}),
      };
    case 'hmdb51':
    case 'hmdb-51':
    case 'hmdb':
      return {
        kind: 'hmdb51',
        videosDir: need(values, 'videos', 'the HMDB-51 videos folder'),
        splitsDir: need(values, 'splits-dir', 'the testTrainMulti_7030_splits folder'),
        ...(splits ? { splits } : {}),
      };
    case 'k400':
    case 'kinetics400':
    case 'kinetics-400':
      return {
        kind: 'kinetics400',
        videosDir: need(values, 'videos', 'the Kinetics-400 videos folder'),
        valCsv: need(values, 'val-csv', 'the validation CSV (label,youtube_id,time_start,time_end,split)'),
        ...(values['train-csv'] ? { trainCsv: values['train-csv'] } : {}),
        ...(values['class-names'] ? { classNames: readClassNames(values['class-names']) } : {}),
      };
    case 'folder':
      return {
        kind: 'folder',
        testRoot: need(values, 'test-root', 'the folder-per-class test tree'),
        ...(values['train-root'] ? { trainRoot: values['train-root'] } : {}),
      };
    case 'list':
      return {
        kind: 'list',
        testList: need(values, 'test-list', 'the `path label` test list'),
        ...(values['train-list'] ? { trainList: values['train-list'] } : {}),
        ...(values.root ? { root: values.root } : {}),
        ...(values['class-names'] ? { classNames: readClassNames(values['class-names']) } : {}),
      };
    default:
      throw new ConfigError(`--dataset: received ${JSON.stringify(kind)}; expected ucf101, hmdb51, k400, folder or list.`);
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

function printReport(io: CliIo, report: EvalReport, outDir: string): void {
  io.stdout(
    `${reportToMarkdown(report)}\nWritten: ${join(outDir, 'report.json')}, ${join(outDir, 'report.md')}, ${report.splits.map((s) => `confusion-split-${s.split}.svg`).join(', ')}\n`,
  );
}

/** Runs `lss-eval` with `argv` (without node and script). Returns the exit code. */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    io.stderr(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || !command) {
    io.stdout(USAGE);
    return command || values.help ? 0 : 2;
  }
  try {
    if (command === 'compare') {
      const files = positionals.slice(1);
      if (files.length < 1)
        throw new ConfigError('compare needs at least one report.json; e.g. lss-eval compare clip/report.json lss/report.json.');
      const names = values.names?.split(',').map((s) => s.trim());
      const md = compareReports(files.map(readReport), names);
      if (values.out) writeFileAtomic(values.out, md);
      io.stdout(md);
      return 0;
    }
    if (!['zero-shot', 'linear-probe', 'knn', 'classify', 'export-onnx'].includes(command)) {
      throw new ConfigError(
        `Unknown command ${JSON.stringify(command)}; expected zero-shot, linear-probe, knn, classify, compare or export-onnx.`,
      );
    }
    const backend = (values.backend ?? 'auto') as BackendName;
    if (!(BACKEND_NAMES as readonly string[]).includes(backend))
      throw new ConfigError(`--backend: received ${JSON.stringify(backend)}; expected one of ${BACKEND_NAMES.join(', ')}.`);
    if (tf.getBackend() !== backend) io.stderr(`lss-eval: ${describeBackend(await initBackend(backend))}\n`);
    const group = await joinProcessGroup(values, io);
    try {
      return await runCommand(command, values, positionals, group ? quietUnlessRankZero(io, group.rank) : io, group);
    } finally {
      group?.destroy();
    }
  } catch (error) {
    if (error instanceof LssError) {
      io.stderr(`lss-eval ${command}: ${error.name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** The process group when started by torchrun (or with --dist-url and RANK/WORLD_SIZE), else undefined. */
async function joinProcessGroup(values: Values, io: CliIo): Promise<ProcessGroup | undefined> {
  const rdv = rendezvousFromEnv(process.env, values['dist-url']);
  if (!rdv) return undefined;
  const timeoutS = num(values, 'dist-timeout', (v) => v > 0, 'a positive number of seconds') ?? 1800;
  const group = await ProcessGroup.init({ ...rdv, timeoutMs: timeoutS * 1000 });
  io.stderr(`lss-eval: rank ${group.rank} of ${group.worldSize} (${group.backend}, ${rdv.initMethod}), features sharded over ranks\n`);
  return group;
}

/** Ranks other than 0 print nothing on stdout (rank 0 reports); warnings still go to stderr with the rank. */
function quietUnlessRankZero(io: CliIo, rank: number): CliIo {
  return rank === 0 ? io : { stdout: () => undefined, stderr: (t) => io.stderr(`[rank ${rank}] ${t}`) };
}

async function runCommand(
  command: string,
  values: Values,
  positionals: readonly string[],
  io: CliIo,
  group: ProcessGroup | undefined,
): Promise<number> {
  {
    const role = values.role;
    if (role !== undefined && role !== 'teacher' && role !== 'student')
      throw new ConfigError(`--role: received ${JSON.stringify(role)}; expected teacher or student.`);
    const textEngine = values['text-engine'] ?? 'auto';
    if (!['auto', 'onnx', 'tfjs'].includes(textEngine))
      throw new ConfigError(`--text-engine: received ${JSON.stringify(textEngine)}; expected auto, onnx or tfjs.`);
    const model = need(values, 'model', 'a trainer checkpoint, a video-tower .safetensors or a CLIP folder');
    const engine = values.engine ?? 'tfjs';
    if (engine !== 'tfjs' && engine !== 'onnx')
      throw new ConfigError(`--engine: received ${JSON.stringify(engine)}; expected tfjs or onnx.`);
    const threads = num(values, 'threads', isPositiveInt, 'a positive integer');
    const frames = num(values, 'frames', isPositiveInt, 'a positive integer');
    const quantize = values.quantize;
    if (quantize !== undefined && quantize !== 'int8')
      throw new ConfigError(`--quantize: received ${JSON.stringify(quantize)}; expected int8.`);
    const modelOptions = {
      ...(role ? { role: role as 'teacher' | 'student' } : {}),
      ...(values['text-model'] ? { textModel: values['text-model'] } : {}),
      engine: engine as 'tfjs' | 'onnx',
      ...(threads ? { threads } : {}),
      ...(frames ? { frames } : {}),
      ...(values.cache ? { onnxCacheDir: join(values.cache, 'onnx') } : {}),
    };
    if (command === 'export-onnx') {
      const out = need(values, 'out', 'the folder to write the ONNX model into');
      const r = await exportOnnxModelFolder(model, out, { ...modelOptions, ...(quantize ? { quantize: 'int8' as const } : {}) });
      io.stdout(
        `Exported ${r.meta.source.label} -> ${r.dir}\n  video: ${r.meta.frames} frames x ${r.meta.imageSize} px -> ${r.meta.embedDim}-d, ${r.nodes} nodes, opset ${r.meta.opset}, quantize ${r.meta.quantize}${r.quantizedLinears ? ` (${r.quantizedLinears} int8 linear layers)` : ''}\n  text: ${r.meta.text.from}\n  files: ${r.files.map((f) => f.slice(r.dir.length + 1)).join(', ')}\n`,
      );
      return 0;
    }
    // Which decoder reads the videos (path, version, why chosen), as lss-data prints it.
    io.stderr(`lss-eval: ${describeFfmpeg(resolveFfmpeg(values.ffmpeg ? { ffmpegPath: values.ffmpeg } : {}))}\n`);
    const views = parseViews(values);
    const maxBadFraction = num(values, 'max-bad-fraction', (v) => v >= 0 && v <= 1, 'a fraction in [0, 1] such as 0.1');
    const common = {
      model,
      modelOptions,
      views,
      progress: !values.quiet && (group?.rank ?? 0) === 0,
      ...(group ? { shard: group } : {}),
      onWarning: (line: string) => io.stderr(`[lss-eval] ${line}\n`),
      ...(maxBadFraction !== undefined ? { maxBadFraction } : {}),
      ...(values['no-cache'] ? {} : { cacheDir: values.cache ?? '.lss-cache/features' }),
      ...(values.ffmpeg ? { ffmpegPath: values.ffmpeg } : {}),
    };
    const textOptions = {
      textEngine: textEngine as 'auto' | 'onnx' | 'tfjs',
      ...(values['text-model'] ? { textModel: values['text-model'] } : {}),
      ...(values.prompts ? { prompts: values.prompts } : {}),
    };
    if (command === 'classify') {
      const video = positionals[1];
      if (!video) throw new ConfigError('classify needs a video path: lss-eval classify video.mp4 --labels "a, b, c" --model DIR.');
      const labels = need(values, 'labels', 'comma-separated labels such as "archery, juggling balls"').split(',');
      const topK = num(values, 'top', isPositiveInt, 'a positive integer') ?? 5;
      const r = await classifyVideo(video, { ...common, ...textOptions, labels, topK });
      io.stdout(`${video} (${r.views.numClips}x${r.views.numCrops} views, ${r.promptSet.templates.length} prompt template(s)):\n`);
      r.predictions.forEach((p, i) => {
        io.stdout(
          `${String(i + 1).padStart(2)}. ${p.label.padEnd(32)} ${(100 * p.probability).toFixed(1).padStart(5)}%  (cosine ${p.cosine.toFixed(4)})\n`,
        );
      });
      return 0;
    }
    const dataset = parseDataset(values);
    // Rank 0 alone writes the report (every rank computes the same metrics from the gathered features).
    const outDir =
      (group?.rank ?? 0) !== 0
        ? undefined
        : (values.out ?? join('runs', 'eval', `${command}${values.transductive ? '-transductive' : ''}-${dataset.kind}-${timestamp()}`));
    let report: EvalReport;
    if (command === 'zero-shot') {
      const iterations = num(values, 'iterations', (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
      const step = num(values, 'step', (v) => v > 0 && v <= 1, 'a number in (0, 1]');
      report = await evaluateZeroShot({
        ...common,
        ...textOptions,
        dataset,
        outDir,
        rawClassNames: values['raw-class-names'] ?? false,
        transductive: values.transductive
          ? { ...(iterations !== undefined ? { maxIterations: iterations } : {}), ...(step !== undefined ? { step } : {}) }
          : false,
      });
    } else if (command === 'linear-probe') {
      const cGrid = values['c-grid']?.split(',').map((s) => Number(s.trim()));
      if (cGrid?.some((c) => !(c > 0) || !Number.isFinite(c)))
        throw new ConfigError(`--c-grid: received ${JSON.stringify(values['c-grid'])}; expected positive numbers such as 0.1,1,10.`);
      const heldOutFraction = num(values, 'held-out', (v) => v > 0 && v < 1, 'a fraction in (0, 1)');
      const seed = num(values, 'seed', Number.isInteger, 'an integer');
      const sgd = values.sgd
        ? {
            ...(num(values, 'epochs', isPositiveInt, 'a positive integer') !== undefined ? { epochs: Number(values.epochs) } : {}),
            ...(num(values, 'lr', (v) => v > 0, 'a positive number') !== undefined ? { baseLearningRate: Number(values.lr) } : {}),
            ...(num(values, 'batch-size', isPositiveInt, 'a positive integer') !== undefined
              ? { batchSize: Number(values['batch-size']) }
              : {}),
            ...(num(values, 'momentum', (v) => v >= 0 && v < 1, 'a number in [0, 1)') !== undefined
              ? { momentum: Number(values.momentum) }
              : {}),
            ...(num(values, 'weight-decay', (v) => v >= 0, 'a number ≥ 0') !== undefined
              ? { weightDecay: Number(values['weight-decay']) }
              : {}),
            ...(seed !== undefined ? { seed } : {}),
            normalize: values['no-normalize'] ? ('none' as const) : ('l2' as const),
          }
        : false;
      report = await evaluateLinearProbe({
        ...common,
        dataset,
        outDir,
        sgd,
        probe: {
          ...(cGrid ? { cGrid } : {}),
          ...(heldOutFraction !== undefined ? { heldOutFraction } : {}),
          ...(seed !== undefined ? { seed } : {}),
          normalize: values['no-normalize'] ? 'none' : 'l2',
        },
        ...(values.export ? { exportDir: values.export } : {}),
      });
    } else {
      const k = num(values, 'k', isPositiveInt, 'a positive integer');
      const temperature = num(values, 'temperature', (v) => v > 0, 'a positive number');
      report = await evaluateKnn({
        ...common,
        dataset,
        outDir,
        ...(k !== undefined ? { k } : {}),
        ...(temperature !== undefined ? { temperature } : {}),
      });
    }
    if (outDir) printReport(io, report, outDir);
    return 0;
  }
}
