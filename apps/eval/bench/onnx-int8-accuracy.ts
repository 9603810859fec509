/**
 * Accuracy of `--quantize int8` on the demo world: `lss-eval --engine onnx` zero-shot and linear probe on the
 * three test splits of the synthetic action world (`@lss/data` `generateActionWorld`, seed 0: the world of
 * `pnpm demo`, 12 actions x 6 groups x 2 clips, 48 px, 16 frames), with each model exported to ONNX fp32 and int8
 * (`lss-eval export-onnx`), and the tfjs engine as the reference of the fp32 export. Reports per split and as
 * mean ± sample std: top-1 of each engine, the int8 - fp32 change, the agreement of the top-1 predictions video by
 * video (`predictionAgreement`), the cosine between fp32 and int8 test-video features, and chance.
 *
 * Views as the demo: 1 clip x 1 crop of `--frames` (default 4) frames at the model's size; zero-shot prompt
 * "a photo of a person {}." (the demo's); the text classifier is the fp32 export's ONNX text tower for every
 * engine (the text tower is not quantised), so only the video engine differs between the rows.
 *
 * Usage (from apps/eval):
 *   nice -n 15 npx tsx --conditions=@lss/source bench/onnx-int8-accuracy.ts \
 *     [--model PATH]... (default ../trainer/models/clip-world-tiny; a CLIP folder or an LSS checkpoint; a path with
 *       `{split}` names one model per split, e.g. runs/demo/train-split{split}/checkpoints, each tested on its split)
 *     [--world DIR] (default .lss-cache/action-world-seed0; generated when absent, without stills)
 *     [--frames 4] [--threads 2] [--out runs/onnx-int8-accuracy] [--no-tfjs]
 * Writes <out>/summary.md and <out>/summary.json, and the lss-eval reports under <out>/<model>/<engine>/<protocol>.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '@lss/core';
import { generateActionWorld, readActionWorldManifest } from '@lss/data/node';
import { ucf101EvalArgs } from '@lss/testing';
import { type PredictionAgreement, predictionAgreement } from '../src/agreement.js';
import { runCli } from '../src/cli.js';
import { formatMeanStd } from '../src/metrics.js';
import { readNpy } from '../src/npy.js';
import { type ExportOnnxResult, exportOnnxModelFolder } from '../src/onnx-model.js';
import { type EvalReport, makeReport } from '../src/report.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', multiple: true },
    world: { type: 'string' },
    frames: { type: 'string' },
    threads: { type: 'string' },
    out: { type: 'string' },
    'no-tfjs': { type: 'boolean' },
  },
});
const models = (values.model ?? [join(import.meta.dirname, '..', '..', 'trainer', 'models', 'clip-world-tiny')]).map((m) => resolve(m));
const worldDir = resolve(values.world ?? '.lss-cache/action-world-seed0');
const frames = Number(values.frames ?? 4);
const threads = Number(values.threads ?? 2);
const outRoot = resolve(values.out ?? 'runs/onnx-int8-accuracy');
const say = (line: string) => process.stderr.write(`${line}\n`);
const load = () => loadavg()[0]?.toFixed(1);
const PROMPTS = ['a photo of a person {}.'];
const PROTOCOLS = ['linear-probe', 'zero-shot'] as const; // the probe first: it embeds every video (train and test)
type Protocol = (typeof PROTOCOLS)[number];

mkdirSync(outRoot, { recursive: true });
await initBackend('wasm');
const startLoad = load();
if (!existsSync(join(worldDir, 'world.json'))) {
  say(`generating the action world (seed 0, the demo's videos; no stills) in ${worldDir} ...`);
  await generateActionWorld({ dir: worldDir, seed: 0, stillsPerClass: 0, heldOutStillsPerClass: 0 });
}
const world = readActionWorldManifest(worldDir);
const worldFolders = { videosDir: join(worldDir, 'UCF-101'), annotationsDir: join(worldDir, 'ucfTrainTestlist') };
say(`world ${worldDir}: seed ${world.seed}, ${world.actions.length} actions, ${world.videos.length} videos`);
const promptsFile = join(outRoot, 'prompts.json');
writeFileSync(promptsFile, JSON.stringify(PROMPTS));

async function cli(args: string[]): Promise<{ seconds: number }> {
  let err = '';
  const t0 = performance.now();
  const code = await runCli([...args, '--quiet', '--backend', 'wasm'], {
    stdout: () => {},
    stderr: (t) => {
      err += t;
    },
  });
  if (code !== 0) throw new Error(`lss-eval ${args.join(' ')} exited with ${code}:\n${err}`);
  return { seconds: (performance.now() - t0) / 1000 };
}

interface EngineRun {
  readonly engine: string;
  readonly reports: Record<Protocol, EvalReport>;
  readonly seconds: Record<Protocol, number>;
  readonly exportDir: string;
}

/** Cosines between the fp32 and int8 features of every test video (the probe's exported, L2-normalised rows). */
function featureCosines(a: string, b: string, splits: readonly string[]): number[] {
  const cos: number[] = [];
  for (const s of splits) {
    const fa = readNpy(join(a, `split-${s}`, 'test_features.npy'));
    const fb = readNpy(join(b, `split-${s}`, 'test_features.npy'));
    const [n, d] = fa.shape as [number, number];
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += Number(fa.data[i * d + j]) * Number(fb.data[i * d + j]);
      cos.push(dot);
    }
  }
  return cos;
}

