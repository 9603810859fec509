/**
 * ffmpeg as a subprocess: locating the binary, probing a video, decoding selected frames to raw rgb24 on a pipe,
 * and encoding raw frames (for the synthetic generator and tests).
 *
 * Which ffmpeg: the `ffmpegPath` option, else `LSS_FFMPEG`, else the static build that the optional dependency
 * `@ffmpeg-installer/ffmpeg` ships (no apt step needed; the faster one here), else the first `ffmpeg` on PATH. There is no ffprobe
 * in that package, so probing parses the stream banner of `ffmpeg -i` and counts frames by remuxing the video
 * stream to the null muxer (`-c copy -f null`), which reads packets without decoding them: one process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, isAbsolute, join } from 'node:path';
import { ConfigError, DataError } from '@lss/core';
import type { RgbFrames, VideoInfo } from '../types.js';
import { ShellLauncher } from './launcher.js';

/** Where the ffmpeg binary came from. */
export type FfmpegSource = 'option' | 'LSS_FFMPEG' | 'PATH' | '@ffmpeg-installer/ffmpeg';

/** A located ffmpeg binary. */
export interface FfmpegBinary {
  readonly path: string;
  readonly source: FfmpegSource;
}

let cachedDefault: { key: string; binary: FfmpegBinary } | undefined;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The path `@ffmpeg-installer/ffmpeg` gives for its binary (executable or not), or undefined when it is not installed. */
function installerBinary(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    return (require('@ffmpeg-installer/ffmpeg') as { path?: string }).path || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `@ffmpeg-installer/ffmpeg` binary, or undefined when the optional dependency is not installed or its binary
 * is not executable.
 */
export function installerFfmpegPath(): string | undefined {
  const path = installerBinary();
  return path && isExecutable(path) ? path : undefined;
}

/** Why the bundled binary is not used, and how to fix that (for messages; call only when it is not used). */
function installerProblem(): { why: string; fix: string } {
  const path = installerBinary();
  if (path === undefined) {
    return {
      why: 'the optional dependency @ffmpeg-installer/ffmpeg is not installed',
      fix: 'Install it (pnpm add @ffmpeg-installer/ffmpeg), install ffmpeg, or set LSS_FFMPEG.',
    };
  }
  const pkg = `@ffmpeg-installer/${process.platform}-${process.arch}`;
  return {
    why: `@ffmpeg-installer/ffmpeg is installed but its binary ${path} is not executable`,
    fix: `Run chmod u+x ${path} (or let ${pkg}'s install script run: npm approve-scripts ${pkg} && npm rebuild ${pkg}), install ffmpeg, or set LSS_FFMPEG.`,
  };
}

/**
 * Finds ffmpeg: the `ffmpegPath` option, else `LSS_FFMPEG`, else the bundled `@ffmpeg-installer/ffmpeg` static build,
 * else the first `ffmpeg` on PATH. The bundled build comes first because it decodes 3.4x faster here than Debian's
 * ffmpeg 5.1 (FACTS.md: the distribution build spends its time in its own thread and format negotiation); set
 * `LSS_FFMPEG` to use another one. Throws `ConfigError` listing what was tried when none is usable.
 */
export function resolveFfmpeg(options: { ffmpegPath?: string; env?: Readonly<Record<string, string | undefined>> } = {}): FfmpegBinary {
  if (options.ffmpegPath !== undefined) {
    if (!isExecutable(options.ffmpegPath)) {
      throw new ConfigError(
        `ffmpegPath "${options.ffmpegPath}" is not an executable file. Pass the path of an ffmpeg binary or leave it unset.`,
      );
    }
    return { path: options.ffmpegPath, source: 'option' };
  }
  const env = options.env ?? process.env;
  // Cached per (LSS_FFMPEG, PATH), so changing either takes effect.
  const key = `${env.LSS_FFMPEG ?? ''}\0${env.PATH ?? ''}`;
  if (cachedDefault?.key === key) return cachedDefault.binary;
  let found: FfmpegBinary | undefined;
  const fromEnv = env.LSS_FFMPEG;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) {
      throw new ConfigError(`LSS_FFMPEG="${fromEnv}" is not an executable file. Point it at an ffmpeg binary or unset it.`);
    }
    found = { path: fromEnv, source: 'LSS_FFMPEG' };
  }
  if (!found) {
    const installed = installerFfmpegPath();
    if (installed) found = { path: installed, source: '@ffmpeg-installer/ffmpeg' };
  }
  if (!found) {
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      if (!dir) continue;
      const candidate = join(dir, process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg');
      if (isExecutable(candidate)) {
        found = { path: candidate, source: 'PATH' };
        break;
      }
    }
  }
  if (!found) {
    const { why, fix } = installerProblem();
    throw new ConfigError(`No ffmpeg found: LSS_FFMPEG is unset, ${why} and no ffmpeg is on PATH. ${fix}`);
  }
  cachedDefault = { key, binary: found };
  return found;
}

const versions = new Map<string, string>();

/**
 * The version an ffmpeg binary reports (`ffmpeg -version`, first line: `4.1`, `5.1.6-0+deb12u1`,
 * `N-47683-g0e8eb07980-static`), or `unknown` when it prints none. Runs the binary once per path (cached).
 */
export function ffmpegVersion(path: string): string {
  let version = versions.get(path);
  if (version === undefined) {
    const result = spawnSync(path, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 10_000 });
    version = /ffmpeg version (\S+)/.exec(result.stdout ?? '')?.[1] ?? 'unknown';
    versions.set(path, version);
  }
  return version;
}

/**
 * One line saying which ffmpeg is used, its version and why it was chosen, for CLIs to print at start:
 * `ffmpeg: <path>, version <v> (<why>); no ffprobe is used, probing runs this ffmpeg`. Runs `ffmpeg -version` once.
 */
