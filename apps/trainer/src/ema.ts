/**
 * EMA teacher update (DINO `momentum_teacher`): `teacher ← m · teacher + (1 − m) · student`, no
 * gradient involved. Variables are paired by their path *relative to the role root* (`student/x` ↔
 * `teacher/x`), and the key sets and shapes must match exactly: safer than DINO's positional `zip`.
 */

import { ShapeError, WeightsError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';

/**
 * Pairs two role-rooted variable maps by relative path, or throws naming the keys that differ.
 * The maps are keyed by path relative to the role root (`blocks/0/attn/qkv/kernel`).
 */
export function pairByPath(
  student: ReadonlyMap<string, tf.Variable>,
  teacher: ReadonlyMap<string, tf.Variable>,
): Array<[tf.Variable, tf.Variable, string]> {
  const onlyStudent = [...student.keys()].filter((k) => !teacher.has(k));
  const onlyTeacher = [...teacher.keys()].filter((k) => !student.has(k));
  if (onlyStudent.length > 0 || onlyTeacher.length > 0) {
    throw new WeightsError(
      `Student and teacher variables do not pair up: only in the student: [${onlyStudent.slice(0, 8).join(', ')}${onlyStudent.length > 8 ? ', ...' : ''}]; ` +
        `only in the teacher: [${onlyTeacher.slice(0, 8).join(', ')}${onlyTeacher.length > 8 ? ', ...' : ''}]. Build both from the same config.`,
    );
  }
  const pairs: Array<[tf.Variable, tf.Variable, string]> = [];
  for (const [path, s] of student) {
    const t = teacher.get(path) as tf.Variable;
    if (s.shape.length !== t.shape.length || s.shape.some((d, i) => d !== t.shape[i])) {
      throw new ShapeError(`EMA pair ${path}: student shape [${s.shape.join(', ')}] differs from teacher shape [${t.shape.join(', ')}].`);
    }
    pairs.push([s, t, path]);
  }
  return pairs;
}

/** `teacher ← momentum · teacher + (1 − momentum) · student`, one variable at a time. */
export function updateTeacher(
  student: ReadonlyMap<string, tf.Variable>,
  teacher: ReadonlyMap<string, tf.Variable>,
  momentum: number,
): void {
  if (!(momentum >= 0 && momentum <= 1)) throw new RangeError(`EMA momentum must be in [0, 1]; received ${momentum}.`);
  for (const [s, t] of pairByPath(student, teacher)) {
    tf.tidy(() => t.assign(tf.add(tf.mul(t, momentum), tf.mul(s, 1 - momentum))));
  }
}

/** Copies the student into the teacher (the start of training: teacher = student). */
export function copyStudentToTeacher(student: ReadonlyMap<string, tf.Variable>, teacher: ReadonlyMap<string, tf.Variable>): void {
  for (const [s, t] of pairByPath(student, teacher)) t.assign(s);
}
