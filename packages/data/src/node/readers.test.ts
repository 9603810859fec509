import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '@lss/core';
import { fixturePath } from '@lss/testing';
import { describe, expect, it } from 'vitest';
import { parseClassNamesCsv } from '../parse.js';
import { formatMissingSummary, formatSkippedSummary } from '../types.js';
import { makeTempDir, TEST_FFMPEG } from './__fixtures__/videos.js';
import { probeVideo } from './ffmpeg.js';
import {
  listVideoEntries,
  readFolderPerClass,
  readHmdb51,
  readKinetics400,
  readListFile,
  readUcf101,
  sniffVideoContainer,
  VIDEO_EXTENSIONS,
} from './readers.js';

// Readers only need the files to exist: placeholder bytes stand in for videos here (decoding is tested elsewhere).
function touch(path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, 'placeholder');
}

const labels = (name: string) => parseClassNamesCsv(readFileSync(fixturePath('datasets', 'labels', name), 'utf8'));

describe('readUcf101 (official ucfTrainTestlist format)', () => {
  it('reads classInd + train/test lists, resolves paths, reports missing videos in one summary', () => {
    const root = makeTempDir('ucf');
    const names = labels('ucf_101_labels.csv');
    const ann = join(root, 'ucfTrainTestlist');
    mkdirSync(ann);
    writeFileSync(join(ann, 'classInd.txt'), `${names.map((n, i) => `${i + 1} ${n}`).join('\r\n')}\r\n`);
    writeFileSync(
      join(ann, 'trainlist01.txt'),
      'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nYoYo/v_YoYo_g25_c05.avi 101\r\nYoYo/v_YoYo_g25_c06.avi 101\r\n',
    );
    writeFileSync(join(ann, 'testlist01.txt'), 'HandstandPushups/v_HandStandPushups_g01_c01.avi\r\n');
    const videos = join(root, 'UCF-101');
    touch(join(videos, 'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi'));
    touch(join(videos, 'YoYo/v_YoYo_g25_c05.avi'));
    touch(join(videos, 'HandstandPushups/v_HandStandPushups_g01_c01.avi'));
    const train = readUcf101({ videosDir: videos, annotationsDir: ann, split: 1, subset: 'train' });
    expect(train.classNames).toHaveLength(101);
    expect(train.samples.map((s) => [s.label, s.className])).toEqual([
      [0, 'ApplyEyeMakeup'],
      [100, 'YoYo'],
    ]);
    expect(train.samples[0]!.path).toBe(join(videos, 'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi'));
    expect(train.missing).toEqual([{ path: join(videos, 'YoYo/v_YoYo_g25_c06.avi'), file: join(ann, 'trainlist01.txt'), line: 3 }]);
    expect(formatMissingSummary(train)).toMatch(
      /ucf101: 1 listed video\(s\) not found on disk \(2 found\).*\n.*v_YoYo_g25_c06\.avi \(listed at .*trainlist01\.txt:3\)/,
    );
    const test = readUcf101({ videosDir: videos, annotationsDir: ann, split: 1, subset: 'test' });
    expect(test.samples.map((s) => s.className)).toEqual(['HandstandPushups']);
    expect(() => readUcf101({ videosDir: videos, annotationsDir: ann, split: 2, subset: 'train' })).toThrow(/trainlist02\.txt/);
  });
});

describe('readHmdb51 (official testTrainMulti_7030_splits)', () => {
  it('classes are the split-file prefixes, sorted; tags 1/2 select train/test', () => {
    const root = makeTempDir('hmdb');
    const names = labels('hmdb_51_labels.csv').map((n) => n.replace(/ /g, '_'));
    const splits = join(root, 'testTrainMulti_7030_splits');
    mkdirSync(splits);
    for (const [k, name] of names.entries()) {
      for (const split of [1, 2, 3]) {
        const lines = [`${name}_a.avi 1 `, `${name}_b.avi 2 `, `${name}_c.avi 0 `];
        writeFileSync(join(splits, `${name}_test_split${split}.txt`), `${lines.join('\n')}\n`);
      }
      touch(join(root, 'videos', name, `${name}_a.avi`));
      if (k !== 3) touch(join(root, 'videos', name, `${name}_b.avi`));
    }
    const train = readHmdb51({ videosDir: join(root, 'videos'), splitsDir: splits, split: 2, subset: 'train' });
    const sorted = [...names].sort();
    expect(train.classNames).toEqual(sorted);
    // ViFi-CLIP's list is the same 51 names in a slightly different order (kick_ball before kick, sword_exercise before sword).
    expect(names.indexOf('kick_ball')).toBeLessThan(names.indexOf('kick'));
    expect(sorted.indexOf('kick')).toBeLessThan(sorted.indexOf('kick_ball'));
    expect(train.samples).toHaveLength(51);
    expect(train.samples[5]).toMatchObject({ label: 5, className: sorted[5] });
    const test = readHmdb51({ videosDir: join(root, 'videos'), splitsDir: splits, split: 2, subset: 'test' });
    expect(test.samples).toHaveLength(50);
    expect(test.missing).toHaveLength(1);
    expect(test.missing[0]!.file).toBe(join(splits, `${names[3]}_test_split2.txt`));
    expect(test.missing[0]!.path).toBe(join(root, 'videos', names[3]!, `${names[3]}_b.avi`));
    expect(test.missing[0]!.line).toBe(2);
  });

  it('malformed lines throw with file and line', () => {
    const root = makeTempDir('hmdb-bad');
    writeFileSync(join(root, 'wave_test_split1.txt'), 'a.avi 1\nb.avi train\n');
    try {
      readHmdb51({ videosDir: root, splitsDir: root, split: 1, subset: 'train' });
      throw new Error('expected a DataError');
    } catch (error) {
      expect(error).toBeInstanceOf(DataError);
      expect((error as DataError).line).toBe(2);
      expect((error as Error).message).toContain('wave_test_split1.txt:2');
    }
  });
});