export function describeFfmpeg(binary: FfmpegBinary = resolveFfmpeg()): string {
  const why: Record<FfmpegSource, () => string> = {
    option: () => 'given by the caller',
    LSS_FFMPEG: () => 'from LSS_FFMPEG',
    '@ffmpeg-installer/ffmpeg': () => 'the bundled @ffmpeg-installer/ffmpeg build, preferred for speed; set LSS_FFMPEG to use another',
    PATH: () => `the first ffmpeg on PATH (${installerProblem().why}); set LSS_FFMPEG to choose`,
  };
  return `ffmpeg: ${binary.path}, version ${ffmpegVersion(binary.path)} (${why[binary.source]()}); no ffprobe is used, probing runs this ffmpeg`;
}

/** Result of running ffmpeg to completion. */
interface RunResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Bytes written into each of `sinks` (what ffmpeg wrote beyond a sink's size is dropped). */
  readonly written: number[];
}

/** Runs ffmpeg, optionally feeding stdin, collecting stdout (bytes) and the tail of stderr. */
function runFfmpeg(
  ffmpeg: string,
  args: readonly string[],
  options: { input?: Uint8Array; timeoutMs?: number; collectStdout?: boolean; maxStderr?: number; sinks?: readonly Uint8Array[] } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    // Raw outputs of known size go straight into preallocated buffers: sinks[0] from stdout, sinks[k] from fd 2 + k.
    // (Collecting chunks and concatenating costs two more allocations and copies of every frame; on this VM page
    // faults are expensive, and that was a third of the CPU a decode cost in Node.)
    const sinks = options.sinks ?? [];
    const written = sinks.map(() => 0);
    const stdio: ('pipe' | 'ignore')[] = [options.input ? 'pipe' : 'ignore', 'pipe', 'pipe'];
    for (let k = 1; k < sinks.length; k++) stdio.push('pipe');
    const child = spawn(ffmpeg, args, { stdio });
    const into = (k: number) => (chunk: Buffer) => {
      const sink = sinks[k]!;
      const n = Math.min(chunk.length, sink.length - written[k]!);
      if (n > 0) sink.set(n === chunk.length ? chunk : chunk.subarray(0, n), written[k]);
      written[k]! += n;
    };
    for (let k = 1; k < sinks.length; k++) (child.stdio[2 + k] as NodeJS.ReadableStream | null)?.on('data', into(k));
    const chunks: Buffer[] = [];
    let stderr = '';
    const maxStderr = options.maxStderr ?? 64 * 1024;
    let timedOut = false;
    const timer =
      options.timeoutMs && options.timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs)
        : undefined;
    if (sinks.length > 0) child.stdout?.on('data', into(0));
    else {
      child.stdout?.on('data', (chunk: Buffer) => {
        if (options.collectStdout !== false) chunks.push(chunk);
      });
    }
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      if (stderr.length > maxStderr) stderr = stderr.slice(stderr.length - maxStderr);
    });
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(
        new DataError(`Could not start ffmpeg at "${ffmpeg}": ${error.message}. Set LSS_FFMPEG or install @ffmpeg-installer/ffmpeg.`, {
          cause: error,
        }),
      );
    });
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(chunks), stderr, timedOut, written });
    });
    if (options.input && child.stdin) {
      child.stdin.on('error', () => {
        // ffmpeg may exit before reading all input (bad arguments); the exit code reports it.
      });
      child.stdin.end(Buffer.from(options.input.buffer, options.input.byteOffset, options.input.byteLength));
    }
  });
}

/**
 * ffmpeg prefixes a log line with its context as `[name @ 0x55d0c8a3f740] ` (`%p`: the context's address, different on
 * every run). Rewrites each to `name: `, so a skipped video's reason is the same text in every run and can be compared,
 * cached and grouped: `[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5581c0e3c700] moov atom not found` -> `mov,mp4,m4a,3gp,3g2,mj2: moov
 * atom not found`. Addresses are also printed without `0x` on some platforms (Windows' `%p`).
 */
export function stripLogContext(text: string): string {
  return text.replace(/\[([^[\]\n]*?) @ (?:0x)?[0-9a-fA-F]{4,16}\]\s*/g, '$1: ');
}

function lastLines(text: string, count = 4): string {
  return stripLogContext(text)
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('frame='))
    .slice(-count)
    .join(' | ');
}

/** Parses the stream banner that `ffmpeg -i` prints; exported for tests. Returns undefined fields it cannot find. */
export function parseFfmpegBanner(stderr: string): {
  hasInput: boolean;
  video?: { codec: string; width: number; height: number; fps: number; rotation: number };
  duration?: number;
  startTime: number;
  countedFrames?: number;
} {
  const hasInput = /Input #0/.test(stderr);
  const durMatch = /Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)/.exec(stderr);
  const duration = durMatch ? Number(durMatch[1]) * 3600 + Number(durMatch[2]) * 60 + Number(durMatch[3]) : undefined;
  const startMatch = /Duration:[^\n]*?start:\s*(-?\d+(?:\.\d+)?)/.exec(stderr);
  const startTime = startMatch ? Number(startMatch[1]) : 0;
  // Only the input section (before "Stream mapping" / "Output #0") describes the file.
  const inputSection = stderr.split(/Output #0|Stream mapping:/)[0] ?? stderr;
  const streamLine = /Stream #0:\d+[^\n]*?: Video: ([^\n]+)/.exec(inputSection);
  let video: { codec: string; width: number; height: number; fps: number; rotation: number } | undefined;
  if (streamLine) {
    const desc = streamLine[1]!;
    const codec = /^(\w+)/.exec(desc)?.[1] ?? 'unknown';
    const size = /(?:^|[ ,])(\d{1,5})x(\d{1,5})(?=[ ,\]]|$)/.exec(desc);
    const fpsMatch = /(\d+(?:\.\d+)?)(k?) fps/.exec(desc) ?? /(\d+(?:\.\d+)?)(k?) tbr/.exec(desc);
    const fps = fpsMatch ? Number(fpsMatch[1]) * (fpsMatch[2] === 'k' ? 1000 : 1) : Number.NaN;
    const rotMatch = /rotate\s*:\s*(-?\d+)/.exec(inputSection) ?? /rotation of (-?\d+(?:\.\d+)?) degrees/.exec(inputSection);
    const rotation = rotMatch ? Math.round(Number(rotMatch[1])) : 0;
    if (size) video = { codec, width: Number(size[1]), height: Number(size[2]), fps, rotation };
  }
  const frameMatches = [...stderr.matchAll(/frame=\s*(\d+)/g)];
  const countedFrames = frameMatches.length > 0 ? Number(frameMatches[frameMatches.length - 1]![1]) : undefined;
  return {
    hasInput,
    ...(video ? { video } : {}),
    ...(duration !== undefined ? { duration } : {}),
    startTime,
    ...(countedFrames !== undefined ? { countedFrames } : {}),
  };
}

