/**
 * `ClipModel`: CLIP's two towers (the vision tower optionally with divided space-time attention), and
 * the loaders `loadClipFromBytes` (browser-safe) and `loadClip` (Node: reads a folder or a file).
 */
import { ConfigError, type SafetensorsDtype, WeightsError } from '@lss/core';
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
  /** What {@link loadClip} read (weights files, the config file and the activation it implies), when loaded. */
  readonly origin: ClipOrigin | undefined;

  constructor(
    config: ClipConfig,
    options: {
      root?: string;
      seed?: number;
      trainable?: boolean;
      initialValues?: ReadonlyMap<string, tf.Tensor>;
      logitScaleRaw?: number;
      naming?: ClipNaming;
      origin?: ClipOrigin;
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
    this.origin = options.origin;
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

/** Where a loaded CLIP came from: reported by the apps (e.g. `lss-eval`) next to their results. */
export interface ClipOrigin {
  /** The safetensors files read (one, or the shards of an index). */
  readonly weights: readonly string[];
  /** The file the architecture hints came from (`config.json`, `open_clip_config.json`), if any. */
  readonly config: string | null;
}

/**
 * Hugging Face `CLIPTextConfig` / `CLIPVisionConfig` defaults for the values shapes cannot tell
 * (transformers `configuration_clip.py`): used when a `*_config_dict` rebuilds a tower config.
 */
const HF_TOWER_DEFAULTS = {
  text: { num_attention_heads: 8, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5 },
  vision: { num_attention_heads: 12, hidden_act: 'quick_gelu', layer_norm_eps: 1e-5 },
} as const;

/**
 * Architecture hints from a Hugging Face `config.json` (`CLIPConfig`).
 *
 * Older configs carry `text_config_dict` / `vision_config_dict`. transformers' `CLIPConfig` builds a
 * complete tower config from such a dict (`CLIPTextConfig(**text_config_dict).to_dict()`, so every key it
 * does not name takes the class default) and then overwrites `text_config` with ALL of it. The same is
 * done here for the values that matter (heads, activation, LayerNorm epsilon).
 */
export function hintsFromHfConfig(json: unknown): ArchitectureHints {
  const cfg = (json ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const effective = (kind: 'text' | 'vision'): Record<string, unknown> | undefined => {
    const dict = cfg[`${kind}_config_dict`];
    const base = cfg[`${kind}_config`];
    if (dict && typeof dict === 'object') return { ...(base ?? {}), ...HF_TOWER_DEFAULTS[kind], ...dict };
    return base;
  };
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
  return { vision: tower(effective('vision')), text: tower(effective('text')) };
}

/**
 * Keys of OpenCLIP's `vision_cfg` / `text_cfg` (open_clip `CLIPVisionCfg` / `CLIPTextCfg`) that this
 * loader can honour, with the values it supports; any other key, or another value, is refused rather
 * than guessed. `undefined` = any value (sizes come from the tensor shapes).
 */
const OPEN_CLIP_VISION_KEYS: Record<string, readonly unknown[] | undefined> = {
  layers: undefined,
  width: undefined,
  head_width: undefined,
  mlp_ratio: undefined,
  patch_size: undefined,
  image_size: undefined,
  patch_dropout: undefined, // training only
  ls_init_value: [null],
  attentional_pool: [false],
  no_ln_pre: [false],
  pos_embed_type: ['learnable'],
  final_ln_after_pool: [false],
  pool_type: ['tok'],
  output_tokens: [false],
  input_patchnorm: [false],
  timm_model_name: [null],
};
const OPEN_CLIP_TEXT_KEYS: Record<string, readonly unknown[] | undefined> = {
  context_length: undefined,
  vocab_size: undefined,
  width: undefined,
  heads: undefined,
  layers: undefined,
  mlp_ratio: undefined,
  ls_init_value: [null],
  embed_cls: [false],
  pad_id: [0],
  no_causal_mask: [false],
  final_ln_after_pool: [false],
  pool_type: ['argmax'],
  proj_bias: [false],
  output_tokens: [false],
  hf_model_name: [null],
  hf_tokenizer_name: undefined,
};

/**
 * Architecture hints from OpenCLIP's `open_clip_config.json` (`{ model_cfg: { embed_dim, quick_gelu,
 * vision_cfg, text_cfg }, preprocess_cfg }`). OpenCLIP builds its towers with `nn.GELU` unless
 * `quick_gelu: true`; heads are `width / head_width` (default 64) for the image tower and `heads`
 * (default 8) for the text tower; LayerNorm epsilon 1e-5. Options this loader does not implement are
 * refused by name ({@link WeightsError}).
 */
export function hintsFromOpenClipConfig(json: unknown, where = 'open_clip_config.json'): ArchitectureHints {
  const root = (json ?? {}) as Record<string, unknown>;
  const model = (root.model_cfg ?? root) as Record<string, unknown>;
  const vision = model.vision_cfg as Record<string, unknown> | undefined;
  const text = model.text_cfg as Record<string, unknown> | undefined;
  if (!vision || typeof vision !== 'object' || !text || typeof text !== 'object') {
    throw new WeightsError(
      `${where}: expected model_cfg.vision_cfg and model_cfg.text_cfg (OpenCLIP's model config); found keys ${Object.keys(model).slice(0, 12).join(', ') || 'none'}.`,
    );
  }
  const check = (cfg: Record<string, unknown>, allowed: Record<string, readonly unknown[] | undefined>, name: string) => {
    for (const [key, value] of Object.entries(cfg)) {
      if (!(key in allowed)) {
        throw new WeightsError(
          `${where}: ${name}.${key} is an OpenCLIP option this loader does not implement; refusing to guess how it changes the model. Supported keys: ${Object.keys(allowed).join(', ')}.`,
        );
      }
      const ok = allowed[key];
      if (ok && value !== undefined && !ok.includes(value)) {
        throw new WeightsError(
          `${where}: ${name}.${key} is ${JSON.stringify(value)}; this loader implements only ${ok.map((v) => JSON.stringify(v)).join(' or ')}.`,
        );
      }
    }
  };
  check(vision, OPEN_CLIP_VISION_KEYS, 'vision_cfg');
  check(text, OPEN_CLIP_TEXT_KEYS, 'text_cfg');
  if (typeof vision.layers !== 'number') {
    throw new WeightsError(
      `${where}: vision_cfg.layers is ${JSON.stringify(vision.layers)}; only ViT image towers (a number of layers) are supported, not ModifiedResNet.`,
    );
  }
  if (model.quick_gelu !== undefined && typeof model.quick_gelu !== 'boolean') {
    throw new WeightsError(`${where}: quick_gelu is ${JSON.stringify(model.quick_gelu)}; expected true or false.`);
  }
  const activation: VisionConfig['activation'] = model.quick_gelu === true ? 'quick_gelu' : 'gelu';
  const headWidth = typeof vision.head_width === 'number' ? vision.head_width : 64;
  const visionHints: Partial<VisionConfig> = {
    activation,
    layerNormEps: 1e-5,
    ...(typeof vision.width === 'number' ? { heads: vision.width / headWidth } : {}),
  };
  const textHints: Partial<TextConfig> = { activation, layerNormEps: 1e-5, heads: typeof text.heads === 'number' ? text.heads : 8 };
  return { vision: visionHints, text: textHints };
}

/** Builds a {@link ClipModel} from a checked weight source. */
export function clipFromSource(
  source: WeightSource,
  options: LoadClipOptions & { hints?: ArchitectureHints; origin?: ClipOrigin } = {},
): ClipModel {
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
      ...(options.origin ? { origin: options.origin } : {}),
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

/** Python pickles (`torch.save` files): never loaded, they can execute code when unpickled. */
const PICKLE = /\.(bin|pt|pth|ckpt|pkl)$/i;
const INDEX = /\.safetensors\.index\.json$/;

/** The refusal for a pickle checkpoint, with the one-line conversion to safetensors. */
function pickleError(file: string, found: string): WeightsError {
  const out = file.replace(/(pytorch_model|open_clip_pytorch_model)?\.(bin|pt|pth|ckpt|pkl)$/i, (_m, stem: string | undefined) =>
    stem === 'open_clip_pytorch_model' ? 'open_clip_model.safetensors' : stem ? 'model.safetensors' : '.safetensors',
  );
  return new WeightsError(
    [
      `${found}: ${file} is a PyTorch pickle (torch.save). LSS.js does not load pickles: unpickling can execute arbitrary code, so a downloaded .bin/.pt file is only safe to open in Python with weights_only=True.`,
      'Convert it once to safetensors (needs `pip install torch safetensors`), then load the folder or the new file:',
      `  python3 -c "import torch; from safetensors.torch import save_file; sd = torch.load('${file}', map_location='cpu', weights_only=True); save_file({k: v.contiguous() for k, v in sd.items()}, '${out}')"`,
      "(OpenAI's original ViT-*.pt files are TorchScript archives: use torch.jit.load(path, map_location='cpu').state_dict() instead of torch.load.)",
    ].join('\n'),
  );
}

/**
 * Loads CLIP from a folder or a file (Node only; reads files through a dynamic import of
 * `@lss/core/node`). Understood layouts:
 * - Hugging Face: `config.json` + `model.safetensors`, or a sharded `model.safetensors.index.json` with
 *   its `model-0000N-of-0000M.safetensors` shards (the index itself may be given as the path);
 * - OpenCLIP: `open_clip_config.json` + `open_clip_model.safetensors` (the config says GELU or QuickGELU;
 *   without it an `open_clip_*` file is refused rather than guessed);
 * - a single safetensors file with OpenAI or Hugging Face names (a `config.json` beside it is used).
 * `pytorch_model.bin` and other pickles are refused with the command that converts them.
 * Throws {@link WeightsError} naming what was found and what is expected.
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
    const names = fs.readdirSync(dir);
    const candidates = names.filter((f) => f.endsWith('.safetensors'));
    const pick = (): string | undefined => {
      if (options.weightsFile) return options.weightsFile;
      if (candidates.includes('model.safetensors')) return 'model.safetensors';
      if (names.includes('model.safetensors.index.json')) return 'model.safetensors.index.json';
      if (candidates.includes('open_clip_model.safetensors')) return 'open_clip_model.safetensors';
      return candidates.length === 1 ? candidates[0] : undefined;
    };
    const name = pick();
    if (!name) {
      const pickles = names.filter((f) => PICKLE.test(f));
      if (candidates.length === 0 && pickles.length > 0)
        throw pickleError(path.join(dir, pickles[0] as string), `${dir} holds no .safetensors file`);
      throw new WeightsError(
        `${dir} holds ${candidates.length === 0 ? 'no .safetensors file' : `several .safetensors files (${candidates.join(', ')})`}; expected model.safetensors, model.safetensors.index.json (sharded) or open_clip_model.safetensors. Pass the file itself as the path (\`--model ${path.join(dir, candidates[0] ?? 'model.safetensors')}\`), or options.weightsFile.`,
      );
    }
    file = path.join(dir, name);
    if (!fs.existsSync(file)) throw new WeightsError(`${file} does not exist; expected the CLIP weights there.`);
  }
  if (PICKLE.test(file)) throw pickleError(file, 'CLIP weights');
  const base = path.basename(file);
  const openClip = base.startsWith('open_clip');
  let hints: ArchitectureHints | undefined;
  let configFile: string | null = null;
  const hfConfig = path.join(folder, 'config.json');
  const ocConfig = path.join(folder, 'open_clip_config.json');
  const readJson = (p: string): unknown => {
    try {
      return JSON.parse(fs.readFileSync(p, 'utf8'));
    } catch (error) {
      throw new WeightsError(`${p} is not valid JSON (${(error as Error).message.slice(0, 200)}); fix or remove it.`);
    }
  };
  if (openClip && fs.existsSync(ocConfig)) {
    hints = hintsFromOpenClipConfig(readJson(ocConfig), ocConfig);
    configFile = ocConfig;
  } else if (fs.existsSync(hfConfig)) {
    const json = readJson(hfConfig) as { model_type?: string };
    if (json.model_type === undefined || json.model_type === 'clip') {
      hints = hintsFromHfConfig(json);
      configFile = hfConfig;
    }
  }
  if (openClip && !hints && !(options.config?.vision?.activation && options.config?.text?.activation)) {
    throw new WeightsError(
      `${file} is an OpenCLIP checkpoint, but there is no open_clip_config.json beside it. OpenCLIP models use GELU unless their config says quick_gelu (OpenAI's QuickGELU), and the weights cannot tell; refusing to guess. Put the model's open_clip_config.json in ${folder}, or pass options.config = { vision: { activation }, text: { activation } } ('gelu' or 'quick_gelu').`,
    );
  }
  const source = INDEX.test(file) ? await weightSourceFromIndex(file) : await weightSourceFromFile(file);
  const weights = (source as { files?: readonly string[] }).files ?? [file];
  return clipFromSource(source, { ...options, ...(hints ? { hints } : {}), origin: { weights, config: configFile } });
}

/**
 * A {@link WeightSource} over a sharded Hugging Face checkpoint: `model.safetensors.index.json`
 * (`{ "weight_map": { tensor name: shard file } }`) and the shards beside it. Every tensor is checked
 * to be in the shard the index names. Node only.
 */
export async function weightSourceFromIndex(indexFile: string): Promise<WeightSource & { readonly files: readonly string[] }> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  let json: { weight_map?: unknown };
  try {
    json = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (error) {
    throw new WeightsError(
      `${indexFile}: not a readable JSON index (${(error as Error).message.slice(0, 200)}); expected { "weight_map": { name: shard } }.`,
    );
  }
  const map = json?.weight_map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) {
    throw new WeightsError(
      `${indexFile}: no "weight_map" object; expected { "weight_map": { tensor name: "model-00001-of-0000N.safetensors", ... } }.`,
    );
  }
  const byShard = new Map<string, string[]>();
  for (const [key, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== 'string' || shard !== path.basename(shard) || !shard.endsWith('.safetensors')) {
      throw new WeightsError(
        `${indexFile}: weight_map[${JSON.stringify(key.slice(0, 100))}] is ${JSON.stringify(String(shard).slice(0, 100))}; expected the name of a .safetensors file in the same folder.`,
      );
    }
    byShard.set(shard, [...(byShard.get(shard) ?? []), key]);
  }
  const folder = path.dirname(indexFile);
  const shards = new Map<string, WeightSource>();
  for (const shard of byShard.keys()) {
    const p = path.join(folder, shard);
    if (!fs.existsSync(p))
      throw new WeightsError(`${indexFile} names shard ${shard}, which is missing from ${folder}; download every shard the index lists.`);
    shards.set(shard, await weightSourceFromFile(p));
  }
  const entries = new Map<string, { readonly dtype: SafetensorsDtype; readonly shape: readonly number[] }>();
  const owner = new Map<string, WeightSource>();
  for (const [shard, keys] of byShard) {
    const source = shards.get(shard) as WeightSource;
    const missing = keys.filter((k) => !source.entries.has(k));
    if (missing.length > 0) {
      throw new WeightsError(
        `${indexFile} puts ${missing.length} tensor(s) in ${shard} that it does not hold: ${missing
          .slice(0, 5)
          .map((k) => JSON.stringify(k.slice(0, 100)))
          .join(', ')}${missing.length > 5 ? ', ...' : ''}. The index and the shards come from different downloads.`,
      );
    }
    for (const k of keys) {
      entries.set(k, source.entries.get(k) as { dtype: SafetensorsDtype; shape: readonly number[] });
      owner.set(k, source);
    }
  }
  return {
    name: indexFile,
    files: [...shards.keys()].map((s) => path.join(folder, s)),
    entries,
    metadata: {},
    read(key) {
      const source = owner.get(key);
      if (!source) throw new WeightsError(`${indexFile}: no tensor ${JSON.stringify(key.slice(0, 100))}.`);
      return source.read(key);
    },
  };
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
