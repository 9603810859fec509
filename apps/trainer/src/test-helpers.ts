/** Helpers shared by the trainer's tests (not exported from the package). */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateSyntheticDataset } from '@lss/data/node';

/** An MP4 file with no `moov` box: ffmpeg cannot open it ("moov atom not found"). */
export const NO_MOOV_MP4 = join(import.meta.dirname, '__fixtures__', 'no_moov.mp4');

/**
 * A folder of real videos in two classes, as `readFolderPerClass` reads it: `<root>/videos/{a,b}/v<i>.avi`
 * (2 × `videosPerClass` AVI files of 32×32 pixels and 8 frames from `generateSyntheticDataset`, seed 4;
 * even i in `b`, odd i in `a`). The generated dataset stays in `<root>/synth`. Returns `<root>/videos`;
 * the tests then add or overwrite broken files in it.
 */
export async function twoClassVideoFolder(root: string, videosPerClass: number): Promise<string> {
  const synth = await generateSyntheticDataset({
    dir: join(root, 'synth'),
    numClasses: 2,
    videosPerClass,
    width: 32,
    height: 32,
    numFrames: 8,
    seed: 4,
  });
  const folder = join(root, 'videos');
  for (const c of ['a', 'b']) mkdirSync(join(folder, c), { recursive: true });
  synth.files.forEach((f, i) => copyFileSync(f, join(folder, i % 2 ? 'a' : 'b', `v${i}.avi`)));
  return folder;
}

/**
 * The shipped `lss-tiny-synthetic` config made tinier for tests: run folder `workdir`, concept spaces cached in
 * `cacheDir` (6 categories), 2-frame clips and views, no progress bar. Callers add batch size, steps, checkpoints.
 */
export function tinyRunOverrides(workdir: string, cacheDir: string): string[] {
  return [
    `workdir=${workdir}`,
    `concepts.cacheDir=${cacheDir}`,
    'concepts.limitCategories=6',
    'logging.progress=off',
    'model.numFrames=2',
    'views.numFrames=2',
  ];
}
