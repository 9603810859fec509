import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { makeTempDir, TEST_FFMPEG, writeBadFiles, writeIndexVideo } from './__fixtures__/videos.js';
import { checkDataset, checkVideoFile, isAnnotationFile } from './check.js';

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
    expect(reasonOf(bad.zeroBytes)).toBe('empty file (0 bytes). Re-download or remove it.');
    expect(reasonOf(bad.truncatedAvi)).toMatch(/truncated: its video stream has \d+ frames/);
    expect(reasonOf(bad.truncatedMp4)).toMatch(/cannot read/);
    expect(reasonOf(bad.audioOnly)).toMatch(/no video stream/);
    expect(reasonOf(bad.textAsMp4)).toMatch(/cannot read/);
    const ok = await checkVideoFile(join(goodDir, 'c.webm'), { ffmpegPath: TEST_FFMPEG });
    expect(ok).toMatchObject({ ok: true, info: { codec: 'vp9', numFrames: 30 } });
  });

  it('checkDataset rejects a concurrency that is not an integer >= 1 instead of checking nothing', async () => {
    const root = makeTempDir('check-concurrency');
    writeFileSync(join(root, 'broken.avi'), 'not a video');
    for (const concurrency of [0, -1, 1.5, Number.NaN]) {
      const run = checkDataset(root, { ffmpegPath: TEST_FFMPEG, concurrency });
      await expect(run).rejects.toThrow(ConfigError);
      await expect(run).rejects.toThrow(
        `checkDataset: concurrency (files checked at once) must be an integer >= 1; received ${concurrency}. Pass e.g. { concurrency: 2 }, or omit it for the default 2.`,
      );
    }
    // concurrency 1 checks the file and finds it bad.
    const result = await checkDataset(root, { ffmpegPath: TEST_FFMPEG, concurrency: 1 });
    expect(result).toMatchObject({ numFiles: 1, numOk: 0, bad: [{ path: join(root, 'broken.avi'), ok: false }] });
  });

  it('isAnnotationFile: the text files a dataset holds next to its videos', () => {
    for (const name of ['classInd.txt', 'k400.CSV', 'meta.json', 'README.md', 'a.yaml', 'a.yml', 'a.xml'])
      expect(isAnnotationFile(`/d/${name}`)).toBe(true);
    for (const name of ['clip.bin', 'noext', 'v.avi', 'txt']) expect(isAnnotationFile(`/d/${name}`)).toBe(false);
  });
});
