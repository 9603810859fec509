#!/usr/bin/env node
/**
 * `lss-data`: dataset utilities.
 *
 *   lss-data check <dataset-dir> [--concurrency N] [--json]
 *   lss-data generate <out-dir> [--classes 6] [--videos 8] [--width 64] [--height 48] [--frames 32] [--fps 25]
 *                              [--codec xvid|mpeg4|h264|vp9] [--seed 0]
 *
 * Flags are parsed by `node:util` `parseArgs` (strict, per command), as the other LSS.js CLIs do. Results go to
 * stdout; errors go to stderr as one `lss-data: ...` line (plus the usage for a usage error), exit code 2.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, DataError } from '@lss/core';
import { SYNTHETIC_MOTIONS } from '../synthetic.js';
import { checkDataset, isAnnotationFile } from './check.js';
import { describeFfmpeg, ENCODE_CODECS, parseEncodeCodec, resolveFfmpeg } from './ffmpeg.js';
import { fileBlockingFolder, generateSyntheticDataset } from './synthetic-dataset.js';

const USAGE = `usage:
  lss-data check <dataset-dir> [--concurrency N] [--json]
      Scans every video under <dataset-dir> and lists the bad ones (exit code 1 when any).
  lss-data generate <out-dir> [--classes 6] [--videos 8] [--width 64] [--height 48] [--frames 32] [--fps 25] [--codec ${ENCODE_CODECS.join('|')}] [--seed 0]
      Writes a synthetic UCF-101-style dataset of real video files.
ffmpeg: LSS_FFMPEG, else the bundled @ffmpeg-installer/ffmpeg (faster), else ffmpeg on PATH.`;

const CHECK_OPTIONS = {
  concurrency: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const GENERATE_OPTIONS = {
  classes: { type: 'string' },
  videos: { type: 'string' },
  width: { type: 'string' },
  height: { type: 'string' },
  frames: { type: 'string' },
  fps: { type: 'string' },
  codec: { type: 'string' },
  seed: { type: 'string' },
} as const;

/** Where the CLI writes: results to `out` (stdout), errors and usage errors to `err` (stderr). */
export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const defaultIo: CliIo = { out: (line) => console.log(line), err: (line) => console.error(line) };

/** A usage error: printed as `lss-data: <message>` followed by the usage, exit code 2. */
class UsageError extends Error {}

/**
 * `parseArgs` reads `--concurrency -1` as a missing value followed by the flag `-1`; join such a negative number to
 * its flag (`--concurrency=-1`) so the flag's own check reports it.
 */
function joinNegativeValues(args: readonly string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (a.startsWith('--') && !a.includes('=') && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      joined.push(`${a}=${next}`);
      i++;
    } else joined.push(a);
  }
  return joined;
}

