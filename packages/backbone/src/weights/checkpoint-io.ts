/**
 * Saving and reloading a (trained) video tower as safetensors: Hugging Face `CLIPVisionModel` names
 * for the shared parts (`vision_model.*`, `visual_projection.weight`, PyTorch layouts), clear names for
 * the temporal parts (names.ts), the config as JSON in `__metadata__.config`.
 */
import { type SafetensorsInput, WeightsError, writeSafetensors } from '@lss/core';
import { type VisionConfig, validateVisionConfig } from '../config.js';
import { Scope, type ScopeOptions } from '../scope.js';
import { VisionTower } from '../vision.js';
import { type ArchitectureHints, detectClipNaming, importClipWeights, inferVisionConfig, toInitialValues } from './clip-import.js';
import { visionSpecs } from './names.js';
import { type WeightSource, weightSourceFromBytes } from './source.js';

/** `__metadata__.format` of our video-tower files. */
export const VIDEO_VIT_FORMAT = 'lss-video-vit/1';

export interface ExportOptions {
  /** dtype on disk (default F32). */
  readonly dtype?: 'F32' | 'F16' | 'BF16';
  /** Extra string metadata (step, git SHA, ...). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The tower's tensors under checkpoint names (host copies) and the metadata. */
export function exportVideoVitWeights(
  tower: VisionTower,
  options: ExportOptions = {},
): { tensors: Map<string, SafetensorsInput>; metadata: Record<string, string> } {
  const vars = tower.variables();
  const tensors = new Map<string, SafetensorsInput>();
  for (const spec of visionSpecs('hf', tower.config)) {
    const v = vars.get(`${tower.scope.path}/${spec.path}`);
    if (!v) throw new WeightsError(`Variable ${tower.scope.path}/${spec.path} is missing from the tower; it cannot be saved.`);
    const parts = spec.fromOurs({ shape: v.shape, data: v.dataSync() as Float32Array });
    spec.keys.forEach((key, i) => {
      const p = parts[i];
      if (!p) throw new WeightsError(`Conversion of ${spec.path} produced no tensor for ${key}.`);
      tensors.set(key, { shape: p.shape, data: p.data, dtype: options.dtype ?? 'F32' });
    });
  }
  const metadata: Record<string, string> = {
    ...(options.metadata ?? {}),
    format: VIDEO_VIT_FORMAT,
    config: JSON.stringify(tower.config),
  };
  return { tensors, metadata };
}

/** The tower as safetensors bytes (browser-safe). */
export function videoVitToBytes(tower: VisionTower, options: ExportOptions = {}): Uint8Array {
  const { tensors, metadata } = exportVideoVitWeights(tower, options);
  return writeSafetensors(tensors, metadata);
}

/** Writes the tower to a safetensors file atomically, creating its folder when missing (Node only). */
export async function saveVideoVit(tower: VisionTower, file: string, options: ExportOptions = {}): Promise<void> {
  const { tensors, metadata } = exportVideoVitWeights(tower, options);
  const { writeSafetensorsFile } = await import('@lss/core/node');
  const { mkdirSync } = await import('node:fs');
  const { dirname } = await import('node:path');
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch {
    // not creatable (read-only, a file in the way): the write below reports the path and the real cause
  }
  writeSafetensorsFile(file, tensors, metadata);
}

export interface LoadVideoVitOptions {
  /**
   * Architecture when the file has no `__metadata__.config` (a CLIP checkpoint): shapes give the rest,
   * these give heads/activation/eps/frames. Also overrides nothing when the metadata exists.
   */
  readonly config?: ArchitectureHints['vision'];
  /** Build without temporal parts (the image tower). Default: from the metadata, else true. */
  readonly temporal?: boolean;
}

/**
 * Builds a vision tower from a checkpoint: one of ours (config from metadata, temporal parts loaded),
 * or a CLIP checkpoint in either naming (text keys skipped; temporal parts CLIP-initialised).
 * Every key is checked; problems throw one {@link WeightsError} naming keys and expected shapes.
 */
export function videoVitFromSource(source: WeightSource, scope: Scope | string, options: LoadVideoVitOptions = {}): VisionTower {
  const naming = detectClipNaming(source);
  let config: VisionConfig;
  const stored = source.metadata.config;
  if (stored !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(stored);
    } catch (cause) {
      throw new WeightsError(`${source.name}: __metadata__.config is not valid JSON; expected the VisionConfig the file was saved with.`, {
        cause,
      });
    }
    config = validateVisionConfig({
      ...(parsed as VisionConfig),
      ...(options.temporal !== undefined ? { temporal: options.temporal } : {}),
    });
  } else {
    config = inferVisionConfig(source, naming, {
      ...(options.config ?? {}),
      ...(options.temporal !== undefined ? { temporal: options.temporal } : {}),
    });
  }
  const imported = importClipWeights(source, { vision: config, ignoreOtherTowers: true });
  const root = typeof scope === 'string' ? scope : scope.path;
  if (typeof scope !== 'string' && scope.path.includes('/')) {
    throw new WeightsError(`videoVitFromSource needs a root scope or a root name; got the child scope ${scope.path}.`);
  }
  const initialValues = toInitialValues(root, imported.vision);
  const scopeOptions: ScopeOptions = {
    initialValues,
    ...(typeof scope === 'string' ? {} : { trainable: scope.trainable }),
  };
  try {
    return new VisionTower(config, new Scope(root, scopeOptions));
  } catch (error) {
    for (const t of initialValues.values()) if (!t.isDisposed) t.dispose();
    throw error;
  }
}

/** {@link videoVitFromSource} over bytes. */
export function videoVitFromBytes(bytes: Uint8Array, scope: Scope | string, options: LoadVideoVitOptions = {}): VisionTower {
  return videoVitFromSource(weightSourceFromBytes(bytes, 'video tower safetensors'), scope, options);
}

/** {@link videoVitFromSource} over a file (Node only). */
export async function loadVideoVit(file: string, scope: Scope | string, options: LoadVideoVitOptions = {}): Promise<VisionTower> {
  const { weightSourceFromFile } = await import('../clip.js');
  return videoVitFromSource(await weightSourceFromFile(file), scope, options);
}