describe('readKinetics400', () => {
  it('CSV + any folder layout; labels index the 400 official names; missing clips are summarised', () => {
    const root = makeTempDir('k400');
    const names = labels('kinetics_400_labels.csv');
    writeFileSync(
      join(root, 'train.csv'),
      'label,youtube_id,time_start,time_end,split\n' +
        'abseiling,--07WQ2iBlw,1,11,train\n' +
        '"air drumming",-7kbO0v4hag,45,55,train\n' +
        'zumba,zzz,0,10,train\n' +
        'abseiling,gone,3,13,train\n',
    );
    touch(join(root, 'videos', 'train', 'abseiling', '--07WQ2iBlw_000001_000011.mp4'));
    touch(join(root, 'videos', 'train', 'air_drumming', '-7kbO0v4hag_000045_000055.webm'));
    touch(join(root, 'videos', 'zzz.mkv'));
    const ds = readKinetics400({ csvPath: join(root, 'train.csv'), videosDir: join(root, 'videos'), classNames: names });
    expect(ds.samples.map((s) => [s.label, s.className, s.timeStart])).toEqual([
      [0, 'abseiling', 1],
      [1, 'air drumming', 45],
      [399, 'zumba', 0],
    ]);
    expect(ds.missing.map((m) => m.line)).toEqual([5]);
    // Without classNames, the CSV's labels sorted.
    expect(readKinetics400({ csvPath: join(root, 'train.csv'), videosDir: join(root, 'videos') }).classNames).toEqual([
      'abseiling',
      'air drumming',
      'zumba',
    ]);
    writeFileSync(join(root, 'bad.csv'), 'label,youtube_id,time_start,time_end,split\nnot a class,x,0,10,train\n');
    expect(() => readKinetics400({ csvPath: join(root, 'bad.csv'), videosDir: root, classNames: names })).toThrow(
      /bad\.csv:2: label "not a class"/,
    );
  });
});