function parseCommand<O extends typeof CHECK_OPTIONS | typeof GENERATE_OPTIONS>(command: string, args: readonly string[], options: O) {
  try {
    return parseArgs({ args: joinNegativeValues(args), options, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages name the flag ("Unknown option '--frob'", "Option '--seed <value>' argument missing").
    throw new UsageError(`${command}: ${(error as Error).message}`);
  }
}

/**
 * Reads the integer flag `--name` (`fallback` when absent) and checks it lies in `[min, max]` (and is even when
 * `even`). Throws `ConfigError` naming the flag, what it must be and what was received.
 */
function intFlag(
  raw: string | undefined,
  name: string,
  fallback: number,
  range: { min?: number; max?: number; even?: boolean; example?: number } = {},
): number {
  if (raw === undefined) return fallback;
  const value = raw.trim() === '' ? Number.NaN : Number(raw);
  const { min, max, even } = range;
  const ok =
    Number.isInteger(value) && (min === undefined || value >= min) && (max === undefined || value <= max) && (!even || value % 2 === 0);
  if (!ok) {
    const bounds =
      min !== undefined && max !== undefined
        ? ` in [${min}, ${max}]`
        : min !== undefined
          ? ` >= ${min}`
          : max !== undefined
            ? ` <= ${max}`
            : '';
    throw new ConfigError(
      `--${name} must be ${even ? 'an even integer' : 'an integer'}${bounds}; received ${raw === '' ? '""' : raw}. ` +
        `Pass e.g. --${name} ${range.example ?? fallback}.`,
    );
  }
  return value;
}

/** Runs the CLI with `argv` (without `node` and the script); returns the exit code (0 ok, 1 bad files found, 2 error). */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`lss-data: ${error.message}`);
      io.err(USAGE);
      return 2;
    }
    // Bad input (a bad flag value, unknown codec, missing folder, no ffmpeg): the message, no stack trace.
    if (error instanceof ConfigError || error instanceof DataError) {
      io.err(`lss-data: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'help' || command === '--help' || command === '-h') {
    io.out(USAGE);
    return 0;
  }
  if (command === undefined) throw new UsageError('no command given; expected check or generate.');
  if (command === 'check') return runCheck(rest, io);
  if (command === 'generate') return runGenerate(rest, io);
  throw new UsageError(`unknown command ${JSON.stringify(command)}; expected check or generate.`);
}

/** The command's one positional argument, a folder (`what`); a `UsageError` when it is missing or not alone. */
function oneFolder(command: string, positionals: readonly string[], what: string, example: string): string {
  const [dir, ...extra] = positionals;
  if (!dir) throw new UsageError(`${command} needs the ${what}, e.g. lss-data ${command} ${example}.`);
  if (extra.length > 0) {
    throw new UsageError(`${command} takes one ${what}; received also ${extra.map((e) => JSON.stringify(e)).join(', ')}.`);
  }
  return dir;
}

async function runCheck(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand('check', args, CHECK_OPTIONS);
  const dir = oneFolder('check', positionals, 'dataset folder', 'data/UCF-101');
  const concurrency = intFlag(values.concurrency, 'concurrency', 2, { min: 1 });
  const ffmpeg = resolveFfmpeg();
  if (!values.json) io.out(describeFfmpeg(ffmpeg));
  const result = await checkDataset(dir, { concurrency });
  if (values.json) {
    io.out(JSON.stringify({ ...result, ffmpeg }, null, 2));
    return result.bad.length > 0 ? 1 : 0;
  }
  io.out(
    `checked ${result.numFiles} video file(s) under ${dir} with ${ffmpeg.path} (${ffmpeg.source}): ${result.numOk} ok, ${result.bad.length} bad`,
  );
  for (const bad of result.bad) io.out(`BAD ${bad.path}: ${bad.reason}`);
  const annotations = result.skipped.filter((s) => isAnnotationFile(s.path));
  const others = result.skipped.filter((s) => !isAnnotationFile(s.path));
  if (annotations.length > 0) {
    io.out(`skipped ${annotations.length} annotation/text file${annotations.length === 1 ? '' : 's'} (not videos; --json lists them)`);
  }
  if (others.length > 0) {
    io.out(`skipped ${others.length} other ${others.length === 1 ? 'entry that is not a video' : 'entries that are not videos'}:`);
    for (const skip of others.slice(0, 20)) io.out(`SKIPPED ${skip.path}: ${skip.reason}`);
    if (others.length > 20) io.out(`... and ${others.length - 20} more (--json lists all)`);
  }
  return result.bad.length > 0 ? 1 : 0;
}

async function runGenerate(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommand('generate', args, GENERATE_OPTIONS);
  const dir = oneFolder('generate', positionals, 'output folder', '/tmp/synth');
  // Every flag is checked before ffmpeg is looked up or anything is written.
  const options = {
    dir,
    numClasses: intFlag(values.classes, 'classes', 6, { min: 1, max: SYNTHETIC_MOTIONS.length }),
    videosPerClass: intFlag(values.videos, 'videos', 8, { min: 3 }),
    width: intFlag(values.width, 'width', 64, { min: 8, even: true }),
    height: intFlag(values.height, 'height', 48, { min: 8, even: true }),
    numFrames: intFlag(values.frames, 'frames', 32, { min: 2 }),
    fps: intFlag(values.fps, 'fps', 25, { min: 1 }),
    codec: parseEncodeCodec(values.codec ?? 'xvid'),
    seed: intFlag(values.seed, 'seed', 0),
  };
  const blocking = fileBlockingFolder(dir);
  if (blocking === resolve(dir)) {
    throw new ConfigError(
      `generate: the output path ${dir} is an existing file; expected a folder (created when missing). ` +
        `Pass a new or existing folder, e.g. lss-data generate ${dir}-dataset, or move the file away.`,
    );
  }
  if (blocking !== undefined) {
    throw new ConfigError(
      `generate: the output folder ${dir} cannot be created: ${blocking} is an existing file, not a folder. ` +
        'Pass a path under a folder, or move that file away.',
    );
  }
  io.out(describeFfmpeg());
  const started = performance.now();
  const ds = await generateSyntheticDataset(options);
  io.out(
    `wrote ${ds.files.length} videos (${ds.classNames.join(', ')}) to ${ds.videosDir}, splits in ${ds.annotationsDir} ` +
      `in ${((performance.now() - started) / 1000).toFixed(1)} s with ${ds.ffmpeg.path} (${ds.ffmpeg.source})`,
  );
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && /cli\.(ts|js|mjs)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(`lss-data: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(2);
    },
  );
}
