import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { type ClipModel, loadClip, loadVideoVit, Scope, type VisionConfig, VisionTower } from '@lss/backbone';
import type { TextEncoder } from '@lss/concepts';
import { loadClipTokenizer, loadOnnxRuntime, loadOnnxTextEncoder } from '@lss/concepts/node';
import { ConfigError, WeightsError } from '@lss/core';
import { hashFile, newestStepFile, readSafetensorsFile, readSafetensorsFileHeader } from '@lss/core/node';
import * as tf from '@tensorflow/tfjs-core';
import type { FeatureModel, HostViews } from './feature-cache.js';
import { ensureOnnxExport, isOnnxModelFolder, loadOnnxEvalModel } from './onnx-model.js';
import { createTfjsTextEncoder } from './text-encoder.js';

/** SHA-256 (hex) of a file (`hashFile` of `@lss/core/node`, kept under the name eval exports). */
export const hashFileSha256 = hashFile;

/** A model ready to embed videos, plus where its text encoder comes from. */
export interface EvalModel extends FeatureModel {
  /** Frames per view the model was built for (checkpoints); undefined = any (frozen CLIP). */
  readonly numFrames: number | undefined;
  /** CLIP folder whose text tower builds zero-shot classifiers; null when unknown (pass one). */
  readonly textModelDir: string | null;
  /** The loaded CLIP when the model is a CLIP folder (its text tower is reused by the tfjs engine). */
  readonly clip: ClipModel | null;
  /** The tfjs computation `[B, T, H, W, 3]` -> `[B, D]` (absent for ONNX models); what ONNX export traces. */
  readonly tfjsCall?: (x: tf.Tensor5D) => tf.Tensor2D;
  dispose(): void;
}

export interface LoadEvalModelOptions {
  /** Which tower of a trainer checkpoint (default 'teacher'). */
  readonly role?: 'teacher' | 'student';
  /** CLIP folder for the text encoder, overriding the checkpoint's `config.model.clip` / `config.concepts.textModel`. */
  readonly textModel?: string;
  /** Images per tower call when encoding frames (default 32); bounds memory. */
  readonly maxImagesPerCall?: number;
  /** Label for tables (default: derived from the path). */
  readonly label?: string;
  /**
   * 'tfjs' (default) runs the tfjs tower; 'onnx' runs an exported folder with onnxruntime-node (a
   * non-ONNX model is exported first, once, into `onnxCacheDir`). An exported folder always runs on ONNX.
   */
  readonly engine?: 'tfjs' | 'onnx';
  /** onnxruntime intra-op threads (default: onnxruntime's choice). */
  readonly threads?: number;
  /** Frames per clip for the ONNX export of a CLIP folder (default 8). */
  readonly frames?: number;
  /** Where `engine: 'onnx'` keeps exports of non-ONNX models (default `.lss-cache/onnx`). */
  readonly onnxCacheDir?: string;
}

interface TrainerSidecar {
  readonly format: string;
  readonly step?: number;
  readonly backbone?: VisionConfig;
  readonly tensorsFile?: string;
  readonly config?: { model?: { clip?: string | null }; concepts?: { textModel?: string | null } };
}

/** Finds a trainer checkpoint at `path` (a step file, its sidecar, or a folder of them): the tensors file and sidecar. */
export function findTrainerCheckpoint(path: string): { tensors: string; sidecar: TrainerSidecar; sidecarPath: string } | null {
  let file = path;
  if (existsSync(path) && statSync(path).isDirectory()) {
    const newest = newestStepFile(path); // the trainer's layout, the trainer's discovery (@lss/core/node)
    if (!newest) return null;
    file = newest.path;
  }
  if (file.endsWith('.json')) file = file.replace(/\.json$/, '.safetensors');
  if (!file.endsWith('.safetensors')) return null;
  const sidecarPath = file.replace(/\.safetensors$/, '.json');
  if (!existsSync(sidecarPath) || !existsSync(file)) return null;
  let sidecar: TrainerSidecar;
  try {
    sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8')) as TrainerSidecar;
  } catch {
    return null;
  }
  if (sidecar.format !== 'lss-trainer-checkpoint') return null;
  return { tensors: file, sidecar, sidecarPath };
}

function resolveRelative(p: string | null | undefined, base: string): string | null {
  if (!p) return null;
  if (existsSync(p)) return resolve(p);
  const rel = resolve(base, p);
  return existsSync(rel) ? rel : resolve(p);
}

