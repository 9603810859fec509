/**
 * The synthetic dataset of `data.kind: synthetic`, generated once into `data.root` and reused. The
 * generation settings are recorded in `<root>/lss-synthetic.json`; a later run with other settings
 * (issue 16: `--set data.videosPerClass=...` silently trained on the old set) regenerates the folder and
 * says so. A folder without the record (not made by this generator, or by an older one) is never
 * overwritten: the run stops and says what to do. A root whose parent folder does not exist (a typo) is
 * an error instead of a new folder tree.
 */
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '@lss/core';
import { writeFileAtomic } from '@lss/core/node';
import { generateSyntheticDataset } from '@lss/data/node';
import type { DataConfig } from './config/schema.js';

/** File in `data.root` that records the settings the synthetic dataset was generated with. */
export const SYNTHETIC_RECORD_FILE = 'lss-synthetic.json';
const RECORD_FORMAT = 'lss-synthetic-dataset';

type SyntheticConfig = Extract<DataConfig, { kind: 'synthetic' }>;

/** The settings that change the generated videos. */
export function syntheticSettings(d: SyntheticConfig): Record<string, number> {
  return { numClasses: d.numClasses, videosPerClass: d.videosPerClass, numFrames: d.numFrames, size: d.size, seed: d.seed };
}

/**
 * Makes sure `d.root` holds the synthetic dataset generated with `d`'s settings: generates it when the
 * folder is new, regenerates it when its record differs (naming the differences), and refuses a folder
 * it did not generate or a root under a missing parent.
 */
export async function ensureSyntheticDataset(d: SyntheticConfig, log: (line: string) => void): Promise<void> {
  const root = resolve(d.root);
  const recordPath = join(root, SYNTHETIC_RECORD_FILE);
  const wanted = syntheticSettings(d);
  const annotations = join(root, 'ucfTrainTestlist', 'classInd.txt');
  if (!existsSync(root)) {
    const parent = dirname(root);
    if (!existsSync(parent)) {
      throw new ConfigError(
        `data.root ${root} does not exist, nor does its parent folder ${parent}; a synthetic dataset is generated into a new ` +
          'folder only inside an existing one (a typo would otherwise create a whole tree). Create the parent folder or fix data.root.',
      );
    }
  } else if (!statSync(root).isDirectory()) {
    throw new ConfigError(`data.root ${root} is a file; expected a folder for the synthetic dataset.`);
  }
  let reason: string;
  if (existsSync(recordPath)) {
    let recorded: Record<string, unknown>;
    try {
      recorded = (JSON.parse(readFileSync(recordPath, 'utf8')) as { settings?: Record<string, unknown> }).settings ?? {};
    } catch {
      recorded = {};
    }
    const diffs = Object.entries(wanted)
      .filter(([k, v]) => recorded[k] !== v)
      .map(([k, v]) => `data.${k} ${JSON.stringify(recorded[k] ?? null)} -> ${v}`);
    if (diffs.length === 0 && existsSync(annotations)) return;
    reason =
      diffs.length > 0
        ? `was generated with other settings (${diffs.join(', ')}); regenerating it`
        : 'is incomplete (no classInd.txt); regenerating it';
    rmSync(join(root, 'UCF-101'), { recursive: true, force: true });
    rmSync(join(root, 'ucfTrainTestlist'), { recursive: true, force: true });
    rmSync(recordPath, { force: true });
  } else if (existsSync(annotations) || existsSync(join(root, 'UCF-101'))) {
    throw new ConfigError(
      `data.root ${root} holds a dataset without ${SYNTHETIC_RECORD_FILE}, so the settings it was generated with are unknown ` +
        `(wanted: ${Object.entries(wanted)
          .map(([k, v]) => `data.${k}=${v}`)
          .join(', ')}). It is not overwritten: delete ${join(root, 'UCF-101')} and ${join(root, 'ucfTrainTestlist')} to ` +
        'regenerate it, or set data.root to an empty or new folder.',
    );
  } else {
    reason = 'is new; generating it';
  }
  log(
    `synthetic dataset ${root} ${reason} (${d.numClasses} classes x ${d.videosPerClass} videos, ${d.numFrames} frames, ${d.size} px, seed ${d.seed})`,
  );
  await generateSyntheticDataset({
    dir: root,
    numClasses: d.numClasses,
    videosPerClass: d.videosPerClass,
    numFrames: d.numFrames,
    width: d.size,
    height: d.size,
    seed: d.seed,
  });
  // Written last: a generation that was interrupted leaves no record and is redone.
  writeFileAtomic(recordPath, `${JSON.stringify({ format: RECORD_FORMAT, settings: wanted }, null, 2)}\n`);
}
