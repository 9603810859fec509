/**
 * Student / teacher pairs of the video tower: separate variable roots (`student/...` trainable,
 * `teacher/...` frozen), weight copies and the EMA update.
 */
import { ConfigError, formatShape, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import type { ClipPresetName, VisionConfig } from './config.js';
import { Scope } from './scope.js';
import { createVideoVit, type VisionTower } from './vision.js';

/** Copies every variable of `from` into the variable at the same relative path of `to`. */
export function copyWeights(from: VisionTower, to: VisionTower): void {
  const src = relative(from);
  const dst = relative(to);
  const missing = [...dst.keys()].filter((k) => !src.has(k));
  if (missing.length > 0) {
    throw new ConfigError(
      `copyWeights: ${from.scope.path} has no variables ${missing.slice(0, 8).join(', ')}; the towers differ in architecture.`,
    );
  }
  for (const [k, v] of dst) {
    const s = src.get(k) as tf.Variable;
    if (s.shape.join() !== v.shape.join()) {
      throw new ShapeError(`copyWeights: ${from.scope.path}/${k} has shape ${formatShape(s.shape)}; expected ${formatShape(v.shape)}.`);
    }
    v.assign(s);
  }
}

/** `teacher = m * teacher + (1 - m) * student` for every variable (DINO's EMA), no gradient. */
export function emaUpdate(teacher: VisionTower, student: VisionTower, momentum: number): void {
  if (!(momentum >= 0 && momentum <= 1)) throw new ConfigError(`EMA momentum is ${momentum}; expected a number in [0, 1].`);
  const src = relative(student);
  for (const [k, v] of relative(teacher)) {
    const s = src.get(k);
    if (!s) throw new ConfigError(`emaUpdate: the student has no variable ${k}.`);
    tf.tidy(() => v.assign(tf.add(tf.mul(v, momentum), tf.mul(s, 1 - momentum))));
  }
}

function relative(tower: VisionTower): Map<string, tf.Variable> {
  const prefix = `${tower.scope.path}/`;
  return new Map([...tower.variables()].map(([p, v]) => [p.slice(prefix.length), v]));
}

export interface StudentTeacher {
  /** Trainable, variables under `student/` (or `studentRoot`). */
  readonly student: VisionTower;
  /** Frozen copy (no trainable variables), under `teacher/` (or `teacherRoot`). */
  readonly teacher: VisionTower;
  dispose(): void;
}

/**
 * Builds a trainable student and a frozen teacher with identical weights. `source` is a tower to copy
 * (e.g. `(await loadClip(dir)).vision`, CLIP-initialised), a config or a preset name (random init).
 *
 * @example
 * const clip = await loadClip(dir);
 * const { student, teacher } = createStudentTeacher(clip.vision);
 * clip.dispose();
 */
export function createStudentTeacher(
  source: VisionTower | VisionConfig | ClipPresetName,
  options: { studentRoot?: string; teacherRoot?: string; seed?: number } = {},
): StudentTeacher {
  const tower = typeof source === 'object' && 'scope' in source ? source : undefined;
  const config = tower ? tower.config : (source as VisionConfig | ClipPresetName);
  const student = createVideoVit(config, new Scope(options.studentRoot ?? 'student', { trainable: true, seed: options.seed ?? 0 }));
  const teacher = createVideoVit(student.config, new Scope(options.teacherRoot ?? 'teacher', { trainable: false }));
  if (tower) copyWeights(tower, student);
  copyWeights(student, teacher);
  return {
    student,
    teacher,
    dispose() {
      student.dispose();
      teacher.dispose();
    },
  };
}
