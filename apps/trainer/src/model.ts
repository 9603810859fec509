/**
 * Builds the student and the EMA teacher (SPEC.md section 1): the video tower CLIP-initialised from a
 * Hugging Face CLIP folder through `@lss/backbone` (`loadClip` + `createStudentTeacher`), or randomly
 * initialised from a preset. Student variables live under `student/` (trainable), teacher variables
 * under `teacher/` (frozen), so EMA pairs them by relative path and gradients never reach the teacher.
 */
import {
  type ClipModel,
  type ClipPresetName,
  createStudentTeacher,
  loadClip,
  type VisionConfig,
  type VisionTower,
  visionPreset,
} from '@lss/backbone';
import type { TrainConfig } from './config/schema.js';
import type { VideoTower } from './train-step.js';

const PRESETS: Readonly<Record<TrainConfig['model']['preset'], ClipPresetName>> = {
  'vit-b32': 'ViT-B/32',
  'vit-b16': 'ViT-B/16',
  'vit-l14': 'ViT-L/14',
};

/** Adapts a `@lss/backbone` `VisionTower` to the trainer's {@link VideoTower}. */
export function towerFromVision(tower: VisionTower): VideoTower & { readonly vision: VisionTower } {
  return {
    vision: tower,
    root: tower.scope.path,
    embedDim: tower.config.embedDim,
    call: (video, options) => tower.call(video, options),
    variables: () => tower.variables(),
    dispose: () => tower.dispose(),
  };
}

export interface Towers {
  readonly student: VideoTower & { readonly vision: VisionTower };
  readonly teacher: VideoTower & { readonly vision: VisionTower };
  /** The loaded CLIP (text tower for the concept spaces), when `model.clip` is set. The caller disposes it. */
  readonly clip: ClipModel | null;
  readonly visionConfig: VisionConfig;
}

/**
 * Creates student and teacher with identical weights. With `model.clip`, the CLIP folder is loaded
 * once and kept (its text tower builds the concept spaces); dispose `clip` when done with it.
 */
export async function buildTowers(config: TrainConfig): Promise<Towers> {
  const { model } = config;
  if (model.clip) {
    const clip = await loadClip(model.clip, { video: true, numFrames: model.numFrames, root: 'clip' });
    const pair = createStudentTeacher(clip.vision, { seed: config.seed });
    return { student: towerFromVision(pair.student), teacher: towerFromVision(pair.teacher), clip, visionConfig: pair.student.config };
  }
  const vision = visionPreset(PRESETS[model.preset], { numFrames: model.numFrames, temporal: true });
  const pair = createStudentTeacher(vision, { seed: config.seed });
  return { student: towerFromVision(pair.student), teacher: towerFromVision(pair.teacher), clip: null, visionConfig: vision };
}