function videoTowerModel(
  tower: VisionTower,
  fields: { path: string; hash: string; label: string; textModelDir: string | null; maxImagesPerCall: number },
): EvalModel {
  const c = tower.config;
  return {
    kind: 'checkpoint',
    path: fields.path,
    hash: fields.hash,
    label: fields.label,
    embedDim: c.embedDim,
    imageSize: c.imageSize,
    numFrames: c.numFrames,
    textModelDir: fields.textModelDir,
    clip: null,
    encodeViews: (views) => encodeInChunks(views, fields.maxImagesPerCall, (x) => tower.call(x)),
    tfjsCall: (x) => tower.call(x),
    dispose: () => tower.dispose(),
  };
}

/**
 * Runs `call` on `[V, T, H, W, 3]` views in chunks of at most `maxImages` frames.
 * Output: [V, E] row-major.
 */
async function encodeInChunks(views: HostViews, maxImages: number, call: (x: tf.Tensor5D) => tf.Tensor2D): Promise<Float32Array> {
  const [V, T, H, W, C] = views.shape as [number, number, number, number, number];
  const perView = T * H * W * C;
  const chunk = Math.max(1, Math.floor(maxImages / T));
  const parts: Float32Array[] = [];
  for (let start = 0; start < V; start += chunk) {
    const n = Math.min(chunk, V - start);
    const out = tf.tidy(() => call(tf.tensor5d(views.data.subarray(start * perView, (start + n) * perView), [n, T, H, W, C]))); // [n, E]
    try {
      parts.push((await out.data()) as Float32Array);
    } finally {
      out.dispose();
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  const data = new Float32Array(total);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  return data;
}

let rootCounter = 0;

/**
 * Wraps an in-memory video tower (e.g. the trainer's teacher) as an {@link EvalModel}, so a running
 * process can evaluate without writing a checkpoint. `hash` keys the feature cache: give a value that
 * changes with the weights (e.g. `run-id:step`), or no cache. `dispose()` does NOT dispose the tower
 * (the caller owns it).
 */
export function evalModelFromTower(
  tower: VisionTower,
  fields: { hash: string; label: string; textModelDir?: string | null; maxImagesPerCall?: number },
): EvalModel {
  const model = videoTowerModel(tower, {
    path: `in-memory:${tower.scope.path}`,
    hash: fields.hash,
    label: fields.label,
    textModelDir: fields.textModelDir ? resolve(fields.textModelDir) : null,
    maxImagesPerCall: fields.maxImagesPerCall ?? 32,
  });
  return { ...model, dispose: () => {} };
}

/**
 * Wraps a loaded CLIP (built with `video: false`: the image tower, frame embeddings averaged) as the
 * frozen-CLIP baseline {@link EvalModel}. `dispose()` does NOT dispose the CLIP (the caller owns it).
 */
export function evalModelFromClip(
  clip: ClipModel,
  fields: { hash: string; label: string; path: string; textModelDir?: string | null; maxImagesPerCall?: number },
): EvalModel {
  if (clip.config.vision.temporal) {
    throw new ConfigError(
      'evalModelFromClip needs the image tower (loadClip(dir, { video: false })); this CLIP has a video tower. Use evalModelFromTower for it.',
    );
  }
  return {
    kind: 'clip',
    path: fields.path,
    hash: fields.hash,
    label: fields.label,
    embedDim: clip.config.vision.embedDim,
    imageSize: clip.config.vision.imageSize,
    numFrames: undefined,
    textModelDir: fields.textModelDir === undefined ? fields.path : fields.textModelDir,
    clip,
    encodeViews: (views) => encodeInChunks(views, fields.maxImagesPerCall ?? 32, (x) => clip.encodeVideos(x)),
    tfjsCall: (x) => clip.encodeVideos(x),
    dispose: () => {},
  };
}

/** Throws a {@link WeightsError} naming `path` when it does not exist (cheap; run it before any slow work). */
export function checkModelPath(path: string): void {
  if (!existsSync(path)) {
    throw new WeightsError(
      `Model ${path} does not exist; pass a trainer checkpoint (step-*.safetensors or its folder), a video-tower .safetensors or a CLIP folder.`,
    );
  }
}

/**
 * Loads a trainer checkpoint, a video-tower file or a CLIP folder (see the file header). Call
 * `dispose()` when done.
 */
export async function loadEvalModel(path: string, options: LoadEvalModelOptions = {}): Promise<EvalModel> {
  checkModelPath(path);
  if (isOnnxModelFolder(path)) {
    if (options.engine === 'tfjs') {
      throw new ConfigError(
        `${path} is an exported ONNX model folder; run it with --engine onnx, or pass the checkpoint it was exported from.`,
      );
    }
    return loadOnnxEvalModel(path, {
      ...(options.threads ? { threads: options.threads } : {}),
      ...(options.label ? { label: options.label } : {}),
    });
  }
  if (options.engine === 'onnx')
    return loadOnnxEvalModel(await ensureOnnxExport(path, options), options.threads ? { threads: options.threads } : {});
  const maxImagesPerCall = options.maxImagesPerCall ?? 32;
  const root = `eval${++rootCounter}`;
  const trainer = findTrainerCheckpoint(path);
  if (trainer) {
    const role = options.role ?? 'teacher';
    const { backbone, config } = trainer.sidecar;
    if (!backbone)
      throw new WeightsError(`${trainer.sidecarPath} has no "backbone" config; expected the video tower config written by lss-train.`);
    const prefix = `${role}/`;
    const contents = readSafetensorsFile(trainer.tensors);
    const initialValues = new Map<string, tf.Tensor>();
    for (const [name, t] of contents.tensors) {
      if (name.startsWith(prefix)) initialValues.set(`${root}/${name.slice(prefix.length)}`, tf.tensor(t.data, [...t.shape], t.dtype));
    }
    if (initialValues.size === 0) {
      const roles = [...new Set([...contents.tensors.keys()].map((k) => k.split('/')[0]))].join(', ');
      tf.dispose([...initialValues.values()]);
      throw new WeightsError(
        `${trainer.tensors} has no tensors under "${prefix}"; its roles are: ${roles}. Pass --role student or teacher.`,
      );
    }
    let tower: VisionTower;
    try {
      tower = new VisionTower(backbone, new Scope(root, { trainable: false, initialValues }));
    } catch (error) {
      tf.dispose([...initialValues.values()].filter((t) => !t.isDisposed));
      throw new WeightsError(`Cannot rebuild the ${role} video tower from ${trainer.tensors}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const base = dirname(trainer.sidecarPath);
    const textModelDir =
      (options.textModel ? resolve(options.textModel) : null) ??
      resolveRelative(config?.concepts?.textModel, base) ??
      resolveRelative(config?.model?.clip, base);
    return videoTowerModel(tower, {
      path: resolve(trainer.tensors),
      hash: `${hashFileSha256(trainer.tensors)}:${role}`,
      label: options.label ?? `${basename(dirname(resolve(trainer.tensors)))}/${basename(trainer.tensors, '.safetensors')} (${role})`,
      textModelDir,
      maxImagesPerCall,
    });
  }
  if (statSync(path).isFile() && path.endsWith('.safetensors') && readSafetensorsFileHeader(path).metadata.format === 'lss-video-vit/1') {
    const tower = await loadVideoVit(path, root);
    return videoTowerModel(tower, {
      path: resolve(path),
      hash: hashFileSha256(path),
      label: options.label ?? basename(path, '.safetensors'),
      textModelDir: options.textModel ? resolve(options.textModel) : null,
      maxImagesPerCall,
    });
  }
  // A CLIP folder or file: frozen image CLIP, frame embeddings averaged.
  const clip = await loadClip(path, { video: false, root });
  const weights = clip.origin?.weights ?? [path];
  return {
    kind: 'clip',
    path: resolve(path),
    hash: hashWeightFiles(weights),
    label: options.label ?? `${basename(resolve(path))} (frozen CLIP, frame average)`,
    embedDim: clip.config.vision.embedDim,
    imageSize: clip.config.vision.imageSize,
    numFrames: undefined,
    textModelDir: options.textModel ? resolve(options.textModel) : statSync(path).isDirectory() ? resolve(path) : dirname(resolve(path)),
    clip,
    encodeViews: (views) => encodeInChunks(views, maxImagesPerCall, (x) => clip.encodeVideos(x)),
    tfjsCall: (x) => clip.encodeVideos(x),
    dispose: () => clip.dispose(),
  };
}

/** SHA-256 of a checkpoint: of its file, or of its shards' hashes in order. */
function hashWeightFiles(files: readonly string[]): string {
  if (files.length === 1) return hashFileSha256(files[0] as string);
  return createHash('sha256')
    .update(files.map((f) => hashFileSha256(f)).join('\n'))
    .digest('hex');
}

export type TextEngine = 'auto' | 'onnx' | 'tfjs';

/** Where the zero-shot text encoder came from (reported in the evaluation settings). */
export interface TextSource {
  /** Folder of the tokenizer (and of the ONNX model for the onnx engine). */
  readonly tokenizer: string;
  /** Files of the text weights: the ONNX model, or the CLIP safetensors file(s) the tfjs text tower was loaded from. */
  readonly weights: readonly string[];
}

/** True when `dir` holds CLIP weights (safetensors, a sharded index, or a pickle that loadClip will explain). */
function holdsClipWeights(dir: string): boolean {
  return readdirSync(dir).some((f) => f.endsWith('.safetensors') || f.endsWith('.safetensors.index.json') || /\.(bin|pt|pth)$/.test(f));
}

/**
 * The text encoder for zero-shot classifiers of `model`: ONNX (onnxruntime-node) when `engine` is 'onnx',
 * or 'auto' and the folder has `onnx/text_model.onnx` and onnxruntime-node is installed (it is an optional
 * peer dependency); else the tfjs text tower. The tokenizer always comes from `textModelDir`; the tfjs text
 * weights come from `textModelDir` when it holds CLIP weights, otherwise (a tokenizer-only folder, the
 * companion of an OpenAI-named file) from `options.clip`, the CLIP being evaluated. `source` says which.
 * Returns the encoder and a `release` that frees what was loaded for it.
 */
export async function loadTextEncoder(
  textModelDir: string | null,
  options: { engine?: TextEngine; clip?: ClipModel | null } = {},
): Promise<{ encoder: TextEncoder; engine: 'onnx' | 'tfjs'; source: TextSource; release: () => Promise<void> }> {
  if (!textModelDir) {
    throw new ConfigError(
      'No text model for the zero-shot classifier: the checkpoint does not name its CLIP folder. Pass --text-model DIR (the CLIP folder the model was trained from).',
    );
  }
  if (!existsSync(textModelDir) || !statSync(textModelDir).isDirectory()) {
    throw new ConfigError(
      `--text-model: ${textModelDir} is not a folder; expected a CLIP folder (tokenizer files, and CLIP weights or onnx/text_model.onnx).`,
    );
  }
  const dir = resolve(textModelDir);
  const engine = options.engine ?? 'auto';
  const onnxFile = join(dir, 'onnx', 'text_model.onnx');
  const hasOnnx = existsSync(onnxFile);
  const ortInstalled =
    engine === 'auto' && hasOnnx
      ? await loadOnnxRuntime().then(
          () => true,
          () => false,
        )
      : false;
  if (engine === 'onnx' || (engine === 'auto' && hasOnnx && ortInstalled)) {
    const encoder = await loadOnnxTextEncoder(dir);
    return {
      encoder,
      engine: 'onnx',
      source: { tokenizer: dir, weights: [onnxFile] },
      release: async () => void (await encoder.dispose?.()),
    };
  }
  const tokenizer = await loadClipTokenizer(dir);
  const given = options.clip ?? null;
  const givenDir = given?.origin?.weights[0] ? dirname(resolve(given.origin.weights[0])) : null;
  let clip: ClipModel;
  let owned: ClipModel | null = null;
  if (holdsClipWeights(dir)) {
    // The folder's own text weights, unless they are exactly the CLIP already loaded.
    if (given && givenDir === dir) clip = given;
    else clip = owned = await loadClip(dir, { video: false, root: `evaltext${++rootCounter}` });
  } else if (given) {
    clip = given;
  } else {
    throw new ConfigError(
      `--text-model ${textModelDir} holds a tokenizer but no CLIP weights (no .safetensors, no onnx/text_model.onnx), and the model being evaluated has no CLIP text tower to pair it with. Pass a CLIP folder with its weights.`,
    );
  }
  const weights = clip.origin?.weights ?? [];
  const encoder = createTfjsTextEncoder(clip, tokenizer, {
    id: basename(dir),
    modelHash: weights.length > 0 ? hashWeightFiles(weights) : 'unknown',
  });
  return { encoder, engine: 'tfjs', source: { tokenizer: dir, weights }, release: async () => owned?.dispose() };
}
