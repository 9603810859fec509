/**
 * `ClipModel`: CLIP's two towers (the vision tower optionally with divided space-time attention), and
 * the loaders `loadClipFromBytes` (browser-safe) and `loadClip` (Node: reads a folder or a file).
 */
import { ConfigError, WeightsError } from '@lss/core';
import type * as tf from '@tensorflow/tfjs-core';
import { type ClipConfig, type TextConfig, type VisionConfig, validateClipConfig } from './config.js';
import { Scope } from './scope.js';
import { TextTower } from './text.js';
import { type VisionCallOptions, VisionTower } from './vision.js';
import {
  type ArchitectureHints,
  detectClipNaming,
  importClipWeights,
  inferTextConfig,
  inferVisionConfig,
  toInitialValues,
} from './weights/clip-import.js';
import type { ClipNaming } from './weights/names.js';
import { diagnoseTruncation, type WeightSource, weightSourceFromBytes } from './weights/source.js';

export class ClipModel {
  readonly config: ClipConfig;
  /** Vision tower (video tower when `config.vision.temporal`), variables under `<root>/vision`. */
  readonly vision: VisionTower;
  /** Text tower, variables under `<root>/text`. */
  readonly text: TextTower;
  /** CLIP's logit multiplier `exp(logit_scale)` (100 for OpenAI's models), as `CLIP.forward` applies it. */
  readonly logitScale: number;
  /** The raw `logit_scale` parameter (log of {@link ClipModel.logitScale}). */
  readonly logitScaleRaw: number;
  /** Naming of the checkpoint it was loaded from, when loaded. */
  readonly naming: ClipNaming | undefined;

  constructor(
    config: ClipConfig,
    options: {
      root?: string;
      seed?: number;
      trainable?: boolean;
      initialValues?: ReadonlyMap<string, tf.Tensor>;
      logitScaleRaw?: number;
      naming?: ClipNaming;
    } = {},
  ) {
    this.config = validateClipConfig(config);
    const root = new Scope(options.root ?? 'clip', {
      trainable: options.trainable ?? false,
      seed: options.seed ?? 0,
      ...(options.initialValues ? { initialValues: options.initialValues } : {}),
    });
    this.vision = new VisionTower(this.config.vision, root.child('vision'));
    this.text = new TextTower(this.config.text, root.child('text'));
    this.logitScaleRaw = options.logitScaleRaw ?? Math.log(1 / 0.07);
    this.logitScale = Math.exp(this.logitScaleRaw);
    this.naming = options.naming;
  }

  /**
   * CLIP's `encode_image`. Input: `[N, H, W, 3]` CLIP-normalised pixels (channels-last).
   * Output: `[N, E]`, unnormalised.
   */
  encodeImages(pixels: tf.Tensor4D | tf.Tensor, options?: VisionCallOptions): tf.Tensor2D {
    return this.vision.callImages(pixels, options);
  }

  /**
   * Video embedding with divided space-time attention (CLIP-initialised temporal parts give exactly the
   * image embedding for a video of identical frames). Input: `[N, T, H, W, 3]`. Output: `[N, E]`.
   */
  encodeVideos(frames: tf.Tensor5D | tf.Tensor, options?: VisionCallOptions): tf.Tensor2D {
    return this.vision.call(frames, options);
  }

  /** CLIP's `encode_text`. Input: `[N, L]` int32 ids (L <= 77). Output: `[N, E]`, unnormalised. */
  encodeText(ids: tf.Tensor2D | tf.Tensor): tf.Tensor2D {
    return this.text.call(ids);
  }

  dispose(): void {
    this.vision.dispose();
    this.text.dispose();
  }
}

