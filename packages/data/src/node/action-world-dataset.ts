/**
 * Writes the synthetic action world ({@link WORLD_ACTIONS}) to disk:
 *
 * ```
 * <dir>/UCF-101/<Action>/v_<Action>_gGG_cCC.avi   videos, UCF-101 layout (group = actor + scene)
 * <dir>/ucfTrainTestlist/{classInd,trainlist0k,testlist0k}.txt   three splits by group, CRLF
 * <dir>/stills/stills.safetensors   `images` U8 [N, S, S, 3], `labels` I32 [N]
 * <dir>/stills/captions.jsonl       one {"index","label","caption","subset"} per still ("train" | "heldout")
 * <dir>/world.json                  actions (names, descriptions), settings, seed, counts
 * ```
 *
 * Deterministic under `seed` (the video files depend on the ffmpeg build too; the frames do not).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, DataError, hashString, SeededRandom } from '@lss/core';
import { readSafetensorsFile, writeSafetensorsFile } from '@lss/core/node';
import { captionFor, renderActionVideo, renderStill, WORLD_ACTIONS, WORLD_VIDEO_PROMPTS, worldVocabulary } from '../action-world.js';
import { type EncodeCodec, encodeVideo, resolveFfmpeg } from './ffmpeg.js';
import { containerFor } from './synthetic-dataset.js';

/** Version of the world's rendering; bump when frames or captions change (stored in world.json). */
export const ACTION_WORLD_VERSION = 2;

/** Options of {@link generateActionWorld}. */
export interface ActionWorldOptions {
  /** Output folder (created). */
  readonly dir: string;
  /** UCF-101 groups (actor + scene) per action, a multiple of 3 so the three splits are balanced; default 6. */
  readonly groupsPerClass?: number;
  /** Clips per group, default 2. */
  readonly clipsPerGroup?: number;
  /** Square video frame size (even), default 48. */
  readonly videoSize?: number;
  /** Frames per video, default 16. */
  readonly numFrames?: number;
  readonly fps?: number;
  /** Default 'xvid' (.avi, as UCF-101). */
  readonly codec?: EncodeCodec;
  /** Captioned training stills per action, default 400. */
  readonly stillsPerClass?: number;
  /** Held-out captioned stills per action (never trained on; for the CLIP's image zero-shot), default 50. */
  readonly heldOutStillsPerClass?: number;
  /** Square still size, default 32. */
  readonly stillSize?: number;
  readonly seed?: number;
  /** Parallel ffmpeg encoders, default 2. */
  readonly concurrency?: number;
  readonly ffmpegPath?: string;
}

/** One video of the world. */
export interface WorldVideo {
  readonly label: number;
  readonly group: number;
  readonly clip: number;
  /** Path relative to `UCF-101/`. */
  readonly relative: string;
}

/** The contents of `world.json`. */
export interface ActionWorldManifest {
  readonly version: number;
  readonly seed: number;
  readonly actions: readonly { id: string; name: string; descriptions: readonly string[] }[];
  readonly videoPrompts: readonly string[];
  /** The larger generated vocabulary (lss-b style category space). */
  readonly vocabulary: readonly string[];
  readonly settings: Required<Omit<ActionWorldOptions, 'dir' | 'concurrency' | 'ffmpegPath' | 'seed'>>;
  readonly videos: readonly WorldVideo[];
  readonly numStills: { readonly train: number; readonly heldout: number };
}

/** What {@link generateActionWorld} wrote. */
export interface ActionWorld {
  readonly dir: string;
  readonly videosDir: string;
  readonly annotationsDir: string;
  readonly stillsFile: string;
  readonly captionsFile: string;
  readonly manifest: ActionWorldManifest;
}

/** One captioned still. */
export interface WorldStill {
  readonly index: number;
  readonly label: number;
  readonly caption: string;
  readonly subset: 'train' | 'heldout';
}

/** The world's stills in memory. */
export interface WorldStills {
  /** `[N, S, S, 3]` uint8 RGB, row-major. */
  readonly images: Uint8Array;
  readonly size: number;
  readonly items: readonly WorldStill[];
}

/** Splits by group as UCF-101: split `k` tests the groups with `(g - 1) % 3 === k - 1`. */
export function isTestGroup(group: number, split: 1 | 2 | 3): boolean {
  return (group - 1) % 3 === split - 1;
}

async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(runners);
}

