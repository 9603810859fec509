import { readFileSync } from 'node:fs';
import { DataError } from '@lss/core';
import { fixturePath } from '@lss/testing';
import { describe, expect, it } from 'vitest';
import {
  kineticsFileStem,
  parseClassInd,
  parseClassNamesCsv,
  parseHmdbSplitFile,
  parseKineticsCsv,
  parseListFile,
  parseUcfSplitList,
  splitCsvLine,
} from './parse.js';

function expectDataError(fn: () => unknown, file: string, line: number, message: RegExp): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).file).toBe(file);
    expect((error as DataError).line).toBe(line);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(`${file}:${line}`);
    return;
  }
  throw new Error('expected a DataError');
}

describe('UCF-101', () => {
  const ucfNames = parseClassNamesCsv(readFileSync(fixturePath('datasets', 'labels', 'ucf_101_labels.csv'), 'utf8'));
  const classInd = `${ucfNames.map((n, i) => `${i + 1} ${n}`).join('\r\n')}\r\n`;

  it('classInd.txt (CRLF) gives the 101 official names in order', () => {
    const names = parseClassInd(classInd);
    expect(names).toHaveLength(101);
    expect(names[0]).toBe('ApplyEyeMakeup');
    expect(names[100]).toBe('YoYo');
    expect(names).toEqual(ucfNames);
  });

  it('trainlist lines carry 1-based labels; testlist lines take the class from the folder', () => {
    const train = parseUcfSplitList(
      'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1\r\nYoYo/v_YoYo_g25_c05.avi 101\r\n',
      ucfNames,
      'trainlist01.txt',
    );
    expect(train).toEqual([
      { video: 'ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi', label: 0, line: 1 },
      { video: 'YoYo/v_YoYo_g25_c05.avi', label: 100, line: 2 },
    ]);
    // The official test list spells one file v_HandStandPushups_* inside folder HandstandPushups.
    const test = parseUcfSplitList(
      'HandstandPushups/v_HandStandPushups_g01_c01.avi\r\nhandstandpushups/x.avi\r\n',
      ucfNames,
      'testlist01.txt',
    );
    expect(test.map((e) => e.label)).toEqual([36, 36]);
  });

  it('errors name the file and line', () => {
    expectDataError(() => parseClassInd('1 A\n3 B\n', 'classInd.txt'), 'classInd.txt', 2, /expected 2, received 3/);
    expectDataError(() => parseClassInd('1 A\nB\n', 'classInd.txt'), 'classInd.txt', 2, /expected "<index> <ClassName>"/);
    expectDataError(
      () => parseUcfSplitList('YoYo/a.avi 1\n', ucfNames, 'trainlist02.txt'),
      'trainlist02.txt',
      1,
      /folder "YoYo" is class 101/,
    );
    expectDataError(() => parseUcfSplitList('a.avi 1\nb.avi 102\n', ucfNames, 'trainlist02.txt'), 'trainlist02.txt', 2, /\[1, 101\]/);
    expectDataError(() => parseUcfSplitList('\nNoSuchClass/a.avi\n', ucfNames, 'testlist03.txt'), 'testlist03.txt', 2, /not in classInd/);
  });
});

describe('HMDB-51', () => {
  it('keeps the lines with the wanted tag (1 train, 2 test), trailing spaces allowed', () => {
    const text = 'April_09_brush_hair_u_nm_np1_ba_goo_0.avi 1 \nApril_09_brush_hair_u_nm_np1_ba_goo_1.avi 2 \nx.avi 0 \n';
    expect(parseHmdbSplitFile(text, 1)).toEqual([{ video: 'April_09_brush_hair_u_nm_np1_ba_goo_0.avi', line: 1 }]);
    expect(parseHmdbSplitFile(text, 2)).toEqual([{ video: 'April_09_brush_hair_u_nm_np1_ba_goo_1.avi', line: 2 }]);
    expectDataError(() => parseHmdbSplitFile('a.avi 1\nb.avi 3\n', 1, 'wave_test_split2.txt'), 'wave_test_split2.txt', 2, /<0\|1\|2>/);
  });
});

describe('Kinetics-400', () => {
  it('parses the official CSV, quoted labels included, and names clip files <id>_<start:06d>_<end:06d>', () => {
    const csv =
      'label,youtube_id,time_start,time_end,split\n' +
      'abseiling,--07WQ2iBlw,1,11,train\n' +
      '"massaging person\'s head",-7kbO0v4hag,45,55,val\n' +
      '"tying tie",abc,100.0,110.0,train\n';
    const rows = parseKineticsCsv(csv, 'kinetics_400_train.csv');
    expect(rows).toEqual([
      { label: 'abseiling', youtubeId: '--07WQ2iBlw', timeStart: 1, timeEnd: 11, split: 'train', line: 2 },
      { label: "massaging person's head", youtubeId: '-7kbO0v4hag', timeStart: 45, timeEnd: 55, split: 'val', line: 3 },
      { label: 'tying tie', youtubeId: 'abc', timeStart: 100, timeEnd: 110, split: 'train', line: 4 },
    ]);
    expect(kineticsFileStem('--07WQ2iBlw', 1, 11)).toBe('--07WQ2iBlw_000001_000011');
    expect(splitCsvLine('"a ""b"", c",d')).toEqual(['a "b", c', 'd']);
  });

  it('accepts the unlabelled test CSV and extra columns', () => {
    const rows = parseKineticsCsv('youtube_id,time_start,time_end,split\nxyz,0,10,test\n');
    expect(rows[0]).toMatchObject({ label: '', youtubeId: 'xyz', split: 'test' });
    const withCc = parseKineticsCsv('label,youtube_id,time_start,time_end,split,is_cc\nabseiling,a,1,11,train,0\n');
    expect(withCc[0]!.label).toBe('abseiling');
  });

  it('errors name the file and line', () => {
    expectDataError(() => parseKineticsCsv('name,id\n', 'k.csv'), 'k.csv', 1, /expected a header/);
    expectDataError(
      () => parseKineticsCsv('label,youtube_id,time_start,time_end,split\na,b,1,11,train\na,b,x,11,train\n', 'k.csv'),
      'k.csv',
      3,
      /must be numbers/,
    );
    expectDataError(
      () => parseKineticsCsv('label,youtube_id,time_start,time_end,split\na,b,1\n', 'k.csv'),
      'k.csv',
      2,
      /expected 5 columns/,
    );
  });

  it('the fixture class list has the 400 names in alphabetical order (the label order)', () => {
    const names = parseClassNamesCsv(readFileSync(fixturePath('datasets', 'labels', 'kinetics_400_labels.csv'), 'utf8'));
    expect(names).toHaveLength(400);
    expect([...names].sort()).toEqual(names);
  });
});

describe('list file', () => {
  it('reads "path label", paths with spaces, comments', () => {
    expect(parseListFile('# comment\nvideos/a b.mp4 3\nc.avi 0\n')).toEqual([
      { video: 'videos/a b.mp4', label: 3, line: 2 },
      { video: 'c.avi', label: 0, line: 3 },
    ]);
    expectDataError(() => parseListFile('a.mp4 1\nb.mp4 x\n', 'list.txt'), 'list.txt', 2, /integer label/);
  });
});
