import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { configFromData } from './config/load.js';
import type { DataConfig } from './config/schema.js';
import { openClipSource } from './data.js';
import { ensureSyntheticDataset, SYNTHETIC_RECORD_FILE } from './synthetic-data.js';

type Synthetic = Extract<DataConfig, { kind: 'synthetic' }>;
const data = (root: string, overrides: Partial<Synthetic> = {}): Synthetic => ({
  kind: 'synthetic',
  root,
  numClasses: 2,
  videosPerClass: 3,
  numFrames: 4,
  size: 16,
  seed: 0,
  split: 1,
  cacheFrames: false,
  numWorkers: 0,
  prefetchSteps: 2,
  maxBadFraction: 0.1,
  ...overrides,
});
const videos = (root: string) => readdirSync(join(root, 'UCF-101')).flatMap((c) => readdirSync(join(root, 'UCF-101', c)));

describe('synthetic data settings are recorded and a mismatch is detected', () => {
  it('generates, reuses with the same settings, regenerates (and says why) when a setting changes', async () => {
    const root = join(mkdtempSync(join(tmpdir(), 'lss-synth-')), 'data');
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    await ensureSyntheticDataset(data(root), log);
    expect(videos(root)).toHaveLength(6);
    expect(JSON.parse(readFileSync(join(root, SYNTHETIC_RECORD_FILE), 'utf8')).settings).toEqual({
      numClasses: 2,
      videosPerClass: 3,
      numFrames: 4,
      size: 16,
      seed: 0,
    });
    const mtime = statSync(join(root, 'ucfTrainTestlist', 'classInd.txt')).mtimeMs;
    lines.length = 0;
    await ensureSyntheticDataset(data(root), log);
    expect(lines).toEqual([]);
    expect(statSync(join(root, 'ucfTrainTestlist', 'classInd.txt')).mtimeMs).toBe(mtime);

    // The trainer's own path (openClipSource) with --set data.videosPerClass=4: was the old 3-per-class set.
    const config = configFromData({ data: data(root) }, { overrides: ['data.videosPerClass=4'] });
    const source = await openClipSource(config, log);
    expect(lines.join('\n')).toContain(
      `synthetic dataset ${root} was generated with other settings (data.videosPerClass 3 -> 4); regenerating it`,
    );
    expect(videos(root)).toHaveLength(8);
    expect(source.numClips).toBe(2 * 2); // split 1 tests groups 1 and 4 of each class, trains on 2 and 3
  }, 300_000);

  it('a folder with a dataset but no record is never overwritten', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lss-synth-'));
    mkdirSync(join(root, 'UCF-101', 'x'), { recursive: true });
    await expect(ensureSyntheticDataset(data(root), () => undefined)).rejects.toThrow(ConfigError);
    await expect(ensureSyntheticDataset(data(root), () => undefined)).rejects.toThrow(
      /holds a dataset without lss-synthetic\.json.*wanted: data\.numClasses=2, data\.videosPerClass=3/,
    );
    expect(readdirSync(join(root, 'UCF-101'))).toEqual(['x']);
  });

  it('a data.root under a missing parent (a typo) is an error, not a new folder tree', async () => {
    const base = mkdtempSync(join(tmpdir(), 'lss-synth-'));
    const root = join(base, 'tpyo', 'data');
    await expect(ensureSyntheticDataset(data(root), () => undefined)).rejects.toThrow(
      `data.root ${root} does not exist, nor does its parent folder ${join(base, 'tpyo')}`,
    );
    expect(readdirSync(base)).toEqual([]);
    rmSync(base, { recursive: true, force: true });
  });
});
