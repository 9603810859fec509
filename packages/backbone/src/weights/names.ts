/**
 * Name tables: our variable paths (relative to a tower's root) <-> checkpoint keys, for Hugging Face
 * `CLIPModel` names and OpenAI `clip/model.py` state-dict names, with the conversions of torch-layout.ts.
 *
 * Temporal parts (ours; no CLIP checkpoint has them) use clear names in the same style:
 * HF `vision_model.embeddings.time_embedding` [T, D], `vision_model.encoder.layers.N.temporal_layer_norm1.*`,
 * `...temporal_attn.{q,k,v,out}_proj.*`, `...temporal_fc.*`; OpenAI style `visual.time_embedding`,
 * `visual.transformer.resblocks.N.{temporal_ln_1, temporal_attn.in_proj_*, temporal_attn.out_proj, temporal_fc}.*`.
 */
import type { TextConfig, VisionConfig } from '../config.js';
import {
  concatRows,
  type HostTensor,
  kernelToTorchLinear,
  patchKernelToTorchConv,
  splitRows,
  torchConvToPatchKernel,
  torchLinearToKernel,
  torchMatrixToKernel,
} from './torch-layout.js';

export type ClipNaming = 'hf' | 'openai';

/** How one variable is stored in a checkpoint. */
export interface WeightSpec {
  /** Our path relative to the tower root, e.g. `blocks/3/attn/qkv/kernel`. */
  readonly path: string;
  /** Our shape. */
  readonly shape: readonly number[];
  /** Checkpoint keys holding it (3 for HF's separate q/k/v). */
  readonly keys: readonly string[];
  /** The shape of each key in the checkpoint. */
  readonly keyShapes: readonly (readonly number[])[];
  readonly temporal: boolean;
  readonly toOurs: (parts: readonly HostTensor[]) => HostTensor;
  readonly fromOurs: (value: HostTensor) => HostTensor[];
}

const id = (parts: readonly HostTensor[]) => parts[0] as HostTensor;
const one = (t: HostTensor) => [t];

function param(path: string, key: string, shape: number[], temporal = false): WeightSpec {
  return { path, shape, keys: [key], keyShapes: [shape], temporal, toOurs: id, fromOurs: one };
}
function norm(path: string, key: string, d: number, temporal = false): WeightSpec[] {
  return [param(`${path}/gamma`, `${key}.weight`, [d], temporal), param(`${path}/beta`, `${key}.bias`, [d], temporal)];
}
function linear(path: string, key: string, i: number, o: number, temporal = false): WeightSpec[] {
  return [
    {
      path: `${path}/kernel`,
      shape: [i, o],
      keys: [`${key}.weight`],
      keyShapes: [[o, i]],
      temporal,
      toOurs: (p) => torchLinearToKernel(p[0] as HostTensor),
      fromOurs: (v) => [kernelToTorchLinear(v)],
    },
    param(`${path}/bias`, `${key}.bias`, [o], temporal),
  ];
}
/** Fused qkv from HF's separate q/k/v projections (rows q | k | v, head-major). */
function qkvHf(path: string, key: string, d: number, temporal: boolean): WeightSpec[] {
  const names = ['q_proj', 'k_proj', 'v_proj'].map((n) => `${key}.${n}`);
  return [
    {
      path: `${path}/qkv/kernel`,
      shape: [d, 3 * d],
      keys: names.map((n) => `${n}.weight`),
      keyShapes: [
        [d, d],
        [d, d],
        [d, d],
      ],
      temporal,
      toOurs: (p) => torchLinearToKernel(concatRows(p)),
      fromOurs: (v) => splitRows(kernelToTorchLinear(v), 3),
    },
    {
      path: `${path}/qkv/bias`,
      shape: [3 * d],
      keys: names.map((n) => `${n}.bias`),
      keyShapes: [[d], [d], [d]],
      temporal,
      toOurs: (p) => concatRows(p),
      fromOurs: (v) => splitRows(v, 3),
    },
    ...linear(`${path}/proj`, `${key}.out_proj`, d, d, temporal),
  ];
}
/** Fused qkv from OpenAI's `nn.MultiheadAttention` (`in_proj_weight` [3D, D], rows q | k | v). */
function qkvOpenai(path: string, key: string, d: number, temporal: boolean): WeightSpec[] {
  return [
    {
      path: `${path}/qkv/kernel`,
      shape: [d, 3 * d],
      keys: [`${key}.in_proj_weight`],
      keyShapes: [[3 * d, d]],
      temporal,
      toOurs: (p) => torchLinearToKernel(p[0] as HostTensor),
      fromOurs: (v) => [kernelToTorchLinear(v)],
    },
    param(`${path}/qkv/bias`, `${key}.in_proj_bias`, [3 * d], temporal),
    ...linear(`${path}/proj`, `${key}.out_proj`, d, d, temporal),
  ];
}
function projection(path: string, key: string, naming: ClipNaming, d: number, e: number): WeightSpec {
  if (naming === 'hf') {
    return {
      path,
      shape: [d, e],
      keys: [`${key}.weight`],
      keyShapes: [[e, d]],
      temporal: false,
      toOurs: (p) => torchLinearToKernel(p[0] as HostTensor),
      fromOurs: (v) => [kernelToTorchLinear(v)],
    };
  }
  return {
    path,
    shape: [d, e],
    keys: [key],
    keyShapes: [[d, e]],
    temporal: false,
    toOurs: (p) => torchMatrixToKernel(p[0] as HostTensor),
    fromOurs: (v) => [v],
  };
}

