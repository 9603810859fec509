/**
 * ONNX model folders: `lss-eval export-onnx` writes one from a trainer checkpoint (teacher or student), a
 * saved video tower or a CLIP folder (frozen image CLIP, frame average), and `--engine onnx` runs one with
 * onnxruntime-node. Layout (a complete Hugging Face-style model folder):
 *
 *   onnx/video_model.onnx   pixel_values float32 [B, T, H, W, 3] (CLIP-normalised, channels-last) -> video_embeds [B, D]
 *   onnx/text_model.onnx    input_ids int64 [B, 77] -> text_embeds [B, E] (copied from the CLIP folder, or exported)
 *   tokenizer.json, tokenizer_config.json, vocab.json, merges.txt, special_tokens_map.json, config.json, preprocessor_config.json
 *   lss_video.json          frames, size, mean/std, embedding size, source and its SHA-256, quantisation
 *
 * The video graph is traced from the tfjs tower that lss-eval itself runs (`@lss/onnx`), so the two cannot
 * differ in architecture.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CLIP_MEAN, CLIP_STD, loadClip } from '@lss/backbone';
import { checkTokenizerFiles } from '@lss/concepts/node';
import { ConfigError, WeightsError } from '@lss/core';
import { hashFile, writeFileAtomic } from '@lss/core/node';
import { exportToOnnx, ONNX_OPSET } from '@lss/onnx';
import { createOnnxSession } from '@lss/onnx/node';
import * as tf from '@tensorflow/tfjs-core';
import type { HostViews } from './feature-cache.js';
import { type EvalModel, type LoadEvalModelOptions, loadEvalModel } from './model.js';

export const ONNX_VIDEO_MODEL = join('onnx', 'video_model.onnx');
export const ONNX_TEXT_MODEL_PATH = join('onnx', 'text_model.onnx');
export const ONNX_META_FILE = 'lss_video.json';
const FOLDER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'vocab.json',
  'merges.txt',
  'special_tokens_map.json',
  'config.json',
  'preprocessor_config.json',
];

/** `lss_video.json`: what the exported video model expects and where it came from. */
export interface OnnxVideoMeta {
  readonly format: 'lss-onnx-video/1';
  /** Frames per clip the graph was traced for (the input's T). */
  readonly frames: number;
  /** Crop size H = W in pixels. */
  readonly imageSize: number;
  /** CLIP mean/std: `pixel_values = (rgb / 255 - mean) / std`. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Embedding size D of `video_embeds`. */
  readonly embedDim: number;
  readonly input: 'pixel_values';
  readonly output: 'video_embeds';
  readonly layout: string;
  /** 'checkpoint' (a video tower) or 'clip' (frozen image CLIP, frame average). */
  readonly kind: 'checkpoint' | 'clip';
  readonly source: { readonly path: string; readonly sha256: string; readonly label: string };
  readonly quantize: 'none' | 'int8';
  readonly opset: number;
  /** Text tower: exported from the tfjs tower, or copied from the CLIP folder. */
  readonly text: { readonly file: string; readonly from: string };
}

export interface ExportOnnxOptions extends LoadEvalModelOptions {
  /** Frames per clip (default: the checkpoint's; 8 for a CLIP folder). */
  readonly frames?: number;
  readonly quantize?: 'int8';
}

export interface ExportOnnxResult {
  readonly dir: string;
  readonly files: readonly string[];
  readonly meta: OnnxVideoMeta;
  readonly nodes: number;
  readonly quantizedLinears: number;
}

/**
 * Writes the model folder `outDir` (created) for the model at `modelPath` (see {@link loadEvalModel}).
 * Errors: no text model known ({@link ConfigError}: pass `textModel`), a text folder without tokenizer
 * files ({@link ConfigError} naming them), a tfjs kernel without ONNX translation ({@link ConfigError}).
 */
export async function exportOnnxModelFolder(modelPath: string, outDir: string, options: ExportOnnxOptions = {}): Promise<ExportOnnxResult> {
  const model = await loadEvalModel(modelPath, { ...options, engine: 'tfjs' });
  try {
    return await exportLoaded(model, outDir, options);
  } finally {
    model.dispose();
  }
}

