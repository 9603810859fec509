import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { WORLD_ACTIONS } from '../action-world.js';
import { makeTempDir, TEST_FFMPEG } from './__fixtures__/videos.js';
import { generateActionWorld, readActionWorldManifest, readWorldStills, renderWorldStills } from './action-world-dataset.js';
import { probeVideo } from './ffmpeg.js';
import { readUcf101 } from './readers.js';

describe('generateActionWorld', () => {
  it('writes videos in the UCF-101 layout with balanced, disjoint group splits, and captioned stills sharing the vocabulary', async () => {
    const dir = makeTempDir('world');
    const K = WORLD_ACTIONS.length;
    const world = await generateActionWorld({
      dir,
      groupsPerClass: 3,
      clipsPerGroup: 2,
      numFrames: 8,
      videoSize: 32,
      stillsPerClass: 4,
      heldOutStillsPerClass: 2,
      ffmpegPath: TEST_FFMPEG,
      seed: 3,
    });
    expect(world.manifest.videos).toHaveLength(K * 6);
    const classInd = readFileSync(join(world.annotationsDir, 'classInd.txt'), 'utf8');
    expect(classInd).toBe(`${WORLD_ACTIONS.map((a, i) => `${i + 1} ${a.id}`).join('\r\n')}\r\n`);
    const testedIn = new Map<string, number>();
    for (const split of [1, 2, 3] as const) {
      const train = readUcf101({ videosDir: world.videosDir, annotationsDir: world.annotationsDir, split, subset: 'train' });
      const test = readUcf101({ videosDir: world.videosDir, annotationsDir: world.annotationsDir, split, subset: 'test' });
      expect(train.missing).toEqual([]);
      expect(test.missing).toEqual([]);
      // Balanced: every class has 2 test clips (one group) and 4 training clips (two groups).
      for (let k = 0; k < K; k++) {
        expect(test.samples.filter((s) => s.label === k)).toHaveLength(2);
        expect(train.samples.filter((s) => s.label === k)).toHaveLength(4);
      }
      // Disjoint by group (the actor and scene never appear on both sides).
      const group = (p: string) => /_g(\d+)_/.exec(p)![1] + p.split('/').at(-2)!;
      const trainGroups = new Set(train.samples.map((s) => group(s.path)));
      expect(test.samples.some((s) => trainGroups.has(group(s.path)))).toBe(false);
      for (const s of test.samples) testedIn.set(s.path, (testedIn.get(s.path) ?? 0) + 1);
    }
    // Every video is tested in exactly one split.
    expect(testedIn.size).toBe(K * 6);
    expect([...testedIn.values()].every((n) => n === 1)).toBe(true);
    const info = await probeVideo(join(world.videosDir, world.manifest.videos[0]!.relative), { ffmpegPath: TEST_FFMPEG });
    expect(info).toMatchObject({ width: 32, height: 32, numFrames: 8 });

    // Stills: class-balanced, captions use the action's phrases, labels match the video classes.
    const stills = readWorldStills(dir);
    expect(stills.items).toHaveLength(K * 6);
    expect(stills.images).toHaveLength(K * 6 * 32 * 32 * 3);
    const train = readWorldStills(dir, 'train');
    const heldout = readWorldStills(dir, 'heldout');
    expect(train.items).toHaveLength(K * 4);
    expect(heldout.items).toHaveLength(K * 2);
    for (let k = 0; k < K; k++) expect(heldout.items.filter((s) => s.label === k)).toHaveLength(2);
    for (const s of stills.items)
      expect(
        WORLD_ACTIONS[s.label]!.phrases.some((p) => s.caption.includes(p)),
        s.caption,
      ).toBe(true);
    // Shared vocabulary: the manifest's action names are the class folders, in class order.
    const manifest = readActionWorldManifest(dir);
    expect(manifest.actions.map((a) => a.id)).toEqual(
      classInd
        .trim()
        .split('\r\n')
        .map((l) => l.split(' ')[1]),
    );
    expect(manifest.numStills).toEqual({ train: K * 4, heldout: K * 2 });

    // Deterministic: the same seed renders the same stills and captions; another seed does not.
    const again = renderWorldStills({ stillsPerClass: 4, heldOutStillsPerClass: 2, size: 32, seed: 3 });
    expect(again.images).toEqual(stills.images);
    expect(again.items.map((s) => s.caption)).toEqual(stills.items.map((s) => s.caption));
    expect(renderWorldStills({ stillsPerClass: 4, heldOutStillsPerClass: 2, size: 32, seed: 4 }).images).not.toEqual(stills.images);
  }, 120_000);

  it('rejects group counts that would unbalance the splits', async () => {
    await expect(generateActionWorld({ dir: makeTempDir('world-bad'), groupsPerClass: 4 })).rejects.toThrow(ConfigError);
    await expect(generateActionWorld({ dir: makeTempDir('world-bad'), groupsPerClass: 4 })).rejects.toThrow(/multiple of 3.*received 4/);
  });

  it('says how to fix a missing world', () => {
    expect(() => readWorldStills(makeTempDir('world-none'))).toThrow(/generateActionWorld/);
  });
});