describe('readFolderPerClass and readListFile', () => {
  it('folder per class: sorted class folders, recursive video files only', () => {
    const root = makeTempDir('folder');
    touch(join(root, 'b_class', 'x.mp4'));
    touch(join(root, 'a_class', 'sub', 'y.avi'));
    touch(join(root, 'a_class', 'readme.txt'));
    const warnings: string[] = [];
    const ds = readFolderPerClass({ root, onWarning: (m) => warnings.push(m) });
    expect(ds.classNames).toEqual(['a_class', 'b_class']);
    expect(ds.samples.map((s) => [s.label, s.path])).toEqual([
      [0, join(root, 'a_class', 'sub', 'y.avi')],
      [1, join(root, 'b_class', 'x.mp4')],
    ]);
    expect(ds.skipped).toEqual([
      {
        path: join(root, 'a_class', 'readme.txt'),
        reason: expect.stringMatching(
          /not a video \(extension "\.txt" and no video container signature in its first bytes; video extensions: \.avi .*rename it/,
        ),
      },
    ]);
    expect(warnings).toEqual([formatSkippedSummary(ds)]);
    expect(warnings[0]).toMatch(/folder: 1 file\(s\) skipped \(2 videos kept\):\n {2}.*readme\.txt: not a video \(/);
    expect(() => readFolderPerClass({ root: join(root, 'nope') })).toThrow(/Dataset folder not found/);
  });

  it('list file: paths relative to the list, labels range-checked', () => {
    const root = makeTempDir('list');
    touch(join(root, 'clips', 'a.mp4'));
    writeFileSync(join(root, 'list.txt'), 'clips/a.mp4 1\nclips/missing.mp4 0\n');
    const ds = readListFile({ listPath: join(root, 'list.txt') });
    expect(ds.classNames).toEqual(['class_0', 'class_1']);
    expect(ds.samples).toEqual([
      { path: join(root, 'clips', 'a.mp4'), label: 1, className: 'class_1', source: `${join(root, 'list.txt')}:1` },
    ]);
    expect(ds.missing).toHaveLength(1);
    expect(() => readListFile({ listPath: join(root, 'list.txt'), classNames: ['only'] })).toThrow(/list\.txt:1: label 1 is out of range/);
  });

  it('every skipped entry is named with a precise reason: fifo, directory named like a video, broken link; GIF is a video', () => {
    const root = makeTempDir('odd');
    touch(join(root, 'c', 'anim.gif'));
    touch(join(root, 'c', 'clip.MKV'));
    touch(join(root, 'c', 'inside.avi', 'real.mp4'));
    expect(spawnSync('mkfifo', [join(root, 'c', 'pipe.mp4')]).status).toBe(0);
    symlinkSync(join(root, 'nowhere.mp4'), join(root, 'c', 'dangling.mp4'));
    symlinkSync(join(root, 'c', 'clip.MKV'), join(root, 'c', 'link.mp4'));
    touch(join(root, 'stray.mp4'));
    const warnings: string[] = [];
    const ds = readFolderPerClass({ root, onWarning: (m) => warnings.push(m) });
    expect(ds.samples.map((s) => s.path)).toEqual(
      [
        join(root, 'c', 'anim.gif'),
        join(root, 'c', 'clip.MKV'),
        join(root, 'c', 'inside.avi', 'real.mp4'),
        join(root, 'c', 'link.mp4'),
      ].sort(),
    );
    const reasons = Object.fromEntries((ds.skipped ?? []).map((f) => [f.path.slice(root.length + 1), f.reason]));
    expect(reasons).toEqual({
      'stray.mp4': expect.stringMatching(/directly in the dataset root/),
      'c/dangling.mp4': 'a symbolic link whose target does not exist',
      'c/inside.avi': expect.stringMatching(/a directory named like a video file, not a video/),
      'c/pipe.mp4': expect.stringMatching(/a named pipe \(fifo\), not a regular file/),
    });
    expect(warnings).toHaveLength(1);
    expect(VIDEO_EXTENSIONS).toContain('.gif');
    expect(listVideoEntries(join(root, 'c')).files).toHaveLength(4);
  });

  it('a file with another extension is a video when ffmpeg can open it as one: decided by its first bytes', async () => {
    const root = makeTempDir('sniff');
    mkdirSync(join(root, 'a'), { recursive: true });
    const write = (name: string, format: string) => {
      const r = spawnSync(TEST_FFMPEG, [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=64x48:rate=10',
        '-t',
        '0.5',
        '-pix_fmt',
        'yuv420p',
        '-f',
        format,
        join(root, 'a', name),
      ]);
      expect(r.status, String(r.stderr)).toBe(0);
    };
    write('broadcast.ts', 'mpegts'); // MPEG-TS under the TypeScript extension
    write('clip.dat', 'matroska');
    write('noextension', 'mp4');
    write('movie.part', 'avi');
    writeFileSync(join(root, 'a', 'notes.ts'), 'export const x = 1;\n');
    writeFileSync(
      join(root, 'a', 'blob.bin'),
      Uint8Array.from({ length: 2048 }, (_, i) => (i * 31) % 256),
    );
    const warnings: string[] = [];
    const ds = readFolderPerClass({ root, onWarning: (m) => warnings.push(m) });
    const kept = ds.samples.map((x) => x.path.slice(root.length + 3)).sort();
    expect(kept).toEqual(['broadcast.ts', 'clip.dat', 'movie.part', 'noextension']);
    // ffmpeg opens every accepted file as a video.
    for (const sample of ds.samples) expect((await probeVideo(sample.path, { ffmpegPath: TEST_FFMPEG })).numFrames).toBe(5);
    expect(sniffVideoContainer(join(root, 'a', 'broadcast.ts'))).toBe('mpegts');
    const reasons = Object.fromEntries((ds.skipped ?? []).map((f) => [f.path.slice(root.length + 3), f.reason]));
    expect(Object.keys(reasons).sort()).toEqual(['blob.bin', 'notes.ts']);
    expect(reasons['notes.ts']).toMatch(/^not a video \(extension "\.ts" and no video container signature in its first bytes; .*rename it/);
    expect(warnings[0]).toMatch(/folder: 2 file\(s\) skipped \(4 videos kept\)/);
  });

  it('a listed path that is a directory or fifo is skipped with the reason, not a sample', () => {
    const root = makeTempDir('list-odd');
    mkdirSync(join(root, 'clips', 'dir.mp4'), { recursive: true });
    writeFileSync(join(root, 'list.txt'), 'clips/dir.mp4 0\n');
    const warnings: string[] = [];
    const ds = readListFile({ listPath: join(root, 'list.txt'), onWarning: (m) => warnings.push(m) });
    expect(ds.samples).toEqual([]);
    expect(ds.skipped?.[0]?.reason).toMatch(/a directory named like a video file.*\(listed at .*list\.txt:1\)/);
    expect(warnings).toHaveLength(1);
  });
});
