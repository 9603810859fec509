import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SVT_VIEW_CONFIG } from '../views.js';
import { makeTempDir, TEST_FFMPEG } from './__fixtures__/videos.js';
import { loadVideoViews } from './clip-views.js';
import { probeVideo } from './ffmpeg.js';
import { readUcf101 } from './readers.js';
import { generateSyntheticDataset } from './synthetic-dataset.js';

describe('generateSyntheticDataset', () => {
  it('writes real videos in the UCF-101 layout with three group-based splits, deterministically', async () => {
    const dir = makeTempDir('synth');
    const started = performance.now();
    const ds = await generateSyntheticDataset({ dir, numClasses: 3, videosPerClass: 3, numFrames: 16, ffmpegPath: TEST_FFMPEG, seed: 5 });
    const seconds = (performance.now() - started) / 1000;
    console.log(`generated 9 synthetic videos in ${seconds.toFixed(2)} s with ${TEST_FFMPEG}`);
    expect(ds.classNames).toEqual(['MoveLeft', 'MoveRight', 'Rotate']);
    expect(ds.files).toHaveLength(9);
    expect(readFileSync(join(ds.annotationsDir, 'classInd.txt'), 'utf8')).toBe('1 MoveLeft\r\n2 MoveRight\r\n3 Rotate\r\n');
    for (const split of [1, 2, 3] as const) {
      const train = readUcf101({ videosDir: ds.videosDir, annotationsDir: ds.annotationsDir, split, subset: 'train' });
      const test = readUcf101({ videosDir: ds.videosDir, annotationsDir: ds.annotationsDir, split, subset: 'test' });
      expect(train.missing).toEqual([]);
      expect(test.samples).toHaveLength(3);
      expect(train.samples).toHaveLength(6);
      expect(new Set([...train.samples, ...test.samples].map((s) => s.path)).size).toBe(9);
      expect(test.samples.map((s) => s.label)).toEqual([0, 1, 2]);
      expect(test.samples.every((s) => s.path.includes(`_g0${split}_`))).toBe(true);
    }
    const info = await probeVideo(ds.files[0]!, { ffmpegPath: TEST_FFMPEG });
    expect(info).toMatchObject({ width: 64, height: 48, numFrames: 16, codec: 'mpeg4', frameCountExact: true });
    const loaded = await loadVideoViews(
      ds.files[4]!,
      { mode: 'train', config: { ...SVT_VIEW_CONFIG, numLocalViews: 2 }, seed: 1 },
      { ffmpegPath: TEST_FFMPEG },
    );
    expect(loaded.views.map((v) => v.shape)).toEqual([
      [8, 224, 224, 3],
      [8, 224, 224, 3],
      [8, 96, 96, 3],
      [8, 96, 96, 3],
    ]);
    // Same seed, same pixels (the encoder runs single-threaded).
    const again = await generateSyntheticDataset({
      dir: makeTempDir('synth2'),
      numClasses: 1,
      videosPerClass: 3,
      numFrames: 16,
      ffmpegPath: TEST_FFMPEG,
      seed: 5,
    });
    expect(readFileSync(again.files[1]!)).toEqual(readFileSync(ds.files[1]!));
  });

  it('rejects impossible requests', async () => {
    await expect(generateSyntheticDataset({ dir: makeTempDir('x'), numClasses: 11, videosPerClass: 3 })).rejects.toThrow(
      /numClasses must be an integer in \[1, 10\]; received 11/,
    );
    await expect(generateSyntheticDataset({ dir: makeTempDir('x'), numClasses: 2, videosPerClass: 2 })).rejects.toThrow(
      /videosPerClass must be an integer >= 3/,
    );
    const file = join(makeTempDir('synth-file'), 'taken');
    writeFileSync(file, 'x');
    for (const dir of [file, join(file, 'sub')]) {
      await expect(generateSyntheticDataset({ dir, numClasses: 2, videosPerClass: 3, ffmpegPath: TEST_FFMPEG })).rejects.toThrow(
        `generateSyntheticDataset: the output folder ${dir} cannot be created: ${file} is an existing file; expected a folder (created when missing). Pass another dir, or move that file away.`,
      );
    }
    // A missing or misnamed `dir` (e.g. `root`) is said as such, not a TypeError from node:path.
    await expect(generateSyntheticDataset({ root: '/tmp/x', numClasses: 2, videosPerClass: 3 } as never)).rejects.toThrow(
      /^generateSyntheticDataset: dir must be the output folder's path \(a non-empty string\); received undefined\./,
    );
  });
});
