/**
 * Frame identity: for every kind of file users have (container x codec x B-frames x complete, partial or missing
 * timestamps), frame i is the i-th frame the decoder outputs, as PyAV's `container.decode()` gives it.
 * Each kind is generated with ffmpeg from frames that encode their own index (see `indexPatternFrames`), so the
 * decode order is known without a reference; PyAV (Debian's python3-av) is the second reference where installed.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, readFrameIndex, TEST_FFMPEG, VIDEO_KINDS, writeKindVideo } from './__fixtures__/videos.js';
import { checkVideoFile } from './check.js';
import { AV_NOPTS_VALUE, decodeFrames, parseFramecrc, parseTimestamp, probeVideo } from './ffmpeg.js';

const here = dirname(fileURLToPath(import.meta.url));
const CASES = join(here, '__fixtures__', 'cases');
const PYAV_SCRIPT = join(here, '__fixtures__', 'pyav_frames.py');
const HAS_PYAV = spawnSync('/usr/bin/python3', ['-c', 'import av'], { stdio: 'ignore' }).status === 0;

/** PyAV's frames of each file (one Python process for all): count and mean RGB value of each, in decode order. */
function pyavFrames(paths: readonly string[]): Record<string, { count: number; means: number[] }> {
  const out = spawnSync('/usr/bin/python3', [PYAV_SCRIPT, ...paths], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (out.status !== 0) throw new Error(`PyAV failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as Record<string, { count: number; means: number[] }>;
}

const KIND_DIR = makeTempDir('kinds');
const KIND_FILES = new Map(VIDEO_KINDS.map((kind) => [kind.name, writeKindVideo(KIND_DIR, kind, 60)]));
let pyav: Record<string, { count: number; means: number[] }> | undefined;
beforeAll(() => {
  if (HAS_PYAV) pyav = pyavFrames([...KIND_FILES.values()]);
});

function frameMeans(frames: { data: Uint8Array; shape: readonly number[] }): number[] {
  const [n, h, w] = frames.shape as [number, number, number];
  const size = h * w * 3;
  return Array.from({ length: n }, (_, k) => {
    let s = 0;
    for (let i = k * size; i < (k + 1) * size; i++) s += frames.data[i]!;
    return s / size;
  });
}

describe('timestamps that mean "none"', () => {
  it('AV_NOPTS_VALUE, N/A and non-integers are no timestamp; integers are', () => {
    expect(parseTimestamp(AV_NOPTS_VALUE)).toBeUndefined();
    expect(parseTimestamp(' -9223372036854775808')).toBeUndefined();
    expect(parseTimestamp('N/A')).toBeUndefined();
    expect(parseTimestamp('')).toBeUndefined();
    expect(parseTimestamp('1.5')).toBeUndefined();
    expect(parseTimestamp('9223372036854775807')).toBeUndefined();
    expect(parseTimestamp('  -1024')).toBe(-1024);
    expect(parseTimestamp('0')).toBe(0);
  });

  it('parseFramecrc counts packets without pts and corrupt ones, and gives no times when any pts is missing', () => {
    const text = `#tb 0: 1/25\n0,          0, ${AV_NOPTS_VALUE},        1,      106, 0xfe5c27d7\n0,          1,          2,        1,       63, 0x848426a6, F=0x0\n0,          2, N/A,        1,       63, 0x848426a6, F=0x2\n`;
    expect(parseFramecrc(text)).toEqual({ count: 3, times: [], missingPts: 2, corruptPackets: 1 });
  });
});

describe.each(VIDEO_KINDS.map((kind) => [kind.name, kind] as const))('frame identity: %s', (_name, kind) => {
  const path = KIND_FILES.get(kind.name)!;

  it('probe says how frames are found; decoded frames are the i-th decoded frames, with and without seeking', async () => {
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    expect(info.frameOrder).toBe(kind.timestamps === 'all' ? 'timestamps' : 'decode-order');
    // libxvid with B-frames in ffmpeg 4.1 loses the last frame when flushing; every other kind keeps all 60.
    expect(info.numFrames).toBe(kind.name === 'avi-xvid-bframes' ? 59 : 60);
    const n = info.numFrames;
    for (const wanted of [[0, 1, 13, 40], [29, 30, 44, n - 1], [n - 1], [37, 12, 12, 3]]) {
      const decoded = await decodeFrames(path, wanted, { ffmpegPath: TEST_FFMPEG, info });
      expect(decoded.missingFrames).toBe(0);
      expect(decoded.substitutedIndices).toEqual([]);
      expect(decoded.indices.map((_, k) => readFrameIndex(decoded.frames, k))).toEqual(decoded.indices);
    }
  });

  it.skipIf(!HAS_PYAV)('same frame count and frames as PyAV (python3-av)', async () => {
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    const reference = pyav?.[path];
    if (!reference) throw new Error(`PyAV gave nothing for ${path}`);
    expect(info.numFrames).toBe(reference.count);
    const wanted = [0, 5, 11, 12, 23, 24, 30, 47, info.numFrames - 1];
    const decoded = await decodeFrames(path, wanted, { ffmpegPath: TEST_FFMPEG, info });
    const ours = frameMeans(decoded.frames);
    // Neighbouring frames differ by >= 8 in mean; the two rgb24 conversions by well under 1.
    decoded.indices.forEach((i, k) => expect(Math.abs(ours[k]! - reference.means[i]!), `frame ${i}`).toBeLessThan(1));
  });
});

describe('xvid_bframes.avi (Xvid with B-frames in AVI, no pts on its packets)', () => {
  const path = join(CASES, 'xvid_bframes.avi');
  // PyAV 10 decoding every frame in order: frame N has luma 2N.
  const expected: Record<number, number> = { 6: 0, 18: 23, 31: 53, 43: 81, 56: 111, 68: 139, 81: 170, 93: 197 };

  it('gives the frames PyAV gives, at every requested index, and check calls it valid', async () => {
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    expect(info).toMatchObject({ numFrames: 100, frameOrder: 'decode-order', width: 64, height: 48, fps: 25 });
    const indices = Object.keys(expected).map(Number);
    const decoded = await decodeFrames(path, indices, { ffmpegPath: TEST_FFMPEG, info });
    const means = frameMeans(decoded.frames);
    indices.forEach((i, k) => expect(Math.abs(means[k]! - expected[i]!), `frame ${i}`).toBeLessThanOrEqual(3));
    // One index at a time (the paths that used to say "corrupt or truncated").
    for (const i of [43, 56, 99]) {
      const one = await decodeFrames(path, [i], { ffmpegPath: TEST_FFMPEG, info });
      expect(one.missingFrames).toBe(0);
      expect(Math.abs(frameMeans(one.frames)[0]! - Math.max(0, ((2 * i - 16) * 255) / 219))).toBeLessThanOrEqual(3);
    }
    const check = await checkVideoFile(path, { ffmpegPath: TEST_FFMPEG });
    expect(check.reason).toBeUndefined();
    expect(check.ok).toBe(true);
  });
});