interface BlockNames {
  readonly prefix: (i: number) => string;
  readonly norm1: string;
  readonly norm2: string;
  readonly attn: string;
  readonly fc1: string;
  readonly fc2: string;
  readonly temporalNorm: string;
  readonly temporalAttn: string;
  readonly temporalFc: string;
}
const HF_BLOCK = (tower: 'vision_model' | 'text_model'): BlockNames => ({
  prefix: (i) => `${tower}.encoder.layers.${i}.`,
  norm1: 'layer_norm1',
  norm2: 'layer_norm2',
  attn: 'self_attn',
  fc1: 'mlp.fc1',
  fc2: 'mlp.fc2',
  temporalNorm: 'temporal_layer_norm1',
  temporalAttn: 'temporal_attn',
  temporalFc: 'temporal_fc',
});
const OPENAI_BLOCK = (tower: 'visual.' | ''): BlockNames => ({
  prefix: (i) => `${tower}transformer.resblocks.${i}.`,
  norm1: 'ln_1',
  norm2: 'ln_2',
  attn: 'attn',
  fc1: 'mlp.c_fc',
  fc2: 'mlp.c_proj',
  temporalNorm: 'temporal_ln_1',
  temporalAttn: 'temporal_attn',
  temporalFc: 'temporal_fc',
});

function blockSpecs(naming: ClipNaming, n: BlockNames, i: number, d: number, mlpDim: number, temporal: boolean): WeightSpec[] {
  const p = `blocks/${i}`;
  const k = n.prefix(i);
  const qkv = naming === 'hf' ? qkvHf : qkvOpenai;
  const specs = [
    ...norm(`${p}/norm1`, k + n.norm1, d),
    ...qkv(`${p}/attn`, k + n.attn, d, false),
    ...norm(`${p}/norm2`, k + n.norm2, d),
    ...linear(`${p}/mlp/fc1`, k + n.fc1, d, mlpDim),
    ...linear(`${p}/mlp/fc2`, k + n.fc2, mlpDim, d),
  ];
  if (temporal) {
    specs.push(
      ...norm(`${p}/temporalNorm1`, k + n.temporalNorm, d, true),
      ...qkv(`${p}/temporalAttn`, k + n.temporalAttn, d, true),
      ...linear(`${p}/temporalFc`, k + n.temporalFc, d, d, true),
    );
  }
  return specs;
}

