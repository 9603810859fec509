/**
 * End to end: every lss-eval command on a generated synthetic dataset (3 classes × 3 videos, 64×48,
 * UCF-101 layout, three splits) with the tiny CLIP of fixtures/clip-tiny, through the real CLI.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClip } from '@lss/backbone';
import { generateSyntheticDataset, type SyntheticDataset } from '@lss/data/node';
import { CLIP_TINY_DIR, TINY_SYNTHETIC_DATASET, ucf101EvalArgs, writeTrainerCheckpoint } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';
import { evaluateKnn, ffmpegViewLoader } from './evaluate.js';
import type { EvalReport } from './report.js';

let dir = '';
let synth: SyntheticDataset;
let checkpointDir = '';

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli([...args, '--backend', 'cpu', '--quiet'], {
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
  });
  return { code, out, err };
}

function readJson(path: string): EvalReport {
  return JSON.parse(readFileSync(path, 'utf8')) as EvalReport;
}

function checkReport(outDir: string, protocol: string, numSplits: number): EvalReport {
  const report = readJson(join(outDir, 'report.json'));
  expect(report.protocol).toBe(protocol);
  expect(report.splits).toHaveLength(numSplits);
  for (const s of report.splits) {
    expect(s.numTest).toBe(3);
    expect(s.top1).toBeGreaterThanOrEqual(0);
    expect(s.top1).toBeLessThanOrEqual(100);
    expect(s.top5).toBe(100); // 3 classes: top-5 always hits
    expect(s.confusion.flat().reduce((a, b) => a + b, 0)).toBe(3);
    expect(existsSync(join(outDir, `confusion-split-${s.split}.svg`))).toBe(true);
  }
  expect(report.summary.top1.numSplits).toBe(numSplits);
  const md = readFileSync(join(outDir, 'report.md'), 'utf8');
  expect(md).toContain('mean ± std');
  return report;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lss-eval-cli-'));
  synth = await generateSyntheticDataset({ dir: join(dir, 'synth'), ...TINY_SYNTHETIC_DATASET, seed: 1 });
  // A checkpoint in apps/trainer's format (step-*.safetensors with student/ and teacher/ roots + JSON
  // sidecar with the backbone config), made from clip-tiny's CLIP-initialised video tower.
  const clip = await loadClip(CLIP_TINY_DIR, { video: true, numFrames: 4, root: 'fixture' });
  try {
    checkpointDir = writeTrainerCheckpoint(clip.vision, join(dir, 'run', 'checkpoints'), { clip: CLIP_TINY_DIR, step: 2 });
  } finally {
    clip.dispose();
  }
}, 300_000);

afterAll(() => {
  tf.disposeVariables();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const dataset = () => ['--dataset', 'ucf101', '--videos', synth.videosDir, '--annotations', synth.annotationsDir];
const views = ['--views', '1x1', '--frames', '4', '--size', '32'];
const cache = () => ['--cache', join(dir, 'cache')];

describe('lss-eval on the synthetic dataset with clip-tiny', () => {
  it('zero-shot, frozen CLIP baseline: a report per split, mean ± std and the prompt set', async () => {
    const out = join(dir, 'zs-clip');
    const r = await cli(['zero-shot', '--model', CLIP_TINY_DIR, ...ucf101EvalArgs(synth), ...cache(), '--out', out]);
    expect(r.code, r.err).toBe(0);
    const report = checkReport(out, 'zero-shot', 3);
    expect(report.model.kind).toBe('clip');
    expect(report.promptSet?.templates).toEqual(['{}', 'a video of a person {}.']);
    expect(report.settings.textEngine).toBe('onnx');
    // The report records how test views were made: sampler, clips x crops, resize, crop fraction, interpolation, normalisation.
    expect(report.settings.testProtocol).toMatch(
      /^uniform sampler, \d+ clip\(s\) x \d+ crop\(s\) of \d+ frames, short side \d+ \(bicubic\), crop \d+ \(fraction 1\), CLIP mean\/std$/,
    );
    expect(r.out).toContain('| **mean ± std (3 splits)** |');
    // Every split's 3 test videos were embedded once and cached: 9 videos in the cache.
    const cacheDirs = readdirSync(join(dir, 'cache'));
    expect(cacheDirs).toHaveLength(1);
  });

  it('peer protocol flags (--crop-fraction, --normalization, --sampler) reach the views and the report', async () => {
    const out = join(dir, 'zs-peer');
    const peerCache = join(dir, 'cache-peer');
    const peer = ['--crop-fraction', '0.875', '--normalization', 'imagenet', '--sampler', 'svt'];
    const r = await cli([
      'zero-shot',
      '--model',
      CLIP_TINY_DIR,
      ...ucf101EvalArgs(synth, { splits: '1' }),
      ...peer,
      '--cache',
      peerCache,
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const report = readJson(join(out, 'report.json'));
    // size 32 / 0.875 -> short side floor(36.57) = 36, then a 32 crop; SVT's one clip; ImageNet mean/std.
    expect(report.settings.testProtocol).toBe(
      'SVT sampler (32 apart at 30 fps from the start), 1 clip(s) x 1 crop(s) of 4 frames, short side 36 (bicubic), crop 32 (fraction 0.875), ImageNet mean/std',
    );
    expect(report.settings.testProtocolFields).toEqual({
      sampler: 'svt',
      numClips: 1,
      numCrops: 1,
      numFrames: 4,
      resizeShortSide: 36,
      cropSize: 32,
      cropFraction: 0.875,
      interpolation: 'bicubic',
      normalization: 'imagenet',
    });
    // The same videos with CLIP's protocol give other features: a second cache entry, not a cache hit.
    const clipRun = await cli([
      'zero-shot',
      '--model',
      CLIP_TINY_DIR,
      ...ucf101EvalArgs(synth, { splits: '1' }),
      '--cache',
      peerCache,
      '--out',
      join(dir, 'zs-peer-clip'),
    ]);
    expect(clipRun.code, clipRun.err).toBe(0);
    expect(readdirSync(peerCache)).toHaveLength(2);
    const bad = await cli(['zero-shot', '--model', CLIP_TINY_DIR, ...dataset(), '--views', '4x3', '--sampler', 'svt']);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('--sampler svt takes one clip per video');
    const badNorm = await cli(['zero-shot', '--model', CLIP_TINY_DIR, ...dataset(), '--normalization', 'kinetics']);
    expect(badNorm.err).toContain('--normalization: received "kinetics"; expected clip or imagenet.');
  });

  it('zero-shot --transductive with a trainer checkpoint reports its iterations', async () => {
    const out = join(dir, 'zs-ckpt');
    const r = await cli([
      'zero-shot',
      '--transductive',
      '--iterations',
      '3',
      '--model',
      checkpointDir,
      ...ucf101EvalArgs(synth),
      ...cache(),
      '--out',
      out,
      '--prompts',
      'kinetics700',
      '--text-engine',
      'tfjs',
    ]);
    expect(r.code, r.err).toBe(0);
    const report = checkReport(out, 'zero-shot-transductive', 3);
    expect(report.model.kind).toBe('checkpoint');
    expect(report.model.label).toContain('(teacher)');
    expect(report.settings.transductiveMaxIterations).toBe(3);
    expect(report.settings.textEngine).toBe('tfjs');
    expect(report.promptSet?.templates.length).toBe(28);
    for (const s of report.splits) {
      expect(s.details?.transductiveIterations).toBeGreaterThanOrEqual(1);
      expect(s.details?.transductiveIterations).toBeLessThanOrEqual(3);
    }
  });

  it('linear-probe writes a report and features scikit-learn can read', async () => {
    const out = join(dir, 'lp');
    const exportDir = join(dir, 'lp-export');
    const r = await cli([
      'linear-probe',
      '--model',
      checkpointDir,
      ...ucf101EvalArgs(synth),
      ...cache(),
      '--out',
      out,
      '--export',
      exportDir,
      '--splits',
      '1,2',
      '--c-grid',
      '100',
    ]);
    expect(r.code, r.err).toBe(0);
    const report = checkReport(out, 'linear-probe', 2);
    expect(report.splits[0]?.numTrain).toBe(6);
    expect(report.splits[0]?.details?.chosenC).toBe(100);
    expect(readdirSync(join(exportDir, 'split-1')).sort()).toEqual([
      'meta.json',
      'test_features.npy',
      'test_labels.npy',
      'train_features.npy',
      'train_labels.npy',
    ]);
    const hasSklearn = spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;
    if (hasSklearn) {
      const script = fileURLToPath(new URL('../scripts/sklearn_probe.py', import.meta.url));
      const sk = spawnSync('/usr/bin/python3', [script, join(exportDir, 'split-1'), String(report.splits[0]?.details?.chosenC)], {
        encoding: 'utf8',
      });
      expect(sk.status, sk.stderr).toBe(0);
      // Same features, same C: the same predictions (3 test videos, so any disagreement is 33 points).
      expect((JSON.parse(sk.stdout) as { top1: number }).top1).toBeCloseTo(report.splits[0]?.top1 as number, 6);
    }
  });

  it('linear-probe --sgd and knn write reports', async () => {
    const sgdOut = join(dir, 'sgd');
    const s = await cli([
      'linear-probe',
      '--sgd',
      '--epochs',
      '5',
      '--batch-size',
      '4',
      '--model',
      CLIP_TINY_DIR,
      ...ucf101EvalArgs(synth),
      ...cache(),
      '--out',
      sgdOut,
    ]);
    expect(s.code, s.err).toBe(0);
    expect(checkReport(sgdOut, 'linear-probe-sgd', 3).settings.epochs).toBe(5);
    const knnOut = join(dir, 'knn');
    const k = await cli(['knn', '--model', CLIP_TINY_DIR, ...ucf101EvalArgs(synth), ...cache(), '--out', knnOut]);
    expect(k.code, k.err).toBe(0);
    const report = checkReport(knnOut, 'knn', 3);
    expect(report.settings.k).toBe(20);
    expect(report.settings.temperature).toBe(0.07);
    expect(report.splits[0]?.details?.effectiveK).toBe(6);
  });

  it('knn on a list-file dataset (one split)', async () => {
    const lines = (subset: 'train' | 'test') =>
      readFileSync(join(synth.annotationsDir, `${subset}list01.txt`), 'utf8')
        .split(/\r?\n/)
        .filter((l) => l.trim())
        .map((l) => {
          const path = l.split(' ')[0] as string;
          return `${path} ${synth.classNames.indexOf(path.split('/')[0] as string)}`;
        });
    writeFileSync(join(dir, 'train.txt'), `${lines('train').join('\n')}\n`);
    writeFileSync(join(dir, 'test.txt'), `${lines('test').join('\n')}\n`);
    const out = join(dir, 'knn-list');
    const r = await cli([
      'knn',
      '--model',
      CLIP_TINY_DIR,
      '--dataset',
      'list',
      '--train-list',
      join(dir, 'train.txt'),
      '--test-list',
      join(dir, 'test.txt'),
      '--root',
      synth.videosDir,
      ...views,
      ...cache(),
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(checkReport(out, 'knn', 1).splits[0]?.split).toBe('all');
  });

  it('hmdb51 and k400 layouts over the same videos', async () => {
    // HMDB-51: <class>_test_split<s>.txt with `<video> <1|2>`; videos under <videos>/<class>/.
    const splitsDir = join(dir, 'hmdb-splits');
    mkdirSync(splitsDir, { recursive: true });
    const k400Dir = join(dir, 'k400');
    mkdirSync(k400Dir, { recursive: true });
    const csv = { train: ['label,youtube_id,time_start,time_end,split'], val: ['label,youtube_id,time_start,time_end,split'] };
    for (const className of synth.classNames) {
      const files = synth.files.filter((f) => f.includes(`/${className}/`)).map((f) => f.slice(f.lastIndexOf('/') + 1));
      for (const s of [1, 2, 3]) {
        const lines = files.map((f, g) => `${f} ${g % 3 === s - 1 ? 2 : 1}`);
        writeFileSync(join(splitsDir, `${className}_test_split${s}.txt`), `${lines.join('\n')}\n`);
      }
      files.forEach((f, g) => {
        const id = `yt${className}${g}`;
        copyFileSync(join(synth.videosDir, className, f), join(k400Dir, `${id}.avi`));
        (g === 0 ? csv.val : csv.train).push(`${className},${id},0,10,${g === 0 ? 'val' : 'train'}`);
      });
    }
    const hmdbOut = join(dir, 'zs-hmdb');
    const h = await cli([
      'zero-shot',
      '--model',
      CLIP_TINY_DIR,
      '--dataset',
      'hmdb51',
      '--videos',
      synth.videosDir,
      '--splits-dir',
      splitsDir,
      ...views,
      ...cache(),
      '--out',
      hmdbOut,
    ]);
    expect(h.code, h.err).toBe(0);
    expect(checkReport(hmdbOut, 'zero-shot', 3).dataset.name).toBe('hmdb51');
    writeFileSync(join(dir, 'k400-train.csv'), `${csv.train.join('\n')}\n`);
    writeFileSync(join(dir, 'k400-val.csv'), `${csv.val.join('\n')}\n`);
    const kOut = join(dir, 'knn-k400');
    const k = await cli([
      'knn',
      '--model',
      CLIP_TINY_DIR,
      '--dataset',
      'k400',
      '--videos',
      k400Dir,
      '--train-csv',
      join(dir, 'k400-train.csv'),
      '--val-csv',
      join(dir, 'k400-val.csv'),
      ...views,
      ...cache(),
      '--out',
      kOut,
    ]);
    expect(k.code, k.err).toBe(0);
    const report = checkReport(kOut, 'knn', 1);
    expect(report.splits[0]?.split).toBe('val');
    expect(report.splits[0]?.numTrain).toBe(6);
    expect(report.summary.top1.std).toBe(0);
  });

  it('classify prints the top-5 labels with scores', async () => {
    const video = synth.files[0] as string;
    const r = await cli([
      'classify',
      video,
      '--labels',
      'archery, juggling balls, move left, rotate, grow, bounce',
      '--model',
      CLIP_TINY_DIR,
      ...views,
    ]);
    expect(r.code, r.err).toBe(0);
    const rows = r.out.split('\n').filter((l) => /^\s*\d\. /.test(l));
    expect(rows).toHaveLength(5);
    const probs = rows.map((l) => Number(/([\d.]+)%/.exec(l)?.[1]));
    expect([...probs].sort((a, b) => b - a)).toEqual(probs);
  });

  it('compare puts the reports side by side', async () => {
    const out = join(dir, 'compare.md');
    const r = await cli([
      'compare',
      join(dir, 'zs-clip', 'report.json'),
      join(dir, 'knn', 'report.json'),
      '--names',
      'frozen CLIP,kNN',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('| frozen CLIP |');
    expect(r.out).toContain('| kNN |');
    expect(readFileSync(out, 'utf8')).toBe(r.out);
  });

  it('skips unreadable videos of several kinds, lists them in the report, and computes the metrics on the rest', async () => {
    // 9 readable videos (one of them an AVI named .mp4) and 5 broken ones of different kinds in the test list;
    // one broken video in the train list.
    const bad = join(dir, 'broken');
    mkdirSync(bad, { recursive: true });
    const first = synth.files[0] as string;
    const bytes = readFileSync(first);
    copyFileSync(fileURLToPath(new URL('./__fixtures__/no_moov.mp4', import.meta.url)), join(bad, 'no_moov.mp4'));
    writeFileSync(join(bad, 'truncated.avi'), bytes.subarray(0, Math.floor(bytes.length * 0.75)));
    writeFileSync(join(bad, 'empty.mp4'), new Uint8Array(0));
    writeFileSync(
      join(bad, 'garbage.avi'),
      Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251),
    );
    writeFileSync(join(bad, 'notes.mp4'), 'not a video, only a text file named like one\n');
    copyFileSync(first, join(bad, 'avi_named.mp4')); // readable: the container is probed, not guessed from the name
    const brokenNames = ['no_moov.mp4', 'truncated.avi', 'empty.mp4', 'garbage.avi', 'notes.mp4'];
    const label = (f: string) => synth.classNames.findIndex((c) => f.includes(`/${c}/`));
    const testLines = [
      ...synth.files.slice(1).map((f) => `${f} ${label(f)}`),
      `${join(bad, 'avi_named.mp4')} ${label(first)}`,
      ...brokenNames.map((n, i) => `${join(bad, n)} ${i % 3}`),
    ];
    writeFileSync(join(dir, 'broken-test.txt'), `${testLines.join('\n')}\n`);
    writeFileSync(
      join(dir, 'broken-train.txt'),
      `${[...synth.files.map((f) => `${f} ${label(f)}`), `${join(bad, 'no_moov.mp4')} 0`].join('\n')}\n`,
    );
    const args = (out: string) => [
      'knn',
      '--model',
      CLIP_TINY_DIR,
      '--dataset',
      'list',
      '--train-list',
      join(dir, 'broken-train.txt'),
      '--test-list',
      join(dir, 'broken-test.txt'),
      ...views,
      ...cache(),
      '--out',
      out,
    ];
    // 5 of 14 test videos unreadable: more than the default 10 %, the run stops and lists them.
    const stopped = await cli(args(join(dir, 'broken-default')));
    expect(stopped.code).toBe(1);
    expect(stopped.err).toMatch(
      /DataError: \d+ of 10 videos of split all train could not be read|DataError: \d+ of 14 videos of split all test/,
    );
    expect(stopped.err).not.toMatch(/\n\s+at /); // no stack trace
    // Allowed up to 40 %: the run finishes, every broken file is listed with its reason.
    const out = join(dir, 'broken-40');
    const r = await cli([...args(out), '--max-bad-fraction', '0.4']);
    expect(r.code, r.err).toBe(0);
    const report = readJson(join(out, 'report.json'));
    const split = report.splits[0] as NonNullable<(typeof report.splits)[0]>;
    expect([split.numTrain, split.numTrainSkipped, split.numTest, split.numTestSkipped]).toEqual([9, 1, 9, 5]);
    expect(split.confusion.flat().reduce((a, b) => a + b, 0)).toBe(9);
    const skipped = split.skipped ?? [];
    expect(skipped.map((s) => `${s.subset} ${s.path.slice(bad.length + 1)}`).sort()).toEqual(
      ['train no_moov.mp4', ...brokenNames.map((n) => `test ${n}`)].sort(),
    );
    const reason = (name: string) => skipped.find((s) => s.subset === 'test' && s.path.endsWith(name))?.reason ?? '';
    expect(reason('no_moov.mp4')).toContain('moov atom not found');
    expect(reason('truncated.avi')).toContain('truncated');
    expect(reason('empty.mp4')).toContain('0 bytes');
    expect(reason('notes.mp4')).toContain('corrupt, truncated or not a video');
    expect(report.settings.maxBadFraction).toBe(0.4);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain('| all | 9 (1 skipped) | 9 (5 skipped) |');
    expect(md).toContain('## Skipped videos (6)');
    expect(md).toContain(`- split all test: \`${join(bad, 'garbage.avi')}\``);
    expect(r.err).toContain(`[lss-eval] split all test: skipping ${join(bad, 'empty.mp4')}: Empty video file (0 bytes)`);
  });

  it('a video that disappears during the run is skipped and reported', async () => {
    const vanishing = join(dir, 'vanishing.avi');
    copyFileSync(synth.files[0] as string, vanishing);
    const testList = join(dir, 'vanish-test.txt');
    const label = (f: string) => synth.classNames.findIndex((c) => f.includes(`/${c}/`));
    writeFileSync(
      testList,
      `${[...synth.files.slice(1).map((f) => `${f} ${label(f)}`), `${vanishing} ${label(synth.files[0] as string)}`].join('\n')}\n`,
    );
    const load = ffmpegViewLoader();
    let calls = 0;
    const warnings: string[] = [];
    const report = await evaluateKnn({
      model: CLIP_TINY_DIR,
      dataset: { kind: 'list', testList, trainList: testList },
      views: { numClips: 1, numCrops: 1, numFrames: 4, size: 32 },
      progress: false,
      cacheDir: join(dir, 'cache'), // the readable videos are cached by the tests above
      maxBadFraction: 0.2,
      onWarning: (line) => warnings.push(line),
      // The dataset was read with the file present; it goes away once extraction has started.
      loadViews: async (sample, v) => {
        if (calls++ === 0) rmSync(vanishing);
        return load(sample, v);
      },
    });
    const split = report.splits[0] as NonNullable<(typeof report.splits)[0]>;
    expect([split.numTrain, split.numTest, split.numTrainSkipped, split.numTestSkipped]).toEqual([8, 8, 1, 1]);
    expect(split.skipped?.map((s) => [s.subset, s.path, s.reason.split('. ')[0]])).toEqual([
      ['train', vanishing, `Video not found: ${vanishing}`],
      ['test', vanishing, `Video not found: ${vanishing}`],
    ]);
    expect(warnings.some((w) => w.includes(`skipping ${vanishing}`))).toBe(true);
  });

  it('classify on an unreadable video fails with a clear error, not a stack trace', async () => {
    const noMoov = fileURLToPath(new URL('./__fixtures__/no_moov.mp4', import.meta.url));
    const r = await cli(['classify', noMoov, '--labels', 'archery, juggling balls', '--model', CLIP_TINY_DIR, ...views]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`lss-eval classify: DataError: Cannot classify ${noMoov}: the video cannot be read`);
    expect(r.err).toContain('moov atom not found');
    expect(r.err).toContain('Pass a readable video file');
    expect(r.err).not.toMatch(/\n\s+at /);
    // ffmpeg's context addresses ("[mov,mp4,... @ 0x55...]") are stripped: the same file gives the same reason every run.
    expect(r.err).not.toMatch(/@ (0x)?[0-9a-f]{6,}/i);
    // Which ffmpeg read the video: path, version and why it was chosen.
    expect(r.err).toMatch(/^lss-eval: ffmpeg: \S+, version \S+ \((the bundled|from LSS_FFMPEG|the first ffmpeg on PATH)/m);
    const missing = await cli(['classify', join(dir, 'nope.mp4'), '--labels', 'a, b', '--model', CLIP_TINY_DIR, ...views]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('Video not found');
  });

  it('fails with a clear message on a missing dataset flag or model', async () => {
    const a = await cli(['zero-shot', '--model', CLIP_TINY_DIR, '--dataset', 'ucf101', '--videos', '/nope']);
    expect(a.code).toBe(1);
    expect(a.err).toContain('Missing --annotations');
    const b = await cli(['knn', '--model', join(dir, 'missing'), ...dataset()]);
    expect(b.code).toBe(1);
    expect(b.err).toContain('does not exist');
  });

  it('checks --model before scanning the dataset: a missing model is the only message, no dataset warnings', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'lss-eval-empty-')); // every annotated video missing
    const r = await cli([
      'zero-shot',
      '--model',
      join(dir, 'missing'),
      '--dataset',
      'ucf101',
      '--videos',
      empty,
      '--annotations',
      synth.annotationsDir,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`Model ${join(dir, 'missing')} does not exist`);
    // the start lines (`lss-eval: backend ...`, `lss-eval: ffmpeg: ...`) aside, the error is the only message
    const messages = r.err
      .trim()
      .split('\n')
      .filter((line) => !/^lss-eval: (backend|ffmpeg)/.test(line));
    expect(messages).toHaveLength(1);
    rmSync(empty, { recursive: true, force: true });
  });
});
