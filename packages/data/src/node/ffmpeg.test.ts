import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, DataError } from '@lss/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { indexPatternFrames, makeTempDir, readFrameIndex, TEST_FFMPEG, writeBadFiles, writeIndexVideo } from './__fixtures__/videos.js';
import {
  decodeClips,
  decodeFrames,
  describeFfmpeg,
  installerFfmpegPath,
  listEncoders,
  parseEncodeCodec,
  parseFfmpegBanner,
  parseFramecrc,
  probeVideo,
  resolveFfmpeg,
  stripLogContext,
} from './ffmpeg.js';

describe('resolveFfmpeg', () => {
  it('prefers LSS_FFMPEG, then the bundled @ffmpeg-installer/ffmpeg (faster), then PATH, and says which', () => {
    const dir = makeTempDir('resolve');
    const fake = join(dir, 'ffmpeg');
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o755);
    expect(resolveFfmpeg({ env: { LSS_FFMPEG: fake, PATH: dir } })).toEqual({ path: fake, source: 'LSS_FFMPEG' });
    const installed = installerFfmpegPath();
    expect(installed, '@ffmpeg-installer/ffmpeg is an optional dependency and must be installed for the tests').toBeDefined();
    // An ffmpeg on PATH does not win over the bundled one.
    expect(resolveFfmpeg({ env: { PATH: dir } })).toEqual({ path: installed, source: '@ffmpeg-installer/ffmpeg' });
    // Path, version (the static build's git describe), why chosen.
    expect(describeFfmpeg(resolveFfmpeg({ env: { PATH: dir } }))).toMatch(
      /^ffmpeg: .*ffmpeg, version N-\d+-g[0-9a-f]+-static \(the bundled @ffmpeg-installer\/ffmpeg build, preferred for speed; set LSS_FFMPEG.*no ffprobe is used/,
    );
    expect(describeFfmpeg({ path: fake, source: 'PATH' })).toMatch(/version unknown \(the first ffmpeg on PATH/);
    expect(() => resolveFfmpeg({ env: { LSS_FFMPEG: join(dir, 'missing') } })).toThrow(/LSS_FFMPEG=.*not an executable/);
    expect(() => resolveFfmpeg({ ffmpegPath: join(dir, 'missing') })).toThrow(ConfigError);
  });

  it('an unknown codec is a ConfigError listing the valid ones', () => {
    expect(parseEncodeCodec('vp9')).toBe('vp9');
    expect(() => parseEncodeCodec('bad')).toThrow(/Unknown codec "bad". Expected one of: xvid, mpeg4, h264, vp9/);
  });

  it('the bundled static ffmpeg has the encoders the tests and the generator use', async () => {
    const encoders = await listEncoders(TEST_FFMPEG);
    expect(encoders.has('libx264')).toBe(true);
    expect(encoders.has('libvpx-vp9')).toBe(true);
    expect(encoders.has('mpeg4')).toBe(true);
  });
});

describe('parseFfmpegBanner', () => {
  it('reads size, rate, codec, duration, start and rotation', () => {
    const banner = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'a.mp4':
  Duration: 00:00:10.01, start: 0.033000, bitrate: 38 kb/s
    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 320x240 [SAR 1:1 DAR 4:3], 35 kb/s, 29.97 fps, 29.97 tbr, 12800 tbn, 50 tbc (default)
    Metadata:
      rotate          : 90
    Stream #0:1(und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp, 128 kb/s (default)
frame=  300 fps=0.0 q=-1.0 Lsize=N/A time=00:00:10.00 bitrate=N/A speed=8.23e+03x`;
    const parsed = parseFfmpegBanner(banner);
    expect(parsed.video).toEqual({ codec: 'h264', width: 320, height: 240, fps: 29.97, rotation: 90 });
    expect(parsed.duration).toBeCloseTo(10.01, 6);
    expect(parsed.startTime).toBeCloseTo(0.033, 6);
    expect(parsed.countedFrames).toBe(300);
  });
});

describe('probe and decode, each container and codec', () => {
  let dir: string;
  const files: Record<string, string> = {};
  beforeAll(async () => {
    dir = makeTempDir('codecs');
    [files.avi, files.mp4, files.webm] = await Promise.all([
      writeIndexVideo(dir, 'xvid.avi', 'xvid'),
      writeIndexVideo(dir, 'h264.mp4', 'h264'),
      writeIndexVideo(dir, 'vp9.webm', 'vp9'),
    ]);
  });

  it.each([
    ['avi', 'mpeg4'],
    ['mp4', 'h264'],
    ['webm', 'vp9'],
  ])('%s (%s): probe, then decode exactly the requested frames, with seeking', async (key, codec) => {
    const path = files[key]!;
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    expect(info).toMatchObject({ width: 64, height: 48, fps: 25, numFrames: 100, frameCountExact: true, codec });
    expect(info.duration).toBeCloseTo(4, 1);
    // Unsorted, duplicated indices; the first one is past 0.5 s so ffmpeg seeks.
    const requested = [77, 31, 32, 99, 31, 50];
    const decoded = await decodeFrames(path, requested, { ffmpegPath: TEST_FFMPEG, info });
    expect(decoded.indices).toEqual([31, 32, 50, 77, 99]);
    expect(decoded.frames.shape).toEqual([5, 48, 64, 3]);
    expect(decoded.missingFrames).toBe(0);
    expect(decoded.indices.map((_, k) => readFrameIndex(decoded.frames, k))).toEqual([31, 32, 50, 77, 99]);
    // From the start, no seek, resized on the way out.
    const small = await decodeFrames(path, [0, 1, 15], { ffmpegPath: TEST_FFMPEG, info, outputSize: { width: 32, height: 24 } });
    expect(small.frames.shape).toEqual([3, 24, 32, 3]);
    expect([0, 1, 2].map((k) => readFrameIndex(small.frames, k))).toEqual([0, 1, 15]);
  });

  it('maxShortSide downscales but never upscales', async () => {
    const info = await probeVideo(files.mp4!, { ffmpegPath: TEST_FFMPEG });
    const down = await decodeFrames(files.mp4!, [5], { ffmpegPath: TEST_FFMPEG, info, maxShortSide: 24 });
    expect(down.frames.shape).toEqual([1, 24, 32, 3]);
    const same = await decodeFrames(files.mp4!, [5], { ffmpegPath: TEST_FFMPEG, info, maxShortSide: 256 });
    expect(same.frames.shape).toEqual([1, 48, 64, 3]);
  });

  it('decodeClips: several clips in one ffmpeg process give exactly what decodeFrames gives each alone', async () => {
    const xvidBframes = fileURLToPath(new URL('./__fixtures__/cases/xvid_bframes.avi', import.meta.url));
    const clips = [
      { path: files.avi!, indices: [77, 31, 99], options: { outputSize: { width: 32, height: 24 } } },
      { path: files.mp4!, indices: [3, 50, 51] },
      { path: files.webm!, indices: [60, 10], options: { maxShortSide: 24, threads: 2 } },
      { path: xvidBframes, indices: [0, 7, 20] }, // no pts: decode order, no seek
      { path: files.mp4!, indices: [100] }, // out of range: fails alone, before any process starts
      { path: join(dir, 'nope.mp4'), indices: [0] }, // missing: fails alone
    ];
    const opts = (c: (typeof clips)[number]) => ({ ffmpegPath: TEST_FFMPEG, ...('options' in c ? c.options : {}) });
    const alone = await Promise.allSettled(clips.map((c) => decodeFrames(c.path, c.indices, opts(c))));
    const together = await decodeClips(
      clips.map((c) => ({ path: c.path, indices: c.indices, options: opts(c) })),
      { ffmpegPath: TEST_FFMPEG },
    );
    expect(together.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'rejected']);
    together.forEach((r, i) => {
      const a = alone[i]!;
      if (r.status === 'fulfilled' && a.status === 'fulfilled') {
        expect(r.value.indices).toEqual(a.value.indices);
        expect(r.value.frames.shape).toEqual(a.value.frames.shape);
        expect(Buffer.from(r.value.frames.data).equals(Buffer.from(a.value.frames.data)), `clip ${i}: same bytes`).toBe(true);
        expect(r.value.decoderErrors).toEqual([]);
      } else {
        expect(r.status).toBe(a.status);
        expect(String((r as PromiseRejectedResult).reason)).toBe(String((a as PromiseRejectedResult).reason));
      }
    });
    const first = together[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof decodeFrames>>>;
    expect(first.value.indices.map((_, k) => readFrameIndex(first.value.frames, k))).toEqual([31, 77, 99]);
    // A damaged clip in the group: its errors cannot be told apart in a shared process, so it is decoded again alone
    // and gets its own decoder errors; the clean clip keeps its frames.
    const trunc = fileURLToPath(new URL('./__fixtures__/cases/trunc75.avi', import.meta.url));
    const info = await probeVideo(trunc, { ffmpegPath: TEST_FFMPEG });
    const last = [info.numFrames - 3, info.numFrames - 2, info.numFrames - 1];
    const truncAlone = await decodeFrames(trunc, last, { ffmpegPath: TEST_FFMPEG, info });
    const mixed = await decodeClips(
      [
        { path: trunc, indices: last, options: { info } },
        { path: files.mp4!, indices: [3, 50, 51] },
      ],
      { ffmpegPath: TEST_FFMPEG },
    );
    expect(mixed.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    const t = (mixed[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof decodeFrames>>>).value;
    expect(t.decoderErrors).toEqual(truncAlone.decoderErrors);
    expect(t.substitutedIndices).toEqual(truncAlone.substitutedIndices);
    expect(t.decoderErrors.length + t.substitutedIndices.length).toBeGreaterThan(0);
  });

  it('rejects out-of-range indices with the valid range', async () => {
    const info = await probeVideo(files.mp4!, { ffmpegPath: TEST_FFMPEG });
    await expect(decodeFrames(files.mp4!, [100], { ffmpegPath: TEST_FFMPEG, info })).rejects.toThrow(/outside \[0, 100\)/);
  });
});

/** Encodes index-pattern frames with extra ffmpeg arguments (input options before `-i pipe:0`, output options after). */
function encodeWith(path: string, numFrames: number, inputArgs: string[], outputArgs: string[]): void {
  const frames = indexPatternFrames(numFrames, 64, 48);
  const args = [
    '-hide_banner',
    '-v',
    'error',
    '-y',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'rgb24',
    '-s',
    '64x48',
    '-r',
    '25',
    ...inputArgs,
    '-i',
    'pipe:0',
    ...outputArgs,
    path,
  ];
  const result = spawnSync(TEST_FFMPEG, args, { input: Buffer.from(frames.data.buffer) });
  if (result.status !== 0) throw new Error(`ffmpeg failed: ${result.stderr.toString()}`);
}

describe('timestamps', () => {
  it('parseFramecrc reads the packet count and sorted pts in seconds', () => {
    const text =
      '#tb 0: 1/12800\n#media_type 0: video\n0, -1024, 0, 512, 3952, 0x98\n0, -512, 1024, 512, 530, 0x56, F=0x0\n0, 0, 512, 512, 88, 0xbc\n';
    expect(parseFramecrc(text)).toEqual({ count: 3, times: [0, 0.04, 0.08], missingPts: 0, corruptPackets: 0 });
  });

  it('a video stream that starts after the container (audio first) still maps index i to the i-th frame', async () => {
    const path = join(makeTempDir('offset'), 'offset.mp4');
    // Video timestamps shifted by 0.52 s (an MP4 edit list); the audio starts at 0.
    encodeWith(
      path,
      60,
      [],
      [
        '-f',
        'lavfi',
        '-i',
        'sine=duration=3',
        '-map',
        '0:v',
        '-map',
        '1:a',
        '-vf',
        'setpts=PTS+0.52/TB',
        '-c:v',
        'libx264',
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
      ],
    );
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    expect(info.numFrames).toBe(60);
    expect(info.startTime).toBeCloseTo(0.52, 2);
    expect(info.containerStartTime).toBeLessThan(0.1);
    const decoded = await decodeFrames(path, [0, 1, 40, 59], { ffmpegPath: TEST_FFMPEG, info });
    expect(decoded.missingFrames).toBe(0);
    expect([0, 1, 2, 3].map((k) => readFrameIndex(decoded.frames, k))).toEqual([0, 1, 40, 59]);
  });

  it('variable frame rate: index i is the i-th frame in presentation order', async () => {
    const path = join(makeTempDir('vfr'), 'vfr.mkv');
    // Drop frames 10-14 and keep the original timestamps: a 200 ms gap.
    encodeWith(path, 50, [], ['-vf', "select='not(between(n\\,10\\,14))'", '-vsync', 'vfr', '-c:v', 'libx264', '-pix_fmt', 'yuv420p']);
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    expect(info.numFrames).toBe(45);
    expect(info.frameTimes).toHaveLength(45);
    const decoded = await decodeFrames(path, [5, 9, 10, 30, 44], { ffmpegPath: TEST_FFMPEG, info });
    // Positions after the gap hold content frames shifted by the 5 dropped ones.
    expect([0, 1, 2, 3, 4].map((k) => readFrameIndex(decoded.frames, k))).toEqual([5, 9, 15, 35, 49]);
  });
});

describe('bad files fail with a DataError that names the file and the problem', () => {
  it('zero-byte, truncated MP4, audio-only, text renamed .mp4, missing', async () => {
    const dir = makeTempDir('bad');
    const bad = await writeBadFiles(dir);
    const probe = (p: string) => probeVideo(p, { ffmpegPath: TEST_FFMPEG });
    await expect(probe(bad.zeroBytes)).rejects.toThrow(/Empty video file \(0 bytes\)/);
    await expect(probe(bad.truncatedMp4)).rejects.toThrow(DataError);
    await expect(probe(bad.audioOnly)).rejects.toThrow(/no video stream/);
    await expect(probe(bad.textAsMp4)).rejects.toThrow(/cannot read .*notes\.mp4/);
    await expect(probe(join(dir, 'nope.mp4'))).rejects.toThrow(/Video not found/);
    mkdirSync(join(dir, 'folder.mp4'));
    await expect(probe(join(dir, 'folder.mp4'))).rejects.toThrow(/Not a file/);
  });
});

describe("ffmpeg's context addresses never reach a reason", () => {
  it('strips `[name @ 0x...]` so the same bad file gives the same text in every run', async () => {
    expect(stripLogContext('[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5581c0e3c700] moov atom not found')).toBe(
      'mov,mp4,m4a,3gp,3g2,mj2: moov atom not found',
    );
    expect(stripLogContext('x\n[graph 0 input from stream 0:0 @ 0x7f00aa01b2c0] error\n[h264 @ 000001D2AB34CD50] no frame!')).toBe(
      'x\ngraph 0 input from stream 0:0: error\nh264: no frame!',
    );
    const dir = makeTempDir('addresses');
    const bad = await writeBadFiles(dir);
    const reasons: string[] = [];
    for (let run = 0; run < 2; run++) {
      for (const path of [bad.truncatedMp4, bad.textAsMp4]) {
        const error = await probeVideo(path, { ffmpegPath: TEST_FFMPEG }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(DataError);
        reasons.push((error as Error).message);
      }
    }
    // ffmpeg prints e.g. "[mov,mp4,m4a,3gp,3g2,mj2 @ 0x55...] moov atom not found": the container's name stays.
    expect(reasons[0]).toMatch(/mov,mp4,m4a,3gp,3g2,mj2: moov atom not found/);
    for (const reason of reasons) expect(reason).not.toMatch(/@ (0x)?[0-9a-f]{6,}/i);
    expect(reasons.slice(2)).toEqual(reasons.slice(0, 2));
  });
});