/** Options of {@link loadClip} and {@link loadClipFromBytes}. */
export interface LoadClipOptions {
  /** Root of the variable paths (default `clip`); use different roots for models that coexist. */
  readonly root?: string;
  /** Build the vision tower with divided space-time attention (default true; false = image tower only). */
  readonly video?: boolean;
  /** Length of the time embedding when the checkpoint has none (default 8). */
  readonly numFrames?: number;
  /** Variables trainable (default false: a frozen CLIP). */
  readonly trainable?: boolean;
  /**
   * What tensor shapes cannot tell: heads (default width / 64, OpenAI's rule; Hugging Face's
   * `config.json` gives them), activation, LayerNorm epsilon. Applied last.
   */
  readonly config?: ArchitectureHints;
  /** For a folder: the weights file inside it (default `model.safetensors`, else the only `*.safetensors`). */
  readonly weightsFile?: string;
}

/** Architecture hints from a Hugging Face `config.json` (`CLIPConfig`). */
export function hintsFromHfConfig(json: unknown): ArchitectureHints {
  const cfg = (json ?? {}) as { vision_config?: Record<string, unknown>; text_config?: Record<string, unknown> };
  const tower = (c: Record<string, unknown> | undefined) => {
    const out: { heads?: number; activation?: VisionConfig['activation']; layerNormEps?: number } = {};
    if (!c) return out;
    if (typeof c.num_attention_heads === 'number') out.heads = c.num_attention_heads;
    if (c.hidden_act === 'quick_gelu' || c.hidden_act === 'gelu') out.activation = c.hidden_act;
    else if (c.hidden_act === 'gelu_new' || c.hidden_act === 'gelu_pytorch_tanh') out.activation = 'gelu_tanh';
    else if (c.hidden_act !== undefined) {
      throw new ConfigError(`config.json hidden_act ${JSON.stringify(c.hidden_act)} is not supported; expected quick_gelu or gelu.`);
    }
    if (typeof c.layer_norm_eps === 'number') out.layerNormEps = c.layer_norm_eps;
    return out;
  };
  return { vision: tower(cfg.vision_config), text: tower(cfg.text_config) };
}

/** Builds a {@link ClipModel} from a checked weight source. */
export function clipFromSource(source: WeightSource, options: LoadClipOptions & { hints?: ArchitectureHints } = {}): ClipModel {
  const naming = detectClipNaming(source);
  const merge = <T>(a: Partial<T> | undefined, b: Partial<T> | undefined): Partial<T> => ({ ...(a ?? {}), ...(b ?? {}) });
  const vision = inferVisionConfig(source, naming, {
    ...merge<VisionConfig>(options.hints?.vision, options.config?.vision),
    temporal: options.video ?? true,
    ...(options.numFrames !== undefined ? { numFrames: options.numFrames } : {}),
  });
  const text: TextConfig = inferTextConfig(source, naming, merge<TextConfig>(options.hints?.text, options.config?.text));
  const config = validateClipConfig({ embedDim: vision.embedDim, vision, text });
  const imported = importClipWeights(source, { vision, text });
  const root = options.root ?? 'clip';
  const initialValues = new Map([...toInitialValues(`${root}/vision`, imported.vision), ...toInitialValues(`${root}/text`, imported.text)]);
  try {
    return new ClipModel(config, {
      root,
      initialValues,
      naming,
      trainable: options.trainable ?? false,
      ...(imported.logitScaleRaw !== undefined ? { logitScaleRaw: imported.logitScaleRaw } : {}),
    });
  } catch (error) {
    for (const t of initialValues.values()) if (!t.isDisposed) t.dispose();
    throw error;
  }
}

/**
 * Loads CLIP from the bytes of a safetensors file (Hugging Face or OpenAI names, detected from the
 * keys; F32, F16 or BF16). No file system: usable in browsers.
 *
 * @param configJson Optional Hugging Face `config.json` contents (gives heads, activation, epsilon).
 */
export function loadClipFromBytes(bytes: Uint8Array, options: LoadClipOptions & { configJson?: unknown; name?: string } = {}): ClipModel {
  const source = weightSourceFromBytes(bytes, options.name ?? 'CLIP safetensors');
  return clipFromSource(source, { ...options, ...(options.configJson ? { hints: hintsFromHfConfig(options.configJson) } : {}) });
}

