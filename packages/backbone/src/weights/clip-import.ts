/**
 * CLIP checkpoint import: detects the naming, infers the architecture from the tensor shapes, checks
 * every key (missing, unknown, shape, dtype) before decoding, and converts to our layout.
 */
import { formatShape, type SafetensorsDtype, WeightsError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { type Activation, type TextConfig, type VisionConfig, validateTextConfig, validateVisionConfig } from '../config.js';
import {
  type ClipNaming,
  detectNaming,
  isIgnorableKey,
  isVisionKey,
  LOGIT_SCALE_KEY,
  textSpecs,
  visionSpecs,
  type WeightSpec,
} from './names.js';
import type { WeightSource } from './source.js';
import type { HostTensor } from './torch-layout.js';

const FLOAT_DTYPES: readonly SafetensorsDtype[] = ['F32', 'F16', 'BF16', 'F64'];

/** Architecture settings that tensor shapes cannot tell (heads, activation, LayerNorm epsilon, frames). */
export interface ArchitectureHints {
  readonly vision?: Partial<VisionConfig>;
  readonly text?: Partial<TextConfig>;
}

/** Reads the naming of a checkpoint; throws {@link WeightsError} if it is neither HF nor OpenAI CLIP. */
export function detectClipNaming(source: WeightSource): ClipNaming {
  const naming = detectNaming(source.entries.keys());
  if (!naming) {
    const sample = [...source.entries.keys()].slice(0, 5).join(', ');
    throw new WeightsError(
      `${source.name}: keys (${sample}${source.entries.size > 5 ? ', ...' : ''}) are neither Hugging Face CLIPModel names (vision_model.*, text_model.*) nor OpenAI CLIP names (visual.*, transformer.resblocks.*). Pass a CLIP checkpoint.`,
    );
  }
  return naming;
}

function shapeOf(source: WeightSource, key: string): readonly number[] {
  const e = source.entries.get(key);
  if (!e) {
    throw new WeightsError(`${source.name}: key ${JSON.stringify(key)} is missing; it is needed to infer the architecture.`);
  }
  return e.shape;
}

function countLayers(source: WeightSource, prefix: string): number {
  let n = 0;
  const re = new RegExp(`^${prefix.replace(/\./g, '\\.')}(\\d+)\\.`);
  for (const k of source.entries.keys()) {
    const m = re.exec(k);
    if (m) n = Math.max(n, Number(m[1]) + 1);
  }
  return n;
}

/** Whether the checkpoint has a vision / text tower. */
export function towersIn(source: WeightSource): { vision: boolean; text: boolean } {
  let vision = false;
  let text = false;
  for (const k of source.entries.keys()) {
    if (isIgnorableKey(k) || k === LOGIT_SCALE_KEY) continue;
    if (isVisionKey(k)) vision = true;
    else text = true;
  }
  return { vision, text };
}

/**
 * Infers the vision config from shapes (width, patch, grid, layers, MLP width, projection); heads
 * default to width / 64 (OpenAI's rule), activation quick_gelu, epsilon 1e-5, unless `hints` say otherwise.
 */
export function inferVisionConfig(source: WeightSource, naming: ClipNaming, hints: Partial<VisionConfig> = {}): VisionConfig {
  const hf = naming === 'hf';
  const [width, , patchSize] = shapeOf(source, hf ? 'vision_model.embeddings.patch_embedding.weight' : 'visual.conv1.weight') as number[];
  const tokens = shapeOf(source, hf ? 'vision_model.embeddings.position_embedding.weight' : 'visual.positional_embedding')[0] as number;
  const grid = Math.round(Math.sqrt(tokens - 1));
  const layers = countLayers(source, hf ? 'vision_model.encoder.layers.' : 'visual.transformer.resblocks.');
  const mlpDim = shapeOf(
    source,
    hf ? 'vision_model.encoder.layers.0.mlp.fc1.weight' : 'visual.transformer.resblocks.0.mlp.c_fc.weight',
  )[0] as number;
  const embedDim = hf ? (shapeOf(source, 'visual_projection.weight')[0] as number) : (shapeOf(source, 'visual.proj')[1] as number);
  const timeKey = hf ? 'vision_model.embeddings.time_embedding' : 'visual.time_embedding';
  const time = source.entries.get(timeKey);
  return validateVisionConfig({
    imageSize: grid * (patchSize as number),
    patchSize: patchSize as number,
    width: width as number,
    layers,
    heads: Math.max(1, Math.floor((width as number) / 64)),
    mlpDim,
    embedDim,
    temporal: true,
    numFrames: time ? (time.shape[0] as number) : 8,
    activation: 'quick_gelu' as Activation,
    layerNormEps: 1e-5,
    ...hints,
  });
}

/** Infers the text config from shapes; heads default to width / 64 unless `hints` say otherwise. */
export function inferTextConfig(source: WeightSource, naming: ClipNaming, hints: Partial<TextConfig> = {}): TextConfig {
  const hf = naming === 'hf';
  const [vocabSize, width] = shapeOf(source, hf ? 'text_model.embeddings.token_embedding.weight' : 'token_embedding.weight') as number[];
  const contextLength = shapeOf(source, hf ? 'text_model.embeddings.position_embedding.weight' : 'positional_embedding')[0] as number;
  const layers = countLayers(source, hf ? 'text_model.encoder.layers.' : 'transformer.resblocks.');
  const mlpDim = shapeOf(
    source,
    hf ? 'text_model.encoder.layers.0.mlp.fc1.weight' : 'transformer.resblocks.0.mlp.c_fc.weight',
  )[0] as number;
  const embedDim = hf ? (shapeOf(source, 'text_projection.weight')[0] as number) : (shapeOf(source, 'text_projection')[1] as number);
  return validateTextConfig({
    contextLength,
    vocabSize: vocabSize as number,
    width: width as number,
    layers,
    heads: Math.max(1, Math.floor((width as number) / 64)),
    mlpDim,
    embedDim,
    activation: 'quick_gelu',
    layerNormEps: 1e-5,
    ...hints,
  });
}

/** What to import and how strictly. */
export interface ImportRequest {
  readonly vision?: VisionConfig;
  readonly text?: TextConfig;
  /**
   * Keys of a tower that is not requested (e.g. text keys when loading a video tower alone) are
   * skipped instead of reported as unknown. Default false.
   */
  readonly ignoreOtherTowers?: boolean;
}

/** Converted weights by path relative to each tower's root, ready for `Scope` initial values. */
export interface ImportedWeights {
  readonly naming: ClipNaming;
  readonly vision?: Map<string, HostTensor>;
  readonly text?: Map<string, HostTensor>;
  /** Whether the checkpoint held the temporal parts (else they keep the CLIP initialisation). */
  readonly temporalLoaded: boolean;
  /** Raw `logit_scale` (before exp), when present. */
  readonly logitScaleRaw?: number;
}

/**
 * Checks every key of `source` against the requested towers and converts them. Every problem is
 * collected and thrown as ONE {@link WeightsError}: missing keys (with expected shapes), unknown keys,
 * wrong shapes and non-float dtypes, each naming the key and the expected shape. Temporal keys are the
 * only ones allowed to be missing (all together).
 */
export function importClipWeights(source: WeightSource, request: ImportRequest): ImportedWeights {
  const naming = detectClipNaming(source);
  const groups: { tower: 'vision' | 'text'; specs: WeightSpec[] }[] = [];
  if (request.vision) groups.push({ tower: 'vision', specs: visionSpecs(naming, request.vision) });
  if (request.text) groups.push({ tower: 'text', specs: textSpecs(naming, request.text) });
  const all = groups.flatMap((g) => g.specs);
  const expected = new Map<string, readonly number[]>();
  for (const s of all) s.keys.forEach((k, i) => expected.set(k, s.keyShapes[i] as readonly number[]));

  const problems: string[] = [];
  const missing: string[] = [];
  const temporalKeys = all.filter((s) => s.temporal).flatMap((s) => s.keys);
  const temporalPresent = temporalKeys.filter((k) => source.entries.has(k));
  const temporalLoaded = temporalPresent.length > 0;
  for (const [key, shape] of expected) {
    if (source.entries.has(key)) continue;
    if (!temporalLoaded && temporalKeys.includes(key)) continue; // expected-missing: CLIP has no temporal parts
    missing.push(`${key} ${formatShape(shape)}`);
  }
  if (missing.length > 0) {
    problems.push(
      `missing keys (${missing.length}, with expected shapes): ${list(missing)}${temporalLoaded && missing.length < temporalKeys.length ? ' (temporal keys must be all present or all absent)' : ''}`,
    );
  }
  const unknown: string[] = [];
  for (const [key, entry] of source.entries) {
    const want = expected.get(key);
    if (want === undefined) {
      if (isIgnorableKey(key) || key === LOGIT_SCALE_KEY) continue;
      if (request.ignoreOtherTowers && ((isVisionKey(key) && !request.vision) || (!isVisionKey(key) && !request.text))) continue;
      unknown.push(`${key} ${formatShape(entry.shape)}`);
      continue;
    }
    if (!FLOAT_DTYPES.includes(entry.dtype)) {
      problems.push(`${key} has dtype ${entry.dtype}; expected a float dtype (F32, F16 or BF16) with shape ${formatShape(want)}`);
    }
    if (entry.shape.length !== want.length || entry.shape.some((d, i) => d !== want[i])) {
      problems.push(`${key} has shape ${formatShape(entry.shape)}; expected ${formatShape(want)}`);
    }
  }
  if (unknown.length > 0) problems.push(`unknown keys (${unknown.length}): ${list(unknown)}`);
  const ls = source.entries.get(LOGIT_SCALE_KEY);
  if (ls && (!FLOAT_DTYPES.includes(ls.dtype) || ls.shape.reduce((a, b) => a * b, 1) !== 1)) {
    problems.push(
      `${LOGIT_SCALE_KEY} has dtype ${ls.dtype} and shape ${formatShape(ls.shape)}; expected a float scalar of shape [] or [1]`,
    );
  }
  if (problems.length > 0) {
    const arch = [
      request.vision ? `vision width ${request.vision.width}, ${request.vision.layers} layers, patch ${request.vision.patchSize}` : '',
      request.text ? `text width ${request.text.width}, ${request.text.layers} layers` : '',
    ]
      .filter(Boolean)
      .join('; ');
    throw new WeightsError(
      `${source.name} (${naming === 'hf' ? 'Hugging Face' : 'OpenAI'} naming) does not match the model (${arch}): ${problems.join('. ')}. Check that the checkpoint and the config describe the same architecture.`,
    );
  }

  const convert = (specs: WeightSpec[]) => {
    const out = new Map<string, HostTensor>();
    for (const s of specs) {
      if (s.temporal && !temporalLoaded) continue;
      const parts = s.keys.map((k) => {
        const t = source.read(k);
        return { shape: t.shape, data: t.data as Float32Array };
      });
      out.set(s.path, s.toOurs(parts));
    }
    return out;
  };
  const result: {
    naming: ClipNaming;
    vision?: Map<string, HostTensor>;
    text?: Map<string, HostTensor>;
    temporalLoaded: boolean;
    logitScaleRaw?: number;
  } = { naming, temporalLoaded };
  for (const g of groups) result[g.tower] = convert(g.specs);
  if (ls) result.logitScaleRaw = source.read(LOGIT_SCALE_KEY).data[0] as number;
  return result;
}

function list(items: string[]): string {
  return items.length > 12 ? `${items.slice(0, 12).join(', ')}, ... and ${items.length - 12} more` : items.join(', ');
}

/** Host weights (paths relative to a tower root) -> tensors keyed by full path under `root`. */
export function toInitialValues(root: string, weights: Map<string, HostTensor> | undefined): Map<string, tf.Tensor> {
  const out = new Map<string, tf.Tensor>();
  if (!weights) return out;
  for (const [p, t] of weights) out.set(`${root}/${p}`, tf.tensor(t.data, [...t.shape], 'float32'));
  return out;
}
