/**
 * Validation videos for decisions about the demo's CLIP (issue 13): a separate, small action world drawn
 * from another seed (other actors, scenes, performances), so no decision is made on any test split of the
 * demo's world. Generated once into a folder and reused (the generator is seeded).
 */
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ACTION_WORLD_VERSION, generateActionWorld, readActionWorldManifest } from '@lss/data/node';
import { type EvalReport, evaluateZeroShot } from '@lss/eval';

/** The validation world: seed 1 (the demo's world is seed 0), 3 groups x 2 clips per action (72 videos), no stills. */
export const VALIDATION_WORLD = { seed: 1, groupsPerClass: 3, clipsPerGroup: 2 } as const;

/** Generates the validation world in `dir` unless a world of this version and settings is already there. */
export async function ensureValidationWorld(dir: string, log: (line: string) => void = () => {}): Promise<void> {
  if (existsSync(join(dir, 'world.json'))) {
    const m = readActionWorldManifest(dir);
    if (
      m.version === ACTION_WORLD_VERSION &&
      m.seed === VALIDATION_WORLD.seed &&
      m.settings.groupsPerClass === VALIDATION_WORLD.groupsPerClass &&
      m.settings.clipsPerGroup === VALIDATION_WORLD.clipsPerGroup
    )
      return;
    rmSync(dir, { recursive: true, force: true });
  }
  const started = performance.now();
  await generateActionWorld({ dir, ...VALIDATION_WORLD, stillsPerClass: 0, heldOutStillsPerClass: 0 });
  log(`generated the validation world (seed ${VALIDATION_WORLD.seed}) in ${((performance.now() - started) / 1000).toFixed(0)} s: ${dir}`);
}

/**
 * Frozen image CLIP zero-shot (frame average, 1 clip x 1 crop) on every video of the validation world
 * (the union of its three test lists). Returns the report (splits 1-3; their mean weighs the videos equally).
 */
export async function validationZeroShot(
  clipDir: string,
  worldDir: string,
  options: { readonly prompts?: readonly string[]; readonly numFrames?: number; readonly cacheDir?: string } = {},
): Promise<EvalReport> {
  return evaluateZeroShot({
    model: clipDir,
    dataset: {
      kind: 'ucf101',
      videosDir: join(worldDir, 'UCF-101'),
      annotationsDir: join(worldDir, 'ucfTrainTestlist'),
      splits: [1, 2, 3],
    },
    views: { numClips: 1, numCrops: 1, numFrames: options.numFrames ?? 8 },
    progress: false,
    ...(options.prompts ? { prompts: options.prompts } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
  });
}