/**
 * Loads CLIP from a Hugging Face folder (`config.json` + `model.safetensors`), or from a safetensors
 * file with OpenAI or Hugging Face names (a `config.json` beside it is used for heads/activation/eps
 * when present). Node only (reads files through a dynamic import of `@lss/core/node`).
 *
 * @example
 * import { initBackend } from '@lss/core';
 * import { loadClip } from '@lss/backbone';
 * await initBackend('wasm');
 * const clip = await loadClip('models/clip-vit-base-patch16');
 * const z = clip.encodeVideos(frames); // [N, 512]
 */
export async function loadClip(dir: string, options: LoadClipOptions = {}): Promise<ClipModel> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  if (!fs.existsSync(dir))
    throw new WeightsError(`CLIP path ${dir} does not exist; pass a Hugging Face CLIP folder or a .safetensors file.`);
  let file = dir;
  let folder = path.dirname(dir);
  if (fs.statSync(dir).isDirectory()) {
    folder = dir;
    const candidates = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    const name =
      options.weightsFile ??
      (candidates.includes('model.safetensors') ? 'model.safetensors' : candidates.length === 1 ? candidates[0] : undefined);
    if (!name) {
      throw new WeightsError(
        `${dir} holds ${candidates.length === 0 ? 'no .safetensors file' : `several .safetensors files (${candidates.join(', ')})`}; expected model.safetensors, or pass options.weightsFile.`,
      );
    }
    file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new WeightsError(`${file} does not exist; expected the CLIP weights there.`);
  }
  const configPath = path.join(folder, 'config.json');
  let hints: ArchitectureHints | undefined;
  if (fs.existsSync(configPath)) {
    const json = JSON.parse(fs.readFileSync(configPath, 'utf8')) as { model_type?: string };
    if (json.model_type === undefined || json.model_type === 'clip') hints = hintsFromHfConfig(json);
  }
  const source = await weightSourceFromFile(file);
  return clipFromSource(source, { ...options, ...(hints ? { hints } : {}) });
}

/** A {@link WeightSource} over a safetensors file, reading tensors one at a time (Node only). */
export async function weightSourceFromFile(file: string): Promise<WeightSource> {
  const node = await import('@lss/core/node');
  let header: ReturnType<typeof node.readSafetensorsFileHeader>;
  try {
    header = node.readSafetensorsFileHeader(file);
  } catch (error) {
    const fs = await import('node:fs');
    let diagnosis: WeightsError | null = null;
    try {
      const size = fs.statSync(file).size;
      const fd = fs.openSync(file, 'r');
      try {
        const head = Buffer.alloc(8);
        fs.readSync(fd, head, 0, 8, 0);
        const length = Math.min(size - 8, head.readUInt32LE(0) + head.readUInt32LE(4) * 4294967296 + 8);
        const prefix = new Uint8Array(Math.max(8, Math.min(size, 8 + length)));
        fs.readSync(fd, prefix, 0, prefix.length, 0);
        diagnosis = diagnoseTruncation(prefix, size, file);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      diagnosis = null;
    }
    throw diagnosis ?? error;
  }
  const entries = new Map(header.entries.map((e) => [e.name, e]));
  const fs = await import('node:fs');
  const { decodeTensor } = await import('@lss/core');
  return {
    name: file,
    entries,
    metadata: header.metadata,
    read(key) {
      const entry = entries.get(key);
      if (!entry) throw new WeightsError(`${file}: no tensor ${JSON.stringify(key)}.`);
      const fd = fs.openSync(file, 'r');
      try {
        const raw = new Uint8Array(entry.end - entry.begin);
        let done = 0;
        while (done < raw.length) {
          const n = fs.readSync(fd, raw, done, raw.length - done, entry.begin + done);
          if (n === 0) throw new WeightsError(`${file}: unexpected end of file in tensor ${key}; the file is truncated.`);
          done += n;
        }
        return decodeTensor(entry, raw, file);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

export type { ArchitectureHints };