/** One model exported to fp32 and int8 and evaluated with every engine (on one split, or all three). */
interface ModelRun {
  readonly fp32: ExportOnnxResult;
  readonly int8: ExportOnnxResult;
  readonly runs: EngineRun[];
  readonly cosines: number[];
}

async function runModel(model: string, dir: string, name: string, split?: string): Promise<ModelRun> {
  say(`${name}: exporting ${model} to ONNX fp32 and int8 (${frames} frames) ...`);
  const fp32 = await exportOnnxModelFolder(model, join(dir, 'onnx-fp32'), { frames });
  const int8 = await exportOnnxModelFolder(model, join(dir, 'onnx-int8'), { frames, quantize: 'int8' });
  const engines: [string, string[]][] = [
    ...(values['no-tfjs'] ? [] : [['tfjs', ['--model', model, '--engine', 'tfjs']] as [string, string[]]]),
    ['ONNX fp32', ['--model', fp32.dir, '--engine', 'onnx', '--threads', String(threads)]],
    ['ONNX int8', ['--model', int8.dir, '--engine', 'onnx', '--threads', String(threads)]],
  ];
  const runs: EngineRun[] = [];
  for (const [engine, args] of engines) {
    const slug = engine.replace(/\W+/g, '-').toLowerCase();
    const reports = {} as Record<Protocol, EvalReport>;
    const seconds = {} as Record<Protocol, number>;
    for (const protocol of PROTOCOLS) {
      const out = join(dir, slug, protocol);
      say(`${name}: ${engine} ${protocol}${split ? ` (split ${split})` : ''} (load ${load()}) ...`);
      const r = await cli([
        protocol,
        ...args,
        ...ucf101EvalArgs(worldFolders, { frames, size: null, ...(split ? { splits: split } : {}) }),
        // Every engine classifies with the same text embeddings: the fp32 export's (fp32) ONNX text tower.
        '--text-model',
        fp32.dir,
        '--text-engine',
        'onnx',
        '--cache',
        join(dir, 'cache'),
        '--out',
        out,
        ...(protocol === 'zero-shot' ? ['--prompts', promptsFile] : ['--export', join(dir, slug, 'features')]),
      ]);
      seconds[protocol] = r.seconds;
      reports[protocol] = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as EvalReport;
    }
    runs.push({ engine, reports, seconds, exportDir: join(dir, slug, 'features') });
  }
  const [f32, i8] = runs.slice(-2) as [EngineRun, EngineRun];
  const cosines = featureCosines(
    f32.exportDir,
    i8.exportDir,
    f32.reports['zero-shot'].splits.map((s) => s.split),
  );
  return { fp32, int8, runs, cosines };
}

/** One report over the three splits from single-split reports of one protocol (one model per split, as `pnpm demo`). */
function mergeSplits(reports: readonly EvalReport[]): EvalReport {
  const first = reports[0] as EvalReport;
  return makeReport({
    protocol: first.protocol,
    dataset: first.dataset,
    model: { ...first.model, path: reports.map((r) => r.model.path).join(' | ') },
    settings: { ...first.settings, note: 'one model per split' },
    ...(first.promptSet ? { promptSet: first.promptSet } : {}),
    splits: reports.flatMap((r) => r.splits),
  });
}

