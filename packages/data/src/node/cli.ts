#!/usr/bin/env node
import { ConfigError, DataError } from '@lss/core';
/**
 * `lss-data`: dataset utilities.
 *
 *   lss-data check <dataset-dir> [--concurrency N] [--json]
 *   lss-data generate <out-dir> [--classes 6] [--videos 8] [--width 64] [--height 48] [--frames 32] [--fps 25]
 *                              [--codec xvid|mpeg4|h264|vp9] [--seed 0]
 */
import { checkDataset } from './check.js';
import { describeFfmpeg, ENCODE_CODECS, parseEncodeCodec, resolveFfmpeg } from './ffmpeg.js';
import { generateSyntheticDataset } from './synthetic-dataset.js';

const USAGE = `usage:
  lss-data check <dataset-dir> [--concurrency N] [--json]
      Scans every video under <dataset-dir> and lists the bad ones (exit code 1 when any).
  lss-data generate <out-dir> [--classes 6] [--videos 8] [--width 64] [--height 48] [--frames 32] [--fps 25] [--codec ${ENCODE_CODECS.join('|')}] [--seed 0]
      Writes a synthetic UCF-101-style dataset of real video files.
ffmpeg: LSS_FFMPEG, else the bundled @ffmpeg-installer/ffmpeg (faster), else ffmpeg on PATH.`;

function parseFlags(args: string[]): { positional: string[]; flags: Map<string, string> } {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.startsWith('--')) {
      const [key, inline] = a.slice(2).split('=', 2) as [string, string | undefined];
      if (inline !== undefined) flags.set(key, inline);
      else if (i + 1 < args.length && !args[i + 1]!.startsWith('--')) flags.set(key, args[++i]!);
      else flags.set(key, 'true');
    } else positional.push(a);
  }
  return { positional, flags };
}

function intFlag(flags: Map<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Error(`--${name} must be an integer; received "${raw}".`);
  return value;
}

/** Runs the CLI with `argv` (without `node` and the script); returns the exit code. */
export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  try {
    return await run(argv, out);
  } catch (error) {
    // Bad input (unknown codec, missing folder, no ffmpeg): the library's message, no stack trace.
    if (error instanceof ConfigError || error instanceof DataError) {
      out(`lss-data: ${error.message}`);
      return 2;
    }
    throw error;
  }
}

async function run(argv: string[], out: (line: string) => void): Promise<number> {
  const [command, ...rest] = argv;
  const { positional, flags } = parseFlags(rest);
  if (command === 'check') {
    const dir = positional[0];
    if (!dir) {
      out(USAGE);
      return 2;
    }
    const ffmpeg = resolveFfmpeg();
    if (!flags.has('json')) out(describeFfmpeg(ffmpeg));
    const result = await checkDataset(dir, { concurrency: intFlag(flags, 'concurrency', 2) });
    if (flags.has('json')) {
      out(JSON.stringify({ ...result, ffmpeg }, null, 2));
    } else {
      out(
        `checked ${result.numFiles} video file(s) under ${dir} with ${ffmpeg.path} (${ffmpeg.source}): ${result.numOk} ok, ${result.bad.length} bad`,
      );
      for (const bad of result.bad) out(`BAD ${bad.path}: ${bad.reason}`);
      if (result.skipped.length > 0) {
        out(`skipped ${result.skipped.length} entr${result.skipped.length === 1 ? 'y' : 'ies'} that are not videos:`);
        for (const skip of result.skipped.slice(0, 20)) out(`SKIPPED ${skip.path}: ${skip.reason}`);
        if (result.skipped.length > 20) out(`... and ${result.skipped.length - 20} more (--json lists all)`);
      }
    }
    return result.bad.length > 0 ? 1 : 0;
  }
  if (command === 'generate') {
    const dir = positional[0];
    if (!dir) {
      out(USAGE);
      return 2;
    }
    const codec = parseEncodeCodec(flags.get('codec') ?? 'xvid');
    out(describeFfmpeg());
    const started = performance.now();
    const ds = await generateSyntheticDataset({
      dir,
      numClasses: intFlag(flags, 'classes', 6),
      videosPerClass: intFlag(flags, 'videos', 8),
      width: intFlag(flags, 'width', 64),
      height: intFlag(flags, 'height', 48),
      numFrames: intFlag(flags, 'frames', 32),
      fps: intFlag(flags, 'fps', 25),
      codec,
      seed: intFlag(flags, 'seed', 0),
    });
    out(
      `wrote ${ds.files.length} videos (${ds.classNames.join(', ')}) to ${ds.videosDir}, splits in ${ds.annotationsDir} ` +
        `in ${((performance.now() - started) / 1000).toFixed(1)} s with ${ds.ffmpeg.path} (${ds.ffmpeg.source})`,
    );
    return 0;
  }
  out(USAGE);
  return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
}

const invokedDirectly = process.argv[1] !== undefined && /cli\.(ts|js|mjs)$/.test(process.argv[1]);
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(2);
    },
  );
}
