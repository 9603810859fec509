import { expectNoLeaks, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { copyStudentToTeacher, updateTeacher } from './ema.js';

afterEach(() => tf.disposeVariables());

describe('updateTeacher', () => {
  it('computes m * teacher + (1 - m) * student, pairing by relative path regardless of order', () => {
    const s1 = tf.variable(tf.tensor1d([1, 2]), true, 'student/a');
    const s2 = tf.variable(tf.tensor1d([10]), true, 'student/b');
    const t1 = tf.variable(tf.tensor1d([0, 0]), false, 'teacher/a');
    const t2 = tf.variable(tf.tensor1d([20]), false, 'teacher/b');
    const student = new Map([
      ['a', s1],
      ['b', s2],
    ]);
    const teacher = new Map([
      ['b', t2],
      ['a', t1],
    ]);
    expectNoLeaks(() => updateTeacher(student, teacher, 0.9));
    expect(maxAbsDiff(t1.dataSync(), [0.1, 0.2])).toBeLessThan(1e-6);
    expect(maxAbsDiff(t2.dataSync(), [19])).toBeLessThan(1e-5);
    updateTeacher(student, teacher, 1);
    expect(maxAbsDiff(t2.dataSync(), [19])).toBeLessThan(1e-5);
    updateTeacher(student, teacher, 0);
    expect(maxAbsDiff(t2.dataSync(), [10])).toBe(0);
    expect(maxAbsDiff(s1.dataSync(), [1, 2])).toBe(0); // the student is never touched
  });

  it('names the keys that do not pair, and rejects shape mismatches', () => {
    const student = new Map([['a', tf.variable(tf.zeros([2]), true, 'student/a')]]);
    const teacher = new Map([['c', tf.variable(tf.zeros([2]), false, 'teacher/c')]]);
    expect(() => updateTeacher(student, teacher, 0.5)).toThrow(/only in the student: \[a\].*only in the teacher: \[c\]/);
    const t2 = new Map([['a', tf.variable(tf.zeros([3]), false, 'teacher/a')]]);
    expect(() => updateTeacher(student, t2, 0.5)).toThrow(/\[2\].*\[3\]/);
    expect(() => updateTeacher(student, student, 1.5)).toThrow(/momentum/);
  });

  it('copyStudentToTeacher makes the teacher equal to the student', () => {
    const student = new Map([['a', tf.variable(tf.tensor1d([1, 2]), true, 'student/a')]]);
    const teacher = new Map([['a', tf.variable(tf.zeros([2]), false, 'teacher/a')]]);
    copyStudentToTeacher(student, teacher);
    expect([...(teacher.get('a')?.dataSync() ?? [])]).toEqual([1, 2]);
  });
});