const pct = (x: number) => x.toFixed(1);
const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
const md: string[] = [];
const summary: unknown[] = [];
for (const model of models) {
  // `{split}` in the path: one model per split (the demo trains LSS on each split's training videos), each evaluated
  // on its own split only; the three single-split reports are then put together.
  const perSplit = model.includes('{split}');
  const name = basename(perSplit ? model.replace('{split}', '') : model) || 'model';
  const dir = join(outRoot, name);
  const parts: ModelRun[] = [];
  if (perSplit)
    for (const s of ['1', '2', '3']) parts.push(await runModel(model.replaceAll('{split}', s), join(dir, `split-${s}`), name, s));
  else parts.push(await runModel(model, dir, name));
  const { fp32, int8 } = parts[0] as ModelRun;
  const runs: EngineRun[] = (parts[0] as ModelRun).runs.map((r, e) => ({
    ...r,
    reports: Object.fromEntries(
      PROTOCOLS.map((p) => [p, perSplit ? mergeSplits(parts.map((x) => (x.runs[e] as EngineRun).reports[p])) : r.reports[p]]),
    ) as Record<Protocol, EvalReport>,
    seconds: Object.fromEntries(PROTOCOLS.map((p) => [p, parts.reduce((t, x) => t + (x.runs[e] as EngineRun).seconds[p], 0)])) as Record<
      Protocol,
      number
    >,
  }));
  const [f32, i8] = runs.slice(-2) as [EngineRun, EngineRun];
  const tfjs = values['no-tfjs'] ? undefined : runs[0];
  const all = parts.flatMap((x) => x.cosines);
  const cos = { mean: all.reduce((x, y) => x + y, 0) / all.length, min: Math.min(...all), n: all.length };
  const size = (d: string) => readFileSync(join(d, 'onnx', 'video_model.onnx')).length;
  md.push(
    `### ${fp32.meta.source.label}${perSplit ? ' (one model per split, each tested on its own split)' : ''}`,
    '',
    `${model}. ONNX video tower fp32 ${(size(fp32.dir) / 1e6).toFixed(2)} MB, int8 ${(size(int8.dir) / 1e6).toFixed(2)} MB (${int8.quantizedLinears} int8 linear layers); ${frames} frames x ${fp32.meta.imageSize} px; ${world.actions.length} classes (chance ${pct(100 / world.actions.length)} %).`,
    `int8 vs fp32 video features of the ${cos.n} test videos: cosine mean ${cos.mean.toFixed(5)}, min ${cos.min.toFixed(5)}.`,
    '',
    '| protocol | split | test videos | tfjs top-1 % | ONNX fp32 top-1 % | ONNX int8 top-1 % | int8 − fp32 | top-1 agreement int8 / fp32 % | top-1 agreement fp32 / tfjs % |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  const entry: Record<string, unknown> = {
    model,
    label: fp32.meta.source.label,
    frames,
    threads,
    sizes: { fp32: size(fp32.dir), int8: size(int8.dir) },
    quantizedLinears: int8.quantizedLinears,
    featureCosine: cos,
    seconds: Object.fromEntries(runs.map((r) => [r.engine, r.seconds])),
  };
  for (const protocol of PROTOCOLS) {
    const q: PredictionAgreement = predictionAgreement(f32.reports[protocol], i8.reports[protocol]);
    const t: PredictionAgreement | undefined = tfjs ? predictionAgreement(tfjs.reports[protocol], f32.reports[protocol]) : undefined;
    q.splits.forEach((s, i) => {
      md.push(
        `| ${protocol} | ${s.split} | ${s.numTest} | ${t ? pct(t.splits[i]?.referenceTop1 as number) : '–'} | ${pct(s.referenceTop1)} | ${pct(s.candidateTop1)} | ${signed(s.deltaTop1)} | ${pct(s.agreement)} | ${t ? pct(t.splits[i]?.agreement as number) : '–'} |`,
      );
    });
    md.push(
      `| **${protocol}** | **mean ± std** | | ${t ? formatMeanStd(t.referenceTop1) : '–'} | ${formatMeanStd(q.referenceTop1)} | ${formatMeanStd(q.candidateTop1)} | ${signed(q.deltaTop1.mean)} ± ${q.deltaTop1.std.toFixed(1)} | ${formatMeanStd(q.agreement)} | ${t ? formatMeanStd(t.agreement) : '–'} |`,
    );
    entry[protocol] = { int8VsFp32: q, fp32VsTfjs: t ?? null };
  }
  md.push(
    '',
    `Wall time of each lss-eval call, s (decoding included; ${PROTOCOLS.join(' / ')}): ${runs.map((r) => `${r.engine} ${PROTOCOLS.map((p) => r.seconds[p].toFixed(1)).join(' / ')}`).join('; ')}.`,
    '',
  );
  summary.push(entry);
}
const header = [
  `# int8 accuracy on the demo world (${new Date().toISOString()})`,
  '',
  `World ${worldDir} (seed ${world.seed}, ${world.videos.length} videos, three splits by group); views 1 clip x 1 crop of ${frames} frames; zero-shot prompt ${JSON.stringify(PROMPTS[0])}; linear probe: lss-eval's L-BFGS logistic regression, C chosen on held-out training videos.`,
  `Mean ± sample std (n − 1) over the three splits. Machine: ${cpus().length} cores, load average ${startLoad} at start, ${load()} at end.`,
  '',
];
const text = [...header, ...md].join('\n');
writeFileSync(join(outRoot, 'summary.md'), `${text}\n`);
writeFileSync(
  join(outRoot, 'summary.json'),
  `${JSON.stringify({ world: { dir: worldDir, seed: world.seed }, frames, results: summary }, null, 2)}\n`,
);
process.stdout.write(`${text}\n`);
say(`written: ${join(outRoot, 'summary.md')}, ${join(outRoot, 'summary.json')}`);