/** Options shared by probe and decode. */
export interface FfmpegOptions {
  /** ffmpeg binary; default {@link resolveFfmpeg}. */
  readonly ffmpegPath?: string;
  /** Kill ffmpeg after this many milliseconds (default 60 000). */
  readonly timeoutMs?: number;
}

/** ` (after N ms). If the file is long or the machine busy, raise timeoutMs (now N).` for timeout errors. */
function timeoutHint(timeoutMs: number | undefined): string {
  const ms = timeoutMs ?? 60_000;
  return ` (after ${ms} ms). A damaged file can stall the decoder; if the video is long or the machine busy, raise timeoutMs (now ${ms}).`;
}

function checkFile(path: string): void {
  if (!existsSync(path)) {
    throw new DataError(
      `Video not found: ${path}. Check the path${isAbsolute(path) ? '' : ` (relative to ${process.cwd()})`} or the dataset's videos folder, or re-download the video.`,
      { file: path },
    );
  }
  const stat = statSync(path);
  if (!stat.isFile()) {
    const kind = stat.isDirectory() ? 'a folder' : stat.isFIFO() ? 'a named pipe (fifo)' : 'not a regular file';
    throw new DataError(`Not a file: ${path} is ${kind}; expected a video file. Point to the video itself, or rename or remove it.`, {
      file: path,
    });
  }
  if (stat.size === 0) throw new DataError(`Empty video file (0 bytes): ${path}. Re-download or remove it.`, { file: path });
}

/**
 * ffmpeg's "no timestamp" value (`AV_NOPTS_VALUE`, `INT64_MIN`), printed as a number by `framecrc` and as `N/A` by
 * ffprobe. AVI, raw elementary streams and MPEG-PS leave some or all packets without a presentation time.
 */
export const AV_NOPTS_VALUE = '-9223372036854775808';

/**
 * A timestamp field as ffmpeg prints it, in stream time-base units, or undefined when it means "no timestamp":
 * `AV_NOPTS_VALUE`, `N/A`, empty, or anything that is not a safe integer (a sentinel must never be taken as a time).
 */
