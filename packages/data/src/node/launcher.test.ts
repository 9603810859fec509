import { chmodSync, copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '@lss/core';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, readFrameIndex, TEST_FFMPEG, writeIndexVideo } from './__fixtures__/videos.js';
import { decodeClips, decodeFrames, probeVideo } from './ffmpeg.js';
import { ShellLauncher, shellQuote } from './launcher.js';

afterEach(() => {
  delete process.env.LSS_FFMPEG_LAUNCH;
});

describe('ShellLauncher: ffmpeg started by a small long-lived shell instead of forking this process', () => {
  it('quotes any argument for sh', () => {
    expect(shellQuote('it\'s a "video" $HOME `x` \\ ;')).toBe(`'it'\\''s a "video" $HOME \`x\` \\ ;'`);
  });

  it.runIf(ShellLauncher.available)(
    'decodes the same bytes as a direct spawn, for odd file names, alone and several clips at once',
    async () => {
      const dir = makeTempDir("launch it's $odd");
      const src = await writeIndexVideo(dir, 'a.mp4', 'h264', 60);
      const odd = join(dir, "clip 'one' $(rm -rf x) `y`.mp4");
      copyFileSync(src, odd);
      const info = await probeVideo(odd, { ffmpegPath: TEST_FFMPEG });
      const viaShell = await decodeFrames(odd, [5, 40, 59], { ffmpegPath: TEST_FFMPEG, info });
      process.env.LSS_FFMPEG_LAUNCH = 'direct';
      const direct = await decodeFrames(odd, [5, 40, 59], { ffmpegPath: TEST_FFMPEG, info });
      delete process.env.LSS_FFMPEG_LAUNCH;
      expect([0, 1, 2].map((k) => readFrameIndex(viaShell.frames, k))).toEqual([5, 40, 59]);
      expect(Buffer.from(viaShell.frames.data).equals(Buffer.from(direct.frames.data))).toBe(true);
      const group = await decodeClips(
        [
          { path: odd, indices: [1, 2], options: { info } },
          { path: src, indices: [30], options: { info } },
        ],
        { ffmpegPath: TEST_FFMPEG },
      );
      expect(group.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
      // Nothing left behind in the video folder (outputs go to the launcher's own folder, removed after each job).
      expect(readdirSync(dir).sort()).toEqual(['a.mp4', "clip 'one' $(rm -rf x) `y`.mp4"]);
    },
  );

  it.runIf(ShellLauncher.available)('a timeout kills the ffmpeg it started; errors and exit codes come back', async () => {
    const dir = makeTempDir('launch-timeout');
    const path = await writeIndexVideo(dir, 'long.mp4', 'h264', 250);
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    const started = performance.now();
    await expect(decodeFrames(path, [249], { ffmpegPath: TEST_FFMPEG, info, timeoutMs: 1 })).rejects.toThrow(/timed out decoding/);
    expect(performance.now() - started).toBeLessThan(20_000);
    // A file that is not what the probe said: ffmpeg's own error text comes back through the shell.
    const launcher = new ShellLauncher();
    try {
      const nullJob = () =>
        launcher.run(
          TEST_FFMPEG,
          ({ output }) => ['-v', 'error', '-f', 'lavfi', '-i', 'nullsrc=s=16x16:d=0.04', '-f', 'rawvideo', output(0)],
          [new Uint8Array(384)], // one 16x16 yuv420p frame
          10_000,
        );
      const childrenOf = (pids: number[]) =>
        readdirSync('/proc')
          .filter((d) => /^\d+$/.test(d))
          .flatMap((pid) => {
            try {
              const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
              return pids.includes(Number(fields[1])) ? [fields[0]] : [];
            } catch {
              return [];
            }
          });
      // One after another: the same shell runs every job in the foreground (it waits for, and so reaps, each one).
      for (let i = 0; i < 12; i++) expect((await nullJob()).written).toEqual([384]);
      expect(launcher.pids).toHaveLength(1);
      const first = launcher.pid;
      expect(childrenOf(launcher.pids)).toEqual([]);
      // Three at once: one shell each (a busy shell runs nothing else); afterwards they are reused, not added to.
      const together = await Promise.all([nullJob(), nullJob(), nullJob()]);
      expect(together.map((r) => r.code)).toEqual([0, 0, 0]);
      expect(launcher.pids).toHaveLength(3);
      expect(launcher.pids).toContain(first);
      await Promise.all([nullJob(), nullJob()]);
      expect(launcher.pids).toHaveLength(3);
      expect(childrenOf(launcher.pids)).toEqual([]);
      // A timeout kills the busy shell's process group: its ffmpeg dies with it, and the next job gets a new shell.
      const slow = launcher.run(
        TEST_FFMPEG,
        ({ output }) => ['-v', 'error', '-re', '-f', 'lavfi', '-i', 'nullsrc=s=16x16:d=60', '-f', 'rawvideo', output(0)],
        [new Uint8Array(768)],
        1500,
      );
      await new Promise((resolve) => setTimeout(resolve, 500));
      const busy = launcher.pids.filter((pid) => childrenOf([pid]).length > 0);
      expect(busy).toHaveLength(1);
      const ffmpegPids = readdirSync('/proc')
        .filter((d) => /^\d+$/.test(d))
        .filter((pid) => {
          try {
            return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === busy[0];
          } catch {
            return false;
          }
        });
      expect(ffmpegPids).toHaveLength(1);
      const killed = await slow;
      expect(killed.timedOut).toBe(true);
      expect(killed.code).toBeNull();
      await new Promise((resolve) => setTimeout(resolve, 200));
      const state = (pid: string) => {
        try {
          return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[0];
        } catch {
          return 'gone';
        }
      };
      expect(['gone', 'Z']).toContain(state(ffmpegPids[0]!));
      expect(launcher.pids).not.toContain(busy[0]);
      expect((await nullJob()).written).toEqual([384]);
      const r = await launcher.run(
        TEST_FFMPEG,
        ({ output }) => ['-v', 'error', '-i', join(dir, 'missing.mp4'), '-f', 'rawvideo', output(0)],
        [new Uint8Array(8)],
        10_000,
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/missing\.mp4: No such file or directory/);
      expect(r.written).toEqual([0]);
      expect(r.beforeExit).toBeUndefined();
      // With -progress on the shell's stdout, a job resolves at ffmpeg's final report, before the process has exited;
      // its shell takes no other job until then. A failure before any report still ends with ffmpeg's exit status.
      const progressJob = (input: string[]) =>
        launcher.run(
          TEST_FFMPEG,
          ({ output }) => ['-v', 'error', '-progress', 'pipe:1', ...input, '-f', 'rawvideo', output(0)],
          [new Uint8Array(384 * 3)],
          10_000,
          false,
          true,
        );
      const early = await progressJob(['-f', 'lavfi', '-i', 'nullsrc=s=16x16:d=0.12']);
      expect(early).toMatchObject({ code: 0, beforeExit: true, written: [384 * 3], stderr: '' });
      const failed = await progressJob(['-i', join(dir, 'missing.mp4')]);
      expect(failed.beforeExit).toBeUndefined();
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(/missing\.mp4: No such file or directory/);
      // Outputs pass through one reused read buffer: each sink gets exactly its own bytes, keeps them after later
      // jobs, and what ffmpeg did not write stays as the sink was (no bytes of an earlier, larger output).
      const solid = (colour: string, frames: number, sink: Uint8Array) =>
        launcher.run(
          TEST_FFMPEG,
          ({ output }) => [
            '-v',
            'error',
            '-f',
            'lavfi',
            '-i',
            `color=c=${colour}:s=8x8:r=10`,
            '-frames:v',
            String(frames),
            '-pix_fmt',
            'rgb24',
            '-f',
            'rawvideo',
            output(0),
          ],
          [sink],
          10_000,
        );
      const white = new Uint8Array(192 * 4);
      expect((await solid('white', 4, white)).written).toEqual([192 * 4]);
      const black = new Uint8Array(192 * 3).fill(7);
      expect((await solid('black', 1, black)).written).toEqual([192]);
      expect(white.every((v) => v === 255)).toBe(true);
      expect(black.subarray(0, 192).every((v) => v === 0)).toBe(true);
      expect(black.subarray(192).every((v) => v === 0 || v === 7)).toBe(true);
      expect(black.subarray(192).some((v) => v === 255)).toBe(false);
      // Every shell becomes idle again once its ffmpeg has exited.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const before = launcher.pids.length;
      await Promise.all(Array.from({ length: before }, () => nullJob()));
      expect(launcher.pids).toHaveLength(before);
    } finally {
      launcher.close();
    }
  });

  it.runIf(ShellLauncher.available)(
    'probes start through the launcher too (ffmpeg is not a child of this process), with the same result and reasons as a direct spawn',
    async () => {
      const dir = makeTempDir('launch-probe');
      const good = await writeIndexVideo(dir, 'a.mp4', 'h264', 30);
      const bad = join(dir, 'bad.mp4');
      writeFileSync(bad, Buffer.alloc(4096, 7));
      // A wrapper that records the pid of the process that started it, then runs the real ffmpeg.
      const log = join(dir, 'parents.log');
      const ffmpegPath = join(dir, 'ffmpeg-parent');
      writeFileSync(ffmpegPath, `#!/bin/sh\necho $PPID >> '${log}'\nexec '${TEST_FFMPEG}' "$@"\n`);
      chmodSync(ffmpegPath, 0o755);
      const parents = () => readFileSync(log, 'utf8').split('\n').filter(Boolean).map(Number);
      const reason = (p: Promise<unknown>) =>
        p.then(
          () => 'read',
          (e: Error) => e.message,
        );
      const viaShell = await probeVideo(good, { ffmpegPath });
      const viaShellBad = await reason(probeVideo(bad, { ffmpegPath }));
      expect(parents().filter((pid) => pid === process.pid)).toEqual([]);
      process.env.LSS_FFMPEG_LAUNCH = 'direct';
      const direct = await probeVideo(good, { ffmpegPath });
      const directBad = await reason(probeVideo(bad, { ffmpegPath }));
      delete process.env.LSS_FFMPEG_LAUNCH;
      expect(parents().slice(2)).toEqual([process.pid, process.pid]);
      expect(viaShell).toEqual(direct);
      expect(viaShell.numFrames).toBe(30);
      expect(viaShellBad).toMatch(/cannot read .*bad\.mp4 as a video/);
      expect(viaShellBad).toBe(directBad);
    },
  );

  it('an ffmpeg path that is not executable still fails with the clear start-up error', async () => {
    const dir = makeTempDir('launch-bad');
    const path = await writeIndexVideo(dir, 'a.mp4', 'h264', 10);
    const info = await probeVideo(path, { ffmpegPath: TEST_FFMPEG });
    await expect(decodeFrames(path, [1], { ffmpegPath: join(dir, 'no-ffmpeg'), info })).rejects.toThrow(DataError);
    await expect(decodeFrames(path, [1], { ffmpegPath: join(dir, 'no-ffmpeg'), info })).rejects.toThrow(/Could not start ffmpeg/);
  });
});