/** Renders every still and caption of the world (no files). Deterministic under `seed`. */
export function renderWorldStills(options: {
  readonly stillsPerClass: number;
  readonly heldOutStillsPerClass: number;
  readonly size: number;
  readonly seed: number;
}): WorldStills {
  const { stillsPerClass, heldOutStillsPerClass, size, seed } = options;
  const perClass = stillsPerClass + heldOutStillsPerClass;
  const n = perClass * WORLD_ACTIONS.length;
  const images = new Uint8Array(n * size * size * 3);
  const items: WorldStill[] = [];
  // Interleaved classes (still i has label i % K) so any prefix is class-balanced.
  for (let i = 0; i < n; i++) {
    const label = i % WORLD_ACTIONS.length;
    const k = Math.floor(i / WORLD_ACTIONS.length);
    const subset = k < stillsPerClass ? 'train' : 'heldout';
    const key = `still/${subset}/${label}/${k}`;
    const still = renderStill({ label, size, seed: hashString(key, seed) });
    images.set(still.data, i * size * size * 3);
    items.push({ index: i, label, caption: captionFor(label, new SeededRandom(hashString(`caption/${key}`, seed))), subset });
  }
  return { images, size, items };
}

/**
 * Generates the world under `dir`.
 *
 * @example
 * const world = await generateActionWorld({ dir: '/tmp/world', groupsPerClass: 3, clipsPerGroup: 1, stillsPerClass: 10 });
 * const train = readUcf101({ videosDir: world.videosDir, annotationsDir: world.annotationsDir, split: 1, subset: 'train' });
 */