async function exportLoaded(model: EvalModel, outDir: string, options: ExportOnnxOptions): Promise<ExportOnnxResult> {
  const call = model.tfjsCall;
  if (!call) throw new ConfigError(`${model.label} has no tfjs tower to export (it is already an ONNX model).`);
  const frames = options.frames ?? model.numFrames ?? 8;
  if (!Number.isInteger(frames) || frames < 1) throw new ConfigError(`--frames: received ${frames}; expected a positive integer.`);
  const textDir = model.textModelDir;
  if (!textDir) {
    throw new ConfigError(
      `${model.label} does not name its CLIP folder, so the text tower and tokenizer are unknown; pass --text-model DIR (the CLIP folder the model was trained from).`,
    );
  }
  checkTokenizerFiles(textDir);
  const S = model.imageSize;
  const meanStd = { mean: [...CLIP_MEAN], std: [...CLIP_STD] };
  mkdirSync(join(outDir, 'onnx'), { recursive: true });
  const video = exportToOnnx((x) => call(x as tf.Tensor5D), {
    inputName: 'pixel_values',
    outputName: 'video_embeds',
    itemShape: [frames, S, S, 3],
    ...(options.quantize ? { quantize: options.quantize } : {}),
    docString: `LSS video tower (${model.label}), traced from the tfjs tower of @lss/backbone`,
    metadata: {
      frames: String(frames),
      image_size: String(S),
      mean: JSON.stringify(meanStd.mean),
      std: JSON.stringify(meanStd.std),
      source_sha256: model.hash,
      source: model.path,
      quantize: options.quantize ?? 'none',
    },
  });
  const files: string[] = [];
  const videoPath = join(outDir, ONNX_VIDEO_MODEL);
  writeFileAtomic(videoPath, video.bytes);
  files.push(videoPath);
  // Text tower: the CLIP folder's ONNX export if it has one, else traced from the tfjs text tower.
  const textOut = join(outDir, ONNX_TEXT_MODEL_PATH);
  let textFrom: string;
  const textSrc = join(textDir, ONNX_TEXT_MODEL_PATH);
  if (existsSync(textSrc)) {
    if (resolve(textSrc) !== resolve(textOut)) copyFileSync(textSrc, textOut);
    textFrom = `copied from ${textSrc}`;
  } else {
    const clip = model.clip ?? (await loadClip(textDir, { video: false, root: `onnxtext${Date.now()}` }));
    try {
      const text = exportToOnnx((ids) => clip.encodeText(ids), {
        inputName: 'input_ids',
        outputName: 'text_embeds',
        itemShape: [77],
        inputDtype: 'int32',
        onnxInputDtype: 'int64',
        makeInput: (shape) =>
          tf.tidy(() =>
            tf.concat([tf.fill([shape[0] as number, 1], 49406, 'int32'), tf.fill([shape[0] as number, 76], 49407, 'int32')], 1),
          ),
        docString: `CLIP text tower of ${textDir}, traced from the tfjs tower of @lss/backbone`,
      });
      writeFileAtomic(textOut, text.bytes);
      textFrom = `exported from the tfjs text tower of ${textDir}`;
    } finally {
      if (!model.clip) clip.dispose();
    }
  }
  files.push(textOut);
  for (const f of FOLDER_FILES) {
    const src = join(textDir, f);
    const dst = join(outDir, f);
    if (existsSync(src) && resolve(src) !== resolve(dst)) {
      copyFileSync(src, dst);
      files.push(dst);
    }
  }
  const embedDim = model.embedDim;
  const meta: OnnxVideoMeta = {
    format: 'lss-onnx-video/1',
    frames,
    imageSize: S,
    ...meanStd,
    embedDim,
    input: 'pixel_values',
    output: 'video_embeds',
    layout: 'pixel_values float32 [B, T, H, W, 3], channels-last RGB, (x / 255 - mean) / std; video_embeds float32 [B, D], not normalised',
    kind: model.kind,
    source: { path: model.path, sha256: model.hash, label: model.label },
    quantize: options.quantize ?? 'none',
    opset: ONNX_OPSET,
    text: { file: 'onnx/text_model.onnx', from: textFrom },
  };
  const metaPath = join(outDir, ONNX_META_FILE);
  writeFileAtomic(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
  files.push(metaPath);
  return { dir: outDir, files, meta, nodes: video.nodes, quantizedLinears: video.quantizedLinears };
}

/**
 * The ONNX folder for a non-ONNX model (`engine: 'onnx'`): exported once into
 * `<onnxCacheDir>/<sha256(source hash, frames)>/` and reused while the source is unchanged.
 */
export async function ensureOnnxExport(modelPath: string, options: ExportOnnxOptions & { onnxCacheDir?: string }): Promise<string> {
  const model = await loadEvalModel(modelPath, { ...options, engine: 'tfjs' });
  try {
    const frames = options.frames ?? model.numFrames ?? 8;
    const key = createHash('sha256')
      .update(JSON.stringify([model.hash, frames, options.quantize ?? 'none', model.textModelDir]))
      .digest('hex')
      .slice(0, 24);
    const dir = join(options.onnxCacheDir ?? join('.lss-cache', 'onnx'), key);
    if (!isOnnxModelFolder(dir)) await exportLoaded(model, dir, { ...options, frames });
    return dir;
  } finally {
    model.dispose();
  }
}

/** True when `path` is a folder written by {@link exportOnnxModelFolder}. */
export function isOnnxModelFolder(path: string): boolean {
  return existsSync(join(path, ONNX_META_FILE)) && existsSync(join(path, ONNX_VIDEO_MODEL));
}

/** Reads and checks `lss_video.json`. */
export function readOnnxVideoMeta(dir: string): OnnxVideoMeta {
  const p = join(dir, ONNX_META_FILE);
  let meta: OnnxVideoMeta;
  try {
    meta = JSON.parse(readFileSync(p, 'utf8')) as OnnxVideoMeta;
  } catch (e) {
    throw new WeightsError(`${p} is not valid JSON (${(e as Error).message}); expected the file lss-eval export-onnx writes.`);
  }
  if (meta.format !== 'lss-onnx-video/1' || !(meta.frames > 0) || !(meta.imageSize > 0) || !(meta.embedDim > 0)) {
    throw new WeightsError(
      `${p} has format ${JSON.stringify(meta.format)}; expected "lss-onnx-video/1" with frames, imageSize and embedDim.`,
    );
  }
  return meta;
}

/**
 * An exported folder as an {@link EvalModel} run by onnxruntime-node (`threads` intra-op threads).
 * Features are cached under `onnx:<sha256 of video_model.onnx>`, apart from the tfjs engine's.
 */
export async function loadOnnxEvalModel(
  dir: string,
  options: { threads?: number; label?: string; maxClipsPerCall?: number } = {},
): Promise<EvalModel> {
  const meta = readOnnxVideoMeta(dir);
  const file = join(dir, ONNX_VIDEO_MODEL);
  const session = await createOnnxSession(file, options.threads ? { threads: options.threads } : {});
  const perCall = options.maxClipsPerCall ?? 8;
  return {
    kind: meta.kind,
    path: resolve(dir),
    hash: `onnx:${hashFile(file)}`,
    label: options.label ?? `${basename(resolve(dir))} (ONNX${meta.quantize === 'int8' ? ' int8' : ''})`,
    embedDim: meta.embedDim,
    imageSize: meta.imageSize,
    numFrames: meta.frames,
    textModelDir: resolve(dir),
    clip: null,
    async encodeViews(views: HostViews): Promise<Float32Array> {
      const [V, T, H, W, C] = views.shape as [number, number, number, number, number];
      if (T !== meta.frames || H !== meta.imageSize || W !== meta.imageSize || C !== 3) {
        throw new ConfigError(
          `ONNX model ${dir} takes [B, ${meta.frames}, ${meta.imageSize}, ${meta.imageSize}, 3] clips; received views [${views.shape.join(', ')}]. Use --frames ${meta.frames} --size ${meta.imageSize}, or export again with --frames ${T}.`,
        );
      }
      const per = T * H * W * C;
      const out = new Float32Array(V * meta.embedDim);
      for (let start = 0; start < V; start += perCall) {
        const n = Math.min(perCall, V - start);
        const y = await session.run(views.data.subarray(start * per, (start + n) * per), [n, T, H, W, C]);
        out.set(y.data, start * meta.embedDim);
      }
      return out;
    },
    dispose: () => void session.release(),
  };
}
