import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeTempDir, TEST_FFMPEG, writeBadFiles, writeIndexVideo } from './__fixtures__/videos.js';
import { checkDataset, checkVideoFile } from './check.js';
import { main } from './cli.js';
import { ffmpegVersion } from './ffmpeg.js';

const CASES = join(dirname(fileURLToPath(import.meta.url)), '__fixtures__', 'cases');

describe('check', () => {
  it('trunc75.avi (an Xvid AVI cut at 75 %, its last packet damaged) is reported with the reason', async () => {
    const check = await checkVideoFile(join(CASES, 'trunc75.avi'), { ffmpegPath: TEST_FFMPEG });
    expect(check.ok).toBe(false);
    // The bundled ffmpeg 4.1 reports the damaged macroblocks; ffmpeg >= 5 also flags the packet corrupt.
    expect(check.reason).toMatch(/damaged|truncated/);
    expect(check.reason).toMatch(/ac-tex damaged|Error at MB|corrupt/);
    // Without the full decode, 4.1 sees nothing wrong: the full decode is what catches it.
    const quick = await checkVideoFile(join(CASES, 'trunc75.avi'), { ffmpegPath: TEST_FFMPEG, fullDecode: false });
    expect(quick.ok).toBe(true);
  });

  it('checkDataset: a fifo and a directory named like videos are bad with their reason, other files are listed as skipped', async () => {
    const root = makeTempDir('check-odd-dataset');
    await writeIndexVideo(root, 'good.mp4', 'h264', 10);
    expect(spawnSync('mkfifo', [join(root, 'pipe.avi')]).status).toBe(0);
    mkdirSync(join(root, 'dir.mp4'));
    writeFileSync(join(root, 'notes.txt'), 'x');
    const result = await checkDataset(root, { ffmpegPath: TEST_FFMPEG });
    expect(result.numFiles).toBe(3);
    expect(result.numOk).toBe(1);
    expect(Object.fromEntries(result.bad.map((b) => [b.path.slice(root.length + 1), b.reason]))).toEqual({
      'dir.mp4': expect.stringMatching(/a directory named like a video file/),
      'pipe.avi': expect.stringMatching(/a named pipe \(fifo\)/),
    });
    expect(result.skipped).toEqual([
      { path: join(root, 'notes.txt'), reason: expect.stringMatching(/^not a video \(extension "\.txt" and no video container signature/) },
    ]);
  });

  it('a fifo and a directory named like a video get a precise reason', async () => {
    const dir = makeTempDir('check-odd');
    const fifo = join(dir, 'pipe.mp4');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    mkdirSync(join(dir, 'folder.avi'));
    expect((await checkVideoFile(fifo, { ffmpegPath: TEST_FFMPEG })).reason).toMatch(/named pipe \(fifo\)/);
    expect((await checkVideoFile(join(dir, 'folder.avi'), { ffmpegPath: TEST_FFMPEG })).reason).toMatch(/a directory named like a video/);
  });

  it('lists exactly the bad files of a dataset folder, with reasons', async () => {
    const root = makeTempDir('check');
    const badDir = join(root, 'ClassB');
    mkdirSync(badDir);
    const bad = await writeBadFiles(badDir);
    const goodDir = join(root, 'ClassA');
    mkdirSync(goodDir);
    await Promise.all([
      writeIndexVideo(goodDir, 'a.avi', 'xvid', 30),
      writeIndexVideo(goodDir, 'b.mp4', 'h264', 30),
      writeIndexVideo(goodDir, 'c.webm', 'vp9', 30),
    ]);
    const progress: string[] = [];
    const result = await checkDataset(root, { ffmpegPath: TEST_FFMPEG, onProgress: (c) => progress.push(c.path) });
    // 3 good + 5 bad + the 2 intact sources writeBadFiles cut from.
    expect(result.numFiles).toBe(10);
    expect(progress).toHaveLength(10);
    expect(result.bad.map((b) => b.path).sort()).toEqual(
      [bad.truncatedMp4, bad.truncatedAvi, bad.zeroBytes, bad.audioOnly, bad.textAsMp4].sort(),
    );
    expect(result.numOk).toBe(5);
    expect(result.skipped).toEqual([]);
    const reasonOf = (p: string) => result.bad.find((b) => b.path === p)?.reason;
    expect(reasonOf(bad.zeroBytes)).toMatch(/empty file/);
    expect(reasonOf(bad.truncatedAvi)).toMatch(/truncated: its video stream has \d+ frames/);
    expect(reasonOf(bad.truncatedMp4)).toMatch(/cannot read/);
    expect(reasonOf(bad.audioOnly)).toMatch(/no video stream/);
    expect(reasonOf(bad.textAsMp4)).toMatch(/cannot read/);
    const ok = await checkVideoFile(join(goodDir, 'c.webm'), { ffmpegPath: TEST_FFMPEG });
    expect(ok).toMatchObject({ ok: true, info: { codec: 'vp9', numFrames: 30 } });
  });

  it('lss-data check prints the bad files and exits 1; exits 0 on a clean folder', async () => {
    const root = makeTempDir('cli');
    await writeIndexVideo(root, 'good.mp4', 'h264', 20);
    const lines: string[] = [];
    const previous = process.env.LSS_FFMPEG;
    process.env.LSS_FFMPEG = TEST_FFMPEG;
    try {
      expect(await main(['check', root], (l) => lines.push(l))).toBe(0);
      expect(lines[0]).toBe(
        `ffmpeg: ${TEST_FFMPEG}, version ${ffmpegVersion(TEST_FFMPEG)} (from LSS_FFMPEG); no ffprobe is used, probing runs this ffmpeg`,
      );
      expect(lines[1]).toMatch(/checked 1 video file\(s\).*1 ok, 0 bad/);
      copyFileSync(join(root, 'good.mp4'), join(root, 'copy.mp4'));
      writeFileSync(join(root, 'broken.avi'), 'not a video');
      lines.length = 0;
      expect(await main(['check', root], (l) => lines.push(l))).toBe(1);
      expect(lines[1]).toMatch(/checked 3 video file\(s\).*2 ok, 1 bad/);
      expect(lines[2]).toMatch(/^BAD .*broken\.avi: /);
      lines.length = 0;
      expect(await main(['generate', join(root, 'synth'), '--classes', '2', '--videos', '3', '--frames', '8'], (l) => lines.push(l))).toBe(
        0,
      );
      expect(lines[1]).toMatch(/wrote 6 videos \(MoveLeft, MoveRight\)/);
      lines.length = 0;
      expect(await main(['generate', join(root, 'synth2'), '--codec', 'bad'], (l) => lines.push(l))).toBe(2);
      expect(lines).toEqual([
        'lss-data: Unknown codec "bad". Expected one of: xvid, mpeg4, h264, vp9 (xvid and mpeg4 write .avi, h264 .mp4, vp9 .webm).',
      ]);
      expect(await main(['bogus'], () => {})).toBe(2);
    } finally {
      if (previous === undefined) delete process.env.LSS_FFMPEG;
      else process.env.LSS_FFMPEG = previous;
    }
  });
});