export async function generateActionWorld(options: ActionWorldOptions): Promise<ActionWorld> {
  const settings = {
    groupsPerClass: options.groupsPerClass ?? 6,
    clipsPerGroup: options.clipsPerGroup ?? 2,
    videoSize: options.videoSize ?? 48,
    numFrames: options.numFrames ?? 16,
    fps: options.fps ?? 25,
    codec: options.codec ?? ('xvid' as EncodeCodec),
    stillsPerClass: options.stillsPerClass ?? 400,
    heldOutStillsPerClass: options.heldOutStillsPerClass ?? 50,
    stillSize: options.stillSize ?? 32,
  };
  const seed = options.seed ?? 0;
  const { groupsPerClass, clipsPerGroup } = settings;
  if (!Number.isInteger(groupsPerClass) || groupsPerClass < 3 || groupsPerClass % 3 !== 0 || groupsPerClass > 99) {
    throw new ConfigError(
      `generateActionWorld: groupsPerClass must be a multiple of 3 in [3, 99] (three balanced splits by group); received ${groupsPerClass}.`,
    );
  }
  if (!Number.isInteger(clipsPerGroup) || clipsPerGroup < 1 || clipsPerGroup > 99) {
    throw new ConfigError(`generateActionWorld: clipsPerGroup must be an integer in [1, 99]; received ${clipsPerGroup}.`);
  }
  if (settings.videoSize % 2 !== 0)
    throw new ConfigError(`generateActionWorld: videoSize must be even (yuv420p); received ${settings.videoSize}.`);
  for (const key of ['stillsPerClass', 'heldOutStillsPerClass'] as const) {
    if (!Number.isInteger(settings[key]) || settings[key] < 0) {
      throw new ConfigError(`generateActionWorld: ${key} must be a non-negative integer; received ${settings[key]}.`);
    }
  }
  const ffmpeg = options.ffmpegPath ? resolveFfmpeg({ ffmpegPath: options.ffmpegPath }) : resolveFfmpeg();
  const videosDir = join(options.dir, 'UCF-101');
  const annotationsDir = join(options.dir, 'ucfTrainTestlist');
  const stillsDir = join(options.dir, 'stills');
  mkdirSync(annotationsDir, { recursive: true });
  mkdirSync(stillsDir, { recursive: true });
  const ext = containerFor(settings.codec);
  const videos: WorldVideo[] = [];
  WORLD_ACTIONS.forEach((action, label) => {
    mkdirSync(join(videosDir, action.id), { recursive: true });
    for (let g = 1; g <= groupsPerClass; g++) {
      for (let c = 1; c <= clipsPerGroup; c++) {
        const name = `v_${action.id}_g${String(g).padStart(2, '0')}_c${String(c).padStart(2, '0')}${ext}`;
        videos.push({ label, group: g, clip: c, relative: `${action.id}/${name}` });
      }
    }
  });
  await runPool(videos, options.concurrency ?? 2, async (v) => {
    const id = (WORLD_ACTIONS[v.label] as { id: string }).id;
    const frames = renderActionVideo({
      label: v.label,
      size: settings.videoSize,
      numFrames: settings.numFrames,
      groupSeed: hashString(`group/${id}/${v.group}`, seed),
      seed: hashString(`clip/${v.relative}`, seed),
    });
    await encodeVideo(frames, join(videosDir, v.relative), {
      codec: settings.codec,
      fps: settings.fps,
      ffmpegPath: ffmpeg.path,
      gopSize: 12,
    });
  });
  const crlf = (rows: string[]) => `${rows.join('\r\n')}\r\n`;
  writeFileSync(join(annotationsDir, 'classInd.txt'), crlf(WORLD_ACTIONS.map((a, i) => `${i + 1} ${a.id}`)));
  for (const split of [1, 2, 3] as const) {
    writeFileSync(
      join(annotationsDir, `trainlist0${split}.txt`),
      crlf(videos.filter((v) => !isTestGroup(v.group, split)).map((v) => `${v.relative} ${v.label + 1}`)),
    );
    writeFileSync(
      join(annotationsDir, `testlist0${split}.txt`),
      crlf(videos.filter((v) => isTestGroup(v.group, split)).map((v) => v.relative)),
    );
  }
  const stills = renderWorldStills({
    stillsPerClass: settings.stillsPerClass,
    heldOutStillsPerClass: settings.heldOutStillsPerClass,
    size: settings.stillSize,
    seed,
  });
  const stillsFile = join(stillsDir, 'stills.safetensors');
  const captionsFile = join(stillsDir, 'captions.jsonl');
  const S = settings.stillSize;
  writeSafetensorsFile(
    stillsFile,
    {
      images: { shape: [stills.items.length, S, S, 3], data: stills.images, dtype: 'U8' },
      labels: { shape: [stills.items.length], data: Int32Array.from(stills.items, (s) => s.label) },
    },
    { format: 'lss-action-world-stills', version: String(ACTION_WORLD_VERSION), seed: String(seed) },
  );
  writeFileSync(captionsFile, `${stills.items.map((s) => JSON.stringify(s)).join('\n')}\n`);
  const manifest: ActionWorldManifest = {
    version: ACTION_WORLD_VERSION,
    seed,
    actions: WORLD_ACTIONS.map(({ id, name, descriptions }) => ({ id, name, descriptions })),
    videoPrompts: WORLD_VIDEO_PROMPTS,
    vocabulary: worldVocabulary(),
    settings,
    videos,
    numStills: {
      train: stills.items.filter((s) => s.subset === 'train').length,
      heldout: stills.items.filter((s) => s.subset === 'heldout').length,
    },
  };
  writeFileSync(join(options.dir, 'world.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { dir: options.dir, videosDir, annotationsDir, stillsFile, captionsFile, manifest };
}

/** Reads a world written by {@link generateActionWorld}: the manifest. */
export function readActionWorldManifest(dir: string): ActionWorldManifest {
  const path = join(dir, 'world.json');
  if (!existsSync(path)) {
    throw new DataError(`${path} does not exist; expected an action world there. Generate it with generateActionWorld({ dir }).`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as ActionWorldManifest;
}

/** Reads the world's captioned stills (`subset` filters; default all). */
export function readWorldStills(dir: string, subset?: 'train' | 'heldout'): WorldStills {
  const file = join(dir, 'stills', 'stills.safetensors');
  const captions = join(dir, 'stills', 'captions.jsonl');
  if (!existsSync(file) || !existsSync(captions)) {
    throw new DataError(
      `${dir} has no stills/stills.safetensors + stills/captions.jsonl; expected an action world. Generate it with generateActionWorld({ dir }).`,
    );
  }
  const images = readSafetensorsFile(file, { names: ['images'] }).tensors.get('images');
  if (!images || images.shape.length !== 4)
    throw new DataError(`${file}: expected a tensor "images" [N, S, S, 3]; received ${JSON.stringify(images?.shape)}.`);
  const [N, S] = images.shape as [number, number];
  const all = readFileSync(captions, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as WorldStill);
  if (all.length !== N) throw new DataError(`${captions} has ${all.length} captions; ${file} has ${N} images. Regenerate the world.`);
  const keep = all.filter((s) => subset === undefined || s.subset === subset);
  const px = S * S * 3;
  const out = new Uint8Array(keep.length * px);
  keep.forEach((s, j) => {
    for (let i = 0; i < px; i++) out[j * px + i] = images.data[s.index * px + i] as number;
  });
  return { images: out, size: S, items: keep.map((s, j) => ({ ...s, index: j })) };
}