export function parseTimestamp(field: string | undefined): number | undefined {
  const text = field?.trim() ?? '';
  if (text === '' || text === 'N/A' || text === AV_NOPTS_VALUE || !/^-?\d+$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Packets of one stream as read by {@link parseFramecrc}. */
export interface FramecrcPackets {
  /** Number of packets (one per frame for video). */
  readonly count: number;
  /** Sorted presentation times in seconds; empty unless every packet has a pts. */
  readonly times: number[];
  /** Packets without a presentation timestamp (`AV_NOPTS_VALUE` / `N/A`). */
  readonly missingPts: number;
  /** Packets the demuxer flagged corrupt (`F=0x2`, `AV_PKT_FLAG_CORRUPT`): a damaged or cut-off file. */
  readonly corruptPackets: number;
}

/**
 * Parses ffmpeg's `framecrc` output for one stream: the packet count, the sorted presentation times in seconds
 * (empty when some packet has no pts), the packets without pts and the packets flagged corrupt.
 * Lines: `stream, dts, pts, duration, size, crc[, F=flags]`; `#tb 0: num/den`.
 */
export function parseFramecrc(text: string): FramecrcPackets {
  let num = 1;
  let den = 1;
  let count = 0;
  let missingPts = 0;
  let corruptPackets = 0;
  const times: number[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#tb 0:')) {
      const m = /(\d+)\s*\/\s*(\d+)/.exec(line);
      if (m) {
        num = Number(m[1]);
        den = Number(m[2]);
      }
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const parts = line.split(',');
    if (parts.length < 5) continue;
    count++;
    const pts = parseTimestamp(parts[2]);
    if (pts === undefined) missingPts++;
    else times.push((pts * num) / den);
    const flags = /F=0x([0-9a-fA-F]+)/.exec(parts.slice(6).join(','));
    if (flags && (Number.parseInt(flags[1]!, 16) & 0x2) !== 0) corruptPackets++;
  }
  return { count, times: missingPts === 0 ? times.sort((a, b) => a - b) : [], missingPts, corruptPackets };
}

/** Options of {@link probeVideo}. */
export interface ProbeOptions extends FfmpegOptions {
  /** Count the packets of the video stream (exact frame count; default true). Otherwise `round(duration * fps)`. */
  readonly countFrames?: boolean;
  /**
   * Reject a video whose stream holds fewer than this fraction of the frames the header duration implies (minus
   * 2 frames of slack): the signature of a truncated AVI or WebM. Default: no check.
   */
  readonly minFrameFraction?: number;
}

/**
 * Probes a video with one ffmpeg process: size, frame rate, duration, start time, codec and the exact frame count
 * (packets of the first video stream, counted without decoding). Throws `DataError` for a missing, empty,
 * unreadable file or one without a video stream.
 */
export async function probeVideo(path: string, options: ProbeOptions = {}): Promise<VideoInfo> {
  checkFile(path);
  const ffmpeg = options.ffmpegPath ?? resolveFfmpeg().path;
  const countFrames = options.countFrames ?? true;
  // framecrc of the copied video stream: one line per packet with its pts, read without decoding. -copyts keeps the
  // file's own timestamps (the ones the decoder's select filter will see).
  const args = (output: string) =>
    countFrames
      ? ['-hide_banner', '-nostdin', '-copyts', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', 'framecrc', output]
      : ['-hide_banner', '-nostdin', '-i', path];
  const result = await runProbe(ffmpeg, args, options.timeoutMs ?? 60_000, countFrames);
  if (result.timedOut) throw new DataError(`ffmpeg timed out probing ${path}${timeoutHint(options.timeoutMs)}`, { file: path });
  const banner = parseFfmpegBanner(result.stderr);
  if (!banner.hasInput) {
    throw new DataError(
      `ffmpeg cannot read ${path} as a video: ${lastLines(result.stderr)}. The file is corrupt, truncated or not a video: re-download it, re-encode it with ffmpeg, or remove it from the dataset.`,
      { file: path },
    );
  }
  if (!banner.video) {
    throw new DataError(
      `${path} has no video stream (ffmpeg found: ${lastLines(result.stderr, 2) || 'no streams'}). Expected a file with a video track.`,
      { file: path },
    );
  }
  if (countFrames && result.code !== 0) {
    throw new DataError(`ffmpeg failed reading the video stream of ${path}: ${lastLines(result.stderr)}.`, { file: path });
  }
  const { width: w0, height: h0, fps: fps0, codec, rotation } = banner.video;
  const swap = Math.abs(rotation) % 180 === 90;
  const width = swap ? h0 : w0;
  const height = swap ? w0 : h0;
  const packets = countFrames ? parseFramecrc(result.stdout.toString('utf8')) : undefined;
  const counted = packets?.count;
  let fps = fps0;
  let duration = banner.duration;
  if (!(fps > 0) && counted && duration) fps = counted / duration;
  if (!(fps > 0)) throw new DataError(`Cannot read the frame rate of ${path} from ffmpeg's output.`, { file: path });
  if (duration === undefined && counted) duration = counted / fps;
  if (duration === undefined) throw new DataError(`Cannot read the duration of ${path} from ffmpeg's output.`, { file: path });
  const numFrames = counted ?? Math.max(0, Math.round(duration * fps));
  if (numFrames < 1) throw new DataError(`${path} has a video stream with no frames.`, { file: path });
  if (options.minFrameFraction !== undefined && counted !== undefined && banner.duration !== undefined) {
    const implied = Math.round(banner.duration * fps);
    if (counted < options.minFrameFraction * implied - 2) {
      throw new DataError(
        `${path} is truncated: its video stream has ${counted} frames but the header duration (${banner.duration.toFixed(2)} s at ${fps} fps) implies ${implied}. Re-download it.`,
        { file: path },
      );
    }
  }
  let startTime = banner.startTime;
  let frameTimes: number[] | undefined;
  // Frame i is found by its timestamp only when every packet has one and no two are equal; otherwise (AVI, raw
  // H.264, MPEG-PS, duplicated pts) it is the i-th decoded frame, found by decoding from the start.
  let frameOrder: 'timestamps' | 'decode-order' = 'decode-order';
  if (packets && packets.missingPts === 0 && packets.times.length === counted && counted > 0) {
    const times = packets.times;
    let distinct = true;
    for (let i = 1; i < times.length; i++) if (!(times[i]! > times[i - 1]!)) distinct = false;
    if (distinct) {
      frameOrder = 'timestamps';
      startTime = times[0]!;
      // Variable frame rate when some frame sits more than half a frame away from its constant-rate slot.
      let worst = 0;
      for (let i = 0; i < times.length; i++) worst = Math.max(worst, Math.abs(times[i]! - (startTime + i / fps)));
      if (worst > 0.5 / fps) frameTimes = times;
    }
  }
  return {
    width,
    height,
    fps,
    duration,
    startTime,
    containerStartTime: banner.startTime,
    ...(frameTimes ? { frameTimes } : {}),
    numFrames,
    frameCountExact: counted !== undefined,
    codec,
    frameOrder,
    ...(packets && packets.corruptPackets > 0 ? { corruptPackets: packets.corruptPackets } : {}),
  };
}

/** Options of {@link decodeFrames}. */
export interface DecodeOptions extends FfmpegOptions {
  /** Probe result; probed when omitted (one more process). */
  readonly info?: VideoInfo;
  /** Exact output size; overrides `maxShortSide`. */
  readonly outputSize?: { readonly width: number; readonly height: number };
  /** Downscale (never upscale) so the short side is at most this; default: keep the decoded size. */
  readonly maxShortSide?: number;
  /** ffmpeg decoder threads per process (`-threads`); default 1, since the loader runs processes in parallel. */
  readonly threads?: number;
  /** Fail when more than this many requested frames are missing at the end of the stream (default: 5%, at least 1). */
  readonly maxMissingFrames?: number;
  /**
   * Resize filter (default `'bicubic'`): see {@link rgbFilters}.
   */
  readonly interpolation?: 'bicubic' | 'bilinear';
}

/**
 * The ffmpeg filters that turn decoded frames into rgb24 of `width x height` as CLIP sees them: first the colour
 * conversion at the decoded size, as PyAV's `to_ndarray('rgb24')` / `to_image()` does it (swscale's default chroma
 * handling), then, only when the size changes, ONE resample of the RGB image: bicubic with Keys a = -0.5
 * (`param0=0:param1=0.5`, the kernel of PIL's BICUBIC that CLIP's `Resize` uses) and accurate rounding.
 * Measured against PyAV + PIL (clip-pixels.test.ts), converting first is 3-5x closer than resizing yuv with full
 * chroma interpolation in one pass (mean |diff| of normalised pixels 0.004-0.016 vs 0.021-0.037).
 */
export function rgbFilters(
  from: { width: number; height: number },
  to: { width: number; height: number },
  interpolation: 'bicubic' | 'bilinear' = 'bicubic',
): string[] {
  const filters = ['scale=flags=bicubic', 'format=rgb24'];
  if (from.width !== to.width || from.height !== to.height) {
    const params = interpolation === 'bicubic' ? ':param0=0:param1=0.5' : '';
    filters.push(`scale=${to.width}:${to.height}:flags=${interpolation}+accurate_rnd${params}`);
  }
  return filters;
}

/** Frames decoded by {@link decodeFrames}. */
export interface DecodedFrames {
  /** `[N, H, W, 3]` uint8, one frame per entry of `indices`. */
  readonly frames: RgbFrames;
  /** Sorted unique frame indices, in the order of `frames`. */
  readonly indices: readonly number[];
  readonly info: VideoInfo;
  /**
   * Requested frames ffmpeg did not deliver (the stream ended early: a truncated or damaged file), each replaced by
   * a copy of the last delivered frame. Same as `substitutedIndices.length`.
   */
  readonly missingFrames: number;
  /** The requested indices that were substituted (see `missingFrames`), sorted; empty when every frame decoded. */
  readonly substitutedIndices: readonly number[];
  /**
   * Error lines the decoder printed (`-v error`: damaged macroblocks, corrupt packets, concealed errors), at most 8;
   * empty for a clean decode. A frame decoded with errors is still delivered, so these are reported, not thrown.
   */
  readonly decoderErrors: readonly string[];
}

/** Output size for a video given the decode options (even numbers are not required for rgb24). */
export function decodedSize(
  info: Pick<VideoInfo, 'width' | 'height'>,
  options: Pick<DecodeOptions, 'outputSize' | 'maxShortSide'>,
): { width: number; height: number } {
  if (options.outputSize) {
    const { width, height } = options.outputSize;
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new ConfigError(
        `decodeFrames: outputSize must be positive integers { width, height } in pixels; received ${JSON.stringify(options.outputSize)}.`,
      );
    }
    return { width, height };
  }
  if (options.maxShortSide !== undefined && (!Number.isInteger(options.maxShortSide) || options.maxShortSide < 1)) {
    throw new ConfigError(
      `decodeFrames: maxShortSide must be an integer >= 1 (pixels; leave it out to keep the decoded size); received ${options.maxShortSide}.`,
    );
  }
  const short = Math.min(info.width, info.height);
  if (options.maxShortSide && short > options.maxShortSide) {
    const k = options.maxShortSide / short;
    return { width: Math.max(1, Math.round(info.width * k)), height: Math.max(1, Math.round(info.height * k)) };
  }
  return { width: info.width, height: info.height };
}

/** What one clip's decode needs: its frames, the ffmpeg input and output arguments, and how to read the result. */
interface DecodePlan {
  readonly path: string;
  readonly info: VideoInfo;
  /** Sorted unique frame indices. */
  readonly indices: readonly number[];
  readonly width: number;
  readonly height: number;
  /** Decoder and input options, ending with `-i path`. */
  readonly input: readonly string[];
  /** Output options for input `k` (`-map k:v:0`, filters, frame count, raw rgb24), without the output's name. */
  readonly output: (k: number) => string[];
  readonly maxMissing: number;
}

/** Plans the decode of `requested` frames of `path` (probing when `options.info` is absent). */
async function planDecode(path: string, requested: readonly number[], options: DecodeOptions): Promise<DecodePlan> {
  if (requested.length === 0) throw new ConfigError('decodeFrames: received no frame indices; expected at least one.');
  const info = options.info ?? (await probeVideo(path, options));
  checkFile(path);
  const indices = [...new Set(requested)].sort((a, b) => a - b);
  for (const i of indices) {
    if (!Number.isInteger(i)) {
      throw new ConfigError(`decodeFrames: frame indices must be integers (0 = the first decoded frame); received ${i} for ${path}.`);
    }
    if (i < 0 || i >= info.numFrames) {
      throw new ConfigError(
        `decodeFrames: frame index ${i} is outside [0, ${info.numFrames}) for ${path}, which has ${info.numFrames} frames (probeVideo(path).numFrames); sample indices below that, e.g. with sampleFrameIndices({ numFramesTotal: info.numFrames, numFrames }).`,
      );
    }
  }
  const { width, height } = decodedSize(info, options);
  const fps = info.fps;
  // Frame i's timestamp window: midpoints to its neighbours (exact times for VFR streams, else the constant rate).
  const times = info.frameTimes;
  const timeOf = (i: number) => (times ? times[Math.min(Math.max(i, 0), times.length - 1)]! : info.startTime + i / fps);
  const windowOf = (i: number): [number, number] => {
    const t = timeOf(i);
    const lo = times && i > 0 ? (timeOf(i - 1) + t) / 2 : t - 0.5 / fps;
    const hi = times && i < times.length - 1 ? (t + timeOf(i + 1)) / 2 : t + 0.5 / fps;
    return [lo, hi];
  };
  const decodeOrder = info.frameOrder === 'decode-order';
  let select: string;
  let seek = 0;
  if (decodeOrder) {
    // No usable timestamps: frame i is the i-th decoded frame (the select filter's `n`), counted from the start.
    select = indices.map((i) => `eq(n\\,${i})`).join('+');
  } else {
    // Input-side -ss counts from the container's start; seek half a second early, the select filter does the rest.
    seek = timeOf(indices[0]!) - (info.containerStartTime ?? info.startTime) - 0.5;
    select = indices
      .map((i) => {
        const [lo, hi] = windowOf(i);
        return `between(t\\,${lo.toFixed(6)}\\,${(hi - 1e-6).toFixed(6)})`;
      })
      .join('+');
  }
  const filters = [`select='${select}'`, ...rgbFilters(info, { width, height }, options.interpolation)].join(',');
  const input = ['-threads', String(options.threads ?? 1)];
  if (seek > 0.5) input.push('-ss', seek.toFixed(6));
  input.push('-i', path);
  const output = (k: number) => [
    '-map',
    `${k}:v:0`,
    '-an',
    '-sn',
    '-dn',
    '-vf',
    filters,
    '-frames:v',
    String(indices.length),
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
  ];
  const maxMissing = options.maxMissingFrames ?? Math.max(1, Math.ceil(indices.length * 0.05));
  return { path, info, indices, width, height, input, output, maxMissing };
}

let shellLauncher: ShellLauncher | undefined;

/** Whether ffmpeg starts through this thread's {@link ShellLauncher} (see {@link runDecode}). */
function launches(ffmpeg: string): boolean {
  return ShellLauncher.available && process.env.LSS_FFMPEG_LAUNCH !== 'direct' && isExecutable(ffmpeg);
}

/**
 * Runs a probe whose listing (`args(output)`, when `collect`) is read whole: through this thread's
 * {@link ShellLauncher} like a decode, else spawned directly with the listing on stdout. Through the launcher this
 * process is not forked per file: cheaper in a big process (see launcher.ts), and in a view worker thread it keeps
 * fork()'s handlers (OpenBLAS's stops its thread pool on every fork of the process) off the path of every new file.
 */
async function runProbe(ffmpeg: string, args: (output: string) => string[], timeoutMs: number, collect: boolean): Promise<RunResult> {
  if (launches(ffmpeg)) {
    shellLauncher ??= new ShellLauncher();
    const r = await shellLauncher.run(ffmpeg, ({ output }) => ['-y', ...args(output(0))], [], timeoutMs, collect);
    return { code: r.code, stdout: r.collected ?? Buffer.alloc(0), stderr: r.stderr, timedOut: r.timedOut, written: [] };
  }
  return runFfmpeg(ffmpeg, args('-'), { timeoutMs, collectStdout: collect });
}

/**
 * Runs a raw decode whose outputs go into `sinks`: through this thread's {@link ShellLauncher} (a small long-lived
 * shell starts ffmpeg, so this process is not forked for every decode; outputs pass through files on tmpfs), or,
 * where there is no POSIX shell, the ffmpeg is not an executable file, or `LSS_FFMPEG_LAUNCH=direct`, spawned
 * directly with the outputs on pipes. `args(output)` builds the arguments given where output k goes.
 */
function runDecode(
  ffmpeg: string,
  args: (output: (k: number) => string) => string[],
  sinks: readonly Uint8Array[],
  timeoutMs: number,
): Promise<{ code: number | null; stderr: string; timedOut: boolean; written: number[] }> {
  if (launches(ffmpeg)) {
    shellLauncher ??= new ShellLauncher();
    // `-progress pipe:1`: the launcher resolves at ffmpeg's final report, not after its exit (see ShellLauncher.run).
    return shellLauncher.run(ffmpeg, ({ output }) => ['-y', '-progress', 'pipe:1', ...args(output)], sinks, timeoutMs, false, true);
  }
  return runFfmpeg(
    ffmpeg,
    args((k) => `pipe:${k === 0 ? 1 : 2 + k}`),
    { timeoutMs, sinks },
  );
}

/** Global options of every decode: quiet but for errors, the file's own timestamps, no frame dropped or duplicated. */
const DECODE_GLOBAL = ['-hide_banner', '-nostdin', '-v', 'error', '-copyts', '-vsync', '0'];

/** Turns the bytes ffmpeg wrote for one plan into frames, substituting (and counting) frames it did not deliver. */
function finishDecode(plan: DecodePlan, data: Uint8Array, written: number, stderr: string, code: number | null): DecodedFrames {
  const { path, indices, width, height, info } = plan;
  const frameBytes = width * height * 3;
  const delivered = Math.min(indices.length, Math.floor(written / frameBytes));
  if (delivered === 0) {
    throw new DataError(
      `ffmpeg decoded no frames of ${path} (exit ${code}): ${lastLines(stderr) || 'no message'}. The file is corrupt or truncated.`,
      { file: path },
    );
  }
  const missing = indices.length - delivered;
  if (missing > plan.maxMissing) {
    throw new DataError(
      `ffmpeg delivered ${delivered} of ${indices.length} requested frames of ${path} (last requested ${indices[indices.length - 1]}, ` +
        `${info.numFrames} expected in the stream): the file is truncated or damaged. ${lastLines(stderr, 2)}`,
      { file: path },
    );
  }
  for (let k = delivered; k < indices.length; k++) data.copyWithin(k * frameBytes, (delivered - 1) * frameBytes, delivered * frameBytes);
  return {
    frames: { data, shape: [indices.length, height, width, 3] },
    indices,
    info,
    missingFrames: missing,
    substitutedIndices: indices.slice(delivered),
    decoderErrors: errorLines(stderr),
  };
}

/**
 * Decodes only the requested frames of a video in one ffmpeg process: input-side `-ss` seeks near the first
 * frame (keeping timestamps with `-copyts`), a `select` filter keeps the frames whose timestamps fall in
 * `[i - 0.5, i + 0.5) / fps` (or, for streams without usable timestamps, the i-th decoded frames), `scale` resizes
 * (see {@link rgbFilters}), and rgb24 frames stream over a pipe; ffmpeg stops after the last one.
 *
 * Output shape: `frames.shape = [N, H, W, 3]` for the N unique requested indices, sorted.
 */
export async function decodeFrames(path: string, requested: readonly number[], options: DecodeOptions = {}): Promise<DecodedFrames> {
  const plan = await planDecode(path, requested, options);
  const ffmpeg = options.ffmpegPath ?? resolveFfmpeg().path;
  const data = new Uint8Array(plan.indices.length * plan.width * plan.height * 3);
  const result = await runDecode(
    ffmpeg,
    (output) => [...DECODE_GLOBAL, ...plan.input, ...plan.output(0), output(0)],
    [data],
    options.timeoutMs ?? 60_000,
  );
  if (result.timedOut) throw new DataError(`ffmpeg timed out decoding ${path}${timeoutHint(options.timeoutMs)}`, { file: path });
  return finishDecode(plan, data, result.written[0]!, result.stderr, result.code);
}

/** One clip of {@link decodeClips}: a file, the frames wanted, and its own decode options. */
export interface ClipRequest {
  readonly path: string;
  readonly indices: readonly number[];
  readonly options?: DecodeOptions;
}

/**
 * Decodes the requested frames of several videos with ONE ffmpeg process (one input and one raw rgb24 output pipe
 * per clip), so the process start-up is paid once for all of them: the lever for loaders that decode many short
 * clips. Each clip gets exactly what {@link decodeFrames} would give it alone (same filters, seek and frame
 * selection per input). A clip that fails to plan (probe, bad indices) fails alone. When the shared process
 * reports anything (an error line, a non-zero exit, a clip short of frames), the error texts cannot be told apart
 * per clip, so those clips are decoded again one by one and get their own result or `DataError`.
 *
 * `ffmpegPath` and `timeoutMs` come from `shared` (the per-clip options' are ignored); the timeout applies to the
 * whole process, times the number of clips.
 */
export async function decodeClips(
  clips: readonly ClipRequest[],
  shared: FfmpegOptions = {},
): Promise<PromiseSettledResult<DecodedFrames>[]> {
  const ffmpeg = shared.ffmpegPath ?? resolveFfmpeg().path;
  const clipOptions = (c: ClipRequest): DecodeOptions => ({
    ...c.options,
    ffmpegPath: ffmpeg,
    ...(shared.timeoutMs ? { timeoutMs: shared.timeoutMs } : {}),
  });
  const plans = await Promise.allSettled(clips.map((c) => planDecode(c.path, c.indices, clipOptions(c))));
  const results: PromiseSettledResult<DecodedFrames>[] = plans.map((p) =>
    p.status === 'rejected' ? p : { status: 'rejected', reason: new Error('not decoded') },
  );
  const ready = plans.flatMap((p, i) => (p.status === 'fulfilled' ? [{ i, plan: p.value }] : []));
  const alone = async (i: number) => {
    const c = clips[i]!;
    results[i] = await decodeFrames(c.path, c.indices, clipOptions(c)).then(
      (value) => ({ status: 'fulfilled' as const, value }),
      (reason: unknown) => ({ status: 'rejected' as const, reason }),
    );
  };
  if (ready.length <= 1) {
    await Promise.all(ready.map(({ i }) => alone(i)));
    return results;
  }
  const args = (output: (k: number) => string) => {
    const out = [...DECODE_GLOBAL];
    for (const { plan } of ready) out.push(...plan.input);
    ready.forEach(({ plan }, k) => out.push(...plan.output(k), output(k)));
    return out;
  };
  const sinks = ready.map(({ plan }) => new Uint8Array(plan.indices.length * plan.width * plan.height * 3));
  const run = await runDecode(ffmpeg, args, sinks, (shared.timeoutMs ?? 60_000) * ready.length);
  const redo: number[] = [];
  const clean = !run.timedOut && run.code === 0 && errorLines(run.stderr).length === 0;
  ready.forEach(({ i, plan }, k) => {
    if (!clean) {
      redo.push(i);
      return;
    }
    try {
      const decoded = finishDecode(plan, sinks[k]!, run.written[k]!, '', run.code);
      if (decoded.missingFrames > 0) redo.push(i);
      else results[i] = { status: 'fulfilled', value: decoded };
    } catch {
      redo.push(i);
    }
  });
  for (const i of redo) await alone(i);
  return results;
}

/** The distinct error lines of an ffmpeg run at `-v error` (at most `max`). */
function errorLines(stderr: string, max = 8): string[] {
  // "[mpeg4 @ 0x55d0c8a3f740] Error at MB: 5" -> "mpeg4: Error at MB: 5" (the address differs on every run).
  const lines = stripLogContext(stderr)
    .split(/\r?\n|\r/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('frame='));
  return [...new Set(lines)].slice(0, max);
}

/** Result of {@link scanVideoFrames}. */
export interface FrameScan {
  /** Frames the decoder output, decoding the whole video stream in order. */
  readonly decodedFrames: number;
  /** Distinct error lines of the demuxer and decoder (corrupt packets, damaged macroblocks), at most 8. */
  readonly errors: readonly string[];
}

/**
 * Decodes every frame of the first video stream (scaled to 16x16, discarded) to count the frames the decoder really
 * outputs and collect its errors: the full-file check behind `lss-data check`. One ffmpeg process.
 */
export async function scanVideoFrames(path: string, options: FfmpegOptions = {}): Promise<FrameScan> {
  checkFile(path);
  const ffmpeg = options.ffmpegPath ?? resolveFfmpeg().path;
  // framecrc prints one line per decoded frame; -vsync 0 so no frame is duplicated or dropped on the way out.
  const args = ['-hide_banner', '-nostdin', '-v', 'error', '-threads', '1', '-i', path, '-map', '0:v:0', '-an', '-sn', '-dn'];
  args.push('-vf', 'scale=16:16', '-vsync', '0', '-f', 'framecrc', '-');
  const result = await runFfmpeg(ffmpeg, args, { timeoutMs: options.timeoutMs ?? 120_000 });
  if (result.timedOut) throw new DataError(`ffmpeg timed out decoding all of ${path}${timeoutHint(options.timeoutMs)}`, { file: path });
  let decodedFrames = 0;
  for (const line of result.stdout.toString('utf8').split('\n')) if (line !== '' && !line.startsWith('#')) decodedFrames++;
  const errors = errorLines(result.stderr);
  if (result.code !== 0 && errors.length === 0) errors.push(`ffmpeg exited with code ${result.code}`);
  return { decodedFrames, errors };
}

/** Video codecs the encoder helper knows, with the container each is written in by the synthetic generators. */
export const ENCODE_CODECS = ['xvid', 'mpeg4', 'h264', 'vp9'] as const;

/** Video codecs the encoder helper knows. */
export type EncodeCodec = (typeof ENCODE_CODECS)[number];

/** Returns `codec` typed as an {@link EncodeCodec}, or throws `ConfigError` listing the valid codecs. */
export function parseEncodeCodec(codec: string): EncodeCodec {
  if ((ENCODE_CODECS as readonly string[]).includes(codec)) return codec as EncodeCodec;
  throw new ConfigError(
    `Unknown codec "${codec}". Expected one of: ${ENCODE_CODECS.join(', ')} (xvid and mpeg4 write .avi, h264 .mp4, vp9 .webm).`,
  );
}

/** Lists the encoder names an ffmpeg binary offers (`ffmpeg -encoders`). */
export async function listEncoders(ffmpegPath?: string): Promise<Set<string>> {
  const ffmpeg = ffmpegPath ?? resolveFfmpeg().path;
  const result = await runFfmpeg(ffmpeg, ['-hide_banner', '-encoders'], { timeoutMs: 30_000 });
  const names = new Set<string>();
  for (const line of result.stdout.toString('utf8').split('\n')) {
    const m = /^\s*[VAS][.A-Z]{5}\s+(\S+)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** ffmpeg arguments for each codec, preferring the real library encoders and falling back to built-in ones. */
export function encoderArgs(codec: EncodeCodec, available: ReadonlySet<string>): string[] {
  switch (codec) {
    case 'h264':
      if (!available.has('libx264'))
        throw new ConfigError('This ffmpeg has no libx264 encoder; cannot write H.264. Use another codec or ffmpeg build.');
      return ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'];
    case 'xvid':
      return available.has('libxvid')
        ? ['-c:v', 'libxvid', '-q:v', '3', '-vtag', 'XVID', '-pix_fmt', 'yuv420p']
        : ['-c:v', 'mpeg4', '-q:v', '3', '-vtag', 'XVID', '-pix_fmt', 'yuv420p'];
    case 'mpeg4':
      return ['-c:v', 'mpeg4', '-q:v', '3', '-pix_fmt', 'yuv420p'];
    case 'vp9':
      if (!available.has('libvpx-vp9'))
        throw new ConfigError('This ffmpeg has no libvpx-vp9 encoder; cannot write VP9. Use another codec or ffmpeg build.');
      return ['-c:v', 'libvpx-vp9', '-b:v', '0', '-crf', '32', '-deadline', 'realtime', '-cpu-used', '8', '-pix_fmt', 'yuv420p'];
  }
}

const encoderCache = new Map<string, Promise<Set<string>>>();

/** Options of {@link encodeVideo}. */
export interface EncodeOptions {
  readonly codec: EncodeCodec;
  readonly fps: number;
  readonly ffmpegPath?: string;
  /** Keyframe interval in frames (`-g`); default ffmpeg's. */
  readonly gopSize?: number;
  readonly timeoutMs?: number;
}

/**
 * Encodes raw frames (`[T, H, W, 3]` uint8, H and W even) piped as rgb24 into a video file whose container follows
 * the extension (`.avi`, `.mp4`, `.webm`, `.mkv`).
 */
export async function encodeVideo(frames: RgbFrames, outPath: string, options: EncodeOptions): Promise<void> {
  parseEncodeCodec(options.codec);
  const [T, H, W] = frames.shape;
  if (W % 2 !== 0 || H % 2 !== 0) throw new ConfigError(`encodeVideo: width and height must be even for yuv420p; received ${W}x${H}.`);
  if (frames.data.length !== T * H * W * 3)
    throw new ConfigError(`encodeVideo: data has ${frames.data.length} bytes; shape needs ${T * H * W * 3}.`);
  const ffmpeg = options.ffmpegPath ?? resolveFfmpeg().path;
  let encoders = encoderCache.get(ffmpeg);
  if (!encoders) {
    encoders = listEncoders(ffmpeg);
    encoderCache.set(ffmpeg, encoders);
  }
  const args = [
    '-hide_banner',
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    `${W}x${H}`,
    '-r',
    String(options.fps),
    '-i',
    'pipe:0',
  ];
  args.push(...encoderArgs(options.codec, await encoders), '-threads', '1');
  if (options.gopSize) args.push('-g', String(options.gopSize));
  args.push(outPath);
  const result = await runFfmpeg(ffmpeg, args, { input: frames.data, timeoutMs: options.timeoutMs ?? 120_000, collectStdout: false });
  if (result.code !== 0) {
    throw new DataError(`ffmpeg failed to encode ${outPath} (${options.codec}, exit ${result.code}): ${lastLines(result.stderr)}.`, {
      file: outPath,
    });
  }
}
