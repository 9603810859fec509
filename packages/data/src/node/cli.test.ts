import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, TEST_FFMPEG, writeIndexVideo } from './__fixtures__/videos.js';
import { main } from './cli.js';
import { ffmpegVersion } from './ffmpeg.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, '..', '..', '..', '..');

/** Runs `main` and collects what it wrote to stdout (`out`) and stderr (`err`). */
async function runCli(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('lss-data CLI', () => {
  let previous: string | undefined;
  beforeEach(() => {
    previous = process.env.LSS_FFMPEG;
    process.env.LSS_FFMPEG = TEST_FFMPEG;
  });
  afterEach(() => {
    if (previous === undefined) delete process.env.LSS_FFMPEG;
    else process.env.LSS_FFMPEG = previous;
  });

  it('check prints the bad files and exits 1; exits 0 on a clean folder; generate writes a dataset', async () => {
    const root = makeTempDir('cli');
    await writeIndexVideo(root, 'good.mp4', 'h264', 20);
    let r = await runCli(['check', root]);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    expect(r.out[0]).toBe(
      `ffmpeg: ${TEST_FFMPEG}, version ${ffmpegVersion(TEST_FFMPEG)} (from LSS_FFMPEG); no ffprobe is used, probing runs this ffmpeg`,
    );
    expect(r.out[1]).toMatch(/checked 1 video file\(s\).*1 ok, 0 bad/);
    copyFileSync(join(root, 'good.mp4'), join(root, 'copy.mp4'));
    writeFileSync(join(root, 'broken.avi'), 'not a video');
    r = await runCli(['check', root]);
    expect(r.code).toBe(1);
    expect(r.out[1]).toMatch(/checked 3 video file\(s\).*2 ok, 1 bad/);
    expect(r.out[2]).toMatch(/^BAD .*broken\.avi: /);
    // --json before the folder: a boolean flag does not swallow the positional.
    r = await runCli(['check', '--json', root]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out.join('\n'))).toMatchObject({ numFiles: 3, numOk: 2 });
    r = await runCli(['generate', join(root, 'synth'), '--classes', '2', '--videos', '3', '--frames', '8']);
    expect(r.code).toBe(0);
    expect(r.out[1]).toMatch(/wrote 6 videos \(MoveLeft, MoveRight\)/);
  });

  it('check --concurrency 0 / -1 / 1.5 / abc is an lss-data: error on stderr, exit 2, before any check', async () => {
    const root = makeTempDir('cli-concurrency');
    writeFileSync(join(root, 'broken.avi'), 'not a video');
    for (const value of ['0', '-1', '1.5', 'abc']) {
      for (const argv of [
        ['check', root, '--concurrency', value],
        ['check', `--concurrency=${value}`, root],
      ]) {
        const r = await runCli(argv);
        expect(r).toEqual({
          code: 2,
          out: [],
          err: [`lss-data: --concurrency must be an integer >= 1; received ${value}. Pass e.g. --concurrency 2.`],
        });
      }
    }
    expect((await runCli(['check', root, '--concurrency', '1'])).code).toBe(1);
  });

  it('the installed entry point prints a bad flag as one stderr line, no stack trace, exit 2', () => {
    const root = makeTempDir('cli-process');
    writeFileSync(join(root, 'broken.avi'), 'not a video');
    const r = spawnSync(
      process.execPath,
      ['--conditions=@lss/source', '--import', 'tsx', join(HERE, 'cli.ts'), 'check', root, '--concurrency', '0'],
      { cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, LSS_FFMPEG: TEST_FFMPEG }, timeout: 60_000 },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('lss-data: --concurrency must be an integer >= 1; received 0. Pass e.g. --concurrency 2.\n');
  });

  it('an unknown command, a missing folder and an unknown flag are named on stderr before the usage, exit 2', async () => {
    let r = await runCli(['frob']);
    expect(r.code).toBe(2);
    expect(r.out).toEqual([]);
    expect(r.err[0]).toBe('lss-data: unknown command "frob"; expected check or generate.');
    expect(r.err[1]).toMatch(/^usage:\n {2}lss-data check <dataset-dir>/);
    r = await runCli(['check']);
    expect(r).toMatchObject({ code: 2, out: [] });
    expect(r.err[0]).toBe('lss-data: check needs the dataset folder, e.g. lss-data check data/UCF-101.');
    r = await runCli(['check', '/tmp', '--concurency', '4']);
    expect(r).toMatchObject({ code: 2, out: [] });
    expect(r.err[0]).toMatch(/^lss-data: check: Unknown option '--concurency'/);
    r = await runCli(['generate', '/tmp/x', '--json']);
    expect(r.err[0]).toMatch(/^lss-data: generate: Unknown option '--json'/);
    r = await runCli([]);
    expect(r).toMatchObject({ code: 2, out: [] });
    r = await runCli(['--help']);
    expect(r).toMatchObject({ code: 0, err: [] });
    expect(r.out[0]).toMatch(/^usage:/);
  });

  it('generate names the bad flag and its range, before ffmpeg is looked up', async () => {
    // An ffmpeg that does not exist: a flag error must come before any ffmpeg lookup or banner.
    process.env.LSS_FFMPEG = join(makeTempDir('cli-no-ffmpeg'), 'no-ffmpeg');
    const out = join(makeTempDir('cli-generate-flags'), 'synth');
    const cases: [string[], string][] = [
      [['--classes', '0'], '--classes must be an integer in [1, 10]; received 0. Pass e.g. --classes 6.'],
      [['--classes', '11'], '--classes must be an integer in [1, 10]; received 11. Pass e.g. --classes 6.'],
      [['--classes', 'abc'], '--classes must be an integer in [1, 10]; received abc. Pass e.g. --classes 6.'],
      [['--videos', '2'], '--videos must be an integer >= 3; received 2. Pass e.g. --videos 8.'],
      [['--frames', '0'], '--frames must be an integer >= 2; received 0. Pass e.g. --frames 32.'],
      [['--width', '7'], '--width must be an even integer >= 8; received 7. Pass e.g. --width 64.'],
      [['--height', '-2'], '--height must be an even integer >= 8; received -2. Pass e.g. --height 48.'],
      [['--fps', '0'], '--fps must be an integer >= 1; received 0. Pass e.g. --fps 25.'],
      [['--seed', '1.5'], '--seed must be an integer; received 1.5. Pass e.g. --seed 0.'],
      [
        ['--codec', 'bad'],
        'Unknown codec "bad". Expected one of: xvid, mpeg4, h264, vp9 (xvid and mpeg4 write .avi, h264 .mp4, vp9 .webm).',
      ],
    ];
    for (const [flags, message] of cases) {
      expect(await runCli(['generate', out, ...flags])).toEqual({ code: 2, out: [], err: [`lss-data: ${message}`] });
    }
  });

  it('generate into an existing file says so and how to fix it', async () => {
    const dir = makeTempDir('cli-generate-file');
    const file = join(dir, 'taken');
    writeFileSync(file, 'x');
    let r = await runCli(['generate', file]);
    expect(r).toEqual({
      code: 2,
      out: [],
      err: [
        `lss-data: generate: the output path ${file} is an existing file; expected a folder (created when missing). Pass a new or existing folder, e.g. lss-data generate ${file}-dataset, or move the file away.`,
      ],
    });
    r = await runCli(['generate', join(file, 'sub')]);
    expect(r.code).toBe(2);
    expect(r.err).toEqual([
      `lss-data: generate: the output folder ${join(file, 'sub')} cannot be created: ${file} is an existing file, not a folder. Pass a path under a folder, or move that file away.`,
    ]);
  });

  it('check summarises annotation/text files in one line and lists other non-video files', async () => {
    const root = makeTempDir('cli-skipped');
    expect((await runCli(['generate', root, '--classes', '1', '--videos', '3', '--frames', '4'])).code).toBe(0);
    mkdirSync(join(root, 'extra'));
    writeFileSync(join(root, 'extra', 'blob.bin'), 'not a video');
    writeFileSync(join(root, 'extra', 'labels.CSV'), 'a,b\n');
    const r = await runCli(['check', root]);
    expect(r.code).toBe(0);
    expect(r.err).toEqual([]);
    // classInd.txt + 3 trainlists + 3 testlists + labels.CSV
    expect(r.out.slice(1)).toEqual([
      expect.stringMatching(/^checked 3 video file\(s\) .*: 3 ok, 0 bad$/),
      'skipped 8 annotation/text files (not videos; --json lists them)',
      'skipped 1 other entry that is not a video:',
      expect.stringMatching(/^SKIPPED .*blob\.bin: not a video \(extension "\.bin"/),
    ]);
    expect(r.out.some((l) => l.includes('classInd.txt'))).toBe(false);
    const json = JSON.parse((await runCli(['check', root, '--json'])).out.join('\n')) as { skipped: { path: string }[] };
    expect(json.skipped).toHaveLength(9);
  });
});