/** Every variable of a vision tower with its checkpoint keys. */
export function visionSpecs(naming: ClipNaming, c: VisionConfig): WeightSpec[] {
  const d = c.width;
  const P = c.patchSize;
  const S = (c.imageSize / P) ** 2;
  const hf = naming === 'hf';
  const e = hf ? 'vision_model.embeddings.' : 'visual.';
  const specs: WeightSpec[] = [
    {
      path: 'patchEmbed/kernel',
      shape: [P * P * 3, d],
      keys: [hf ? `${e}patch_embedding.weight` : 'visual.conv1.weight'],
      keyShapes: [[d, 3, P, P]],
      temporal: false,
      toOurs: (p) => torchConvToPatchKernel(p[0] as HostTensor),
      fromOurs: (v) => [patchKernelToTorchConv(v, P)],
    },
    param('classEmbedding', `${e}class_embedding`, [d]),
    param('positionEmbedding', hf ? `${e}position_embedding.weight` : 'visual.positional_embedding', [1 + S, d]),
  ];
  if (c.temporal) specs.push(param('timeEmbed', hf ? `${e}time_embedding` : 'visual.time_embedding', [c.numFrames, d], true));
  specs.push(...norm('lnPre', hf ? 'vision_model.pre_layrnorm' : 'visual.ln_pre', d));
  const names = hf ? HF_BLOCK('vision_model') : OPENAI_BLOCK('visual.');
  for (let i = 0; i < c.layers; i++) specs.push(...blockSpecs(naming, names, i, d, c.mlpDim, c.temporal));
  specs.push(...norm('lnPost', hf ? 'vision_model.post_layernorm' : 'visual.ln_post', d));
  specs.push(projection('proj', hf ? 'visual_projection' : 'visual.proj', naming, d, c.embedDim));
  return specs;
}

/** Every variable of a text tower with its checkpoint keys. */
export function textSpecs(naming: ClipNaming, c: TextConfig): WeightSpec[] {
  const d = c.width;
  const hf = naming === 'hf';
  const specs: WeightSpec[] = [
    param('tokenEmbedding', hf ? 'text_model.embeddings.token_embedding.weight' : 'token_embedding.weight', [c.vocabSize, d]),
    param('positionEmbedding', hf ? 'text_model.embeddings.position_embedding.weight' : 'positional_embedding', [c.contextLength, d]),
  ];
  const names = hf ? HF_BLOCK('text_model') : OPENAI_BLOCK('');
  for (let i = 0; i < c.layers; i++) specs.push(...blockSpecs(naming, names, i, d, c.mlpDim, false));
  specs.push(...norm('lnFinal', hf ? 'text_model.final_layer_norm' : 'ln_final', d));
  specs.push(projection('projection', hf ? 'text_projection' : 'text_projection', naming, d, c.embedDim));
  return specs;
}

/** The logit scale key (raw, before exp), the same in both namings. */
export const LOGIT_SCALE_KEY = 'logit_scale';

/** Keys that checkpoints may carry and that hold no parameter (buffers, JIT metadata). */
export function isIgnorableKey(key: string): boolean {
  return (
    key.endsWith('position_ids') ||
    key.endsWith('attn_mask') ||
    key === 'input_resolution' ||
    key === 'context_length' ||
    key === 'vocab_size'
  );
}

/** Whether a key belongs to the vision tower (`true`), the text tower (`false`), in either naming. */
export function isVisionKey(key: string): boolean {
  return key.startsWith('vision_model.') || key.startsWith('visual_projection') || key.startsWith('visual.');
}

/** Detects the naming from the keys; null when neither matches. */
export function detectNaming(keys: Iterable<string>): ClipNaming | null {
  let hf = 0;
  let openai = 0;
  for (const k of keys) {
    if (k.startsWith('vision_model.') || k.startsWith('text_model.') || k.startsWith('visual_projection.')) hf++;
    else if (k.startsWith('visual.') || k.startsWith('transformer.resblocks.') || k === 'token_embedding.weight') openai++;
  }
  if (hf === 0 && openai === 0) return null;
  return hf >= openai ? 'hf' : 'openai';
}
