import { CLIP_TINY_DIR, expectNoLeaks, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClipModel, createStudentTeacher, createVideoVit, emaUpdate, loadClip, Scope } from './index.js';
import { tinyVideoVit } from './testing/index.js';

describe('video tower from CLIP (fixtures/clip-tiny)', () => {
  let clip: ClipModel;
  beforeAll(async () => {
    clip = await loadClip(CLIP_TINY_DIR, { root: 'vt' });
  });
  afterAll(() => clip.dispose());

  for (const T of [1, 2, 8]) {
    it(`a video of ${T} identical frames gives the CLIP image embedding of that frame`, () => {
      const frame = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 11);
      const video = tf.tidy(() => tf.tile(tf.expandDims(frame, 1), [1, T, 1, 1, 1])); // [2, T, 32, 32, 3]
      const image = clip.encodeImages(frame);
      const v = expectNoLeaks(() => clip.encodeVideos(video), 1);
      expect(v.shape).toEqual([2, 32]);
      expect(maxAbsDiff(v.dataSync(), image.dataSync())).toBeLessThan(1e-4);
      tf.dispose([frame, video, image, v]);
    });
  }

  it('with non-zero temporal weights (temporalFc, timeEmbed) it does not', () => {
    const frame = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 12);
    const video = tf.tidy(() => tf.tile(tf.expandDims(frame, 1), [1, 4, 1, 1, 1]));
    const image = clip.encodeImages(frame);
    const vars = clip.vision.variables();
    const fc = vars.get('vt/vision/blocks/0/temporalFc/kernel') as tf.Variable;
    const time = vars.get('vt/vision/timeEmbed') as tf.Variable;
    fc.assign(tf.randomNormal(fc.shape, 0, 0.2, 'float32', 1));
    const a = clip.encodeVideos(video);
    expect(maxAbsDiff(a.dataSync(), image.dataSync())).toBeGreaterThan(1e-3);
    clip.vision.resetTemporal();
    time.assign(tf.randomNormal(time.shape, 0, 0.5, 'float32', 2));
    const b = clip.encodeVideos(video);
    expect(maxAbsDiff(b.dataSync(), image.dataSync())).toBeGreaterThan(1e-3);
    clip.vision.resetTemporal();
    const c = clip.encodeVideos(video);
    expect(maxAbsDiff(c.dataSync(), image.dataSync())).toBeLessThan(1e-4);
    tf.dispose([frame, video, image, a, b, c]);
  });

  it('different frames do mix through time (temporal attention is live)', () => {
    const video = tf.randomNormal([1, 3, 32, 32, 3], 0, 1, 'float32', 5);
    const fc = clip.vision.variables().get('vt/vision/blocks/1/temporalFc/kernel') as tf.Variable;
    const before = clip.encodeVideos(video);
    fc.assign(tf.randomNormal(fc.shape, 0, 0.2, 'float32', 9));
    const after = clip.encodeVideos(video);
    expect(maxAbsDiff(before.dataSync(), after.dataSync())).toBeGreaterThan(1e-4);
    clip.vision.resetTemporal();
    tf.dispose([video, before, after]);
  });

  it('other input sizes resample the position embeddings (96 px local views) and time embeddings', () => {
    const video = tf.randomNormal([1, 3, 16, 24, 3], 0, 1, 'float32', 6);
    const v = expectNoLeaks(() => clip.encodeVideos(video), 1);
    expect(v.shape).toEqual([1, 32]);
    expect(Array.from(v.dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([video, v]);
  });
});

describe('student / teacher', () => {
  const config = tinyVideoVit();

  it('separate roots, trainable student, frozen teacher, stable variable order', () => {
    const pair = createStudentTeacher(config, { seed: 1 });
    const { student, teacher } = pair;
    const sPaths = [...student.variables().keys()];
    expect(sPaths).toContain('student/blocks/1/temporalAttn/qkv/kernel');
    expect([...teacher.variables().keys()]).toContain('teacher/blocks/1/temporalAttn/qkv/kernel');
    expect(teacher.trainableVariables()).toHaveLength(0);
    expect(student.trainableVariables()).toHaveLength(sPaths.length);
    const again = createStudentTeacher(config, { seed: 1, studentRoot: 's2', teacherRoot: 't2' });
    expect([...again.student.variables().keys()].map((p) => p.slice(3))).toEqual(sPaths.map((p) => p.slice(8)));
    expect(student.variables().get('student/blocks/0/temporalFc/kernel')?.shape).toEqual([32, 32]);
    again.dispose();
    pair.dispose();
  });

  for (const recompute of [false, true, 'block', 'branches', 'nested'] as const) {
    it(`every trainable variable gets a finite gradient, the teacher none, no leaks (recompute ${recompute})`, () => {
      const { student, teacher, dispose } = createStudentTeacher(config, { seed: 2 });
      // make the temporal parts non-trivial so that every path carries gradient
      tf.tidy(() => {
        for (const [p, v] of student.variables())
          if (/temporalFc\/kernel|timeEmbed/.test(p)) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 3));
      });
      const video = tf.randomNormal([2, 4, 16, 16, 3], 0, 1, 'float32', 4);
      const { value, grads } = expectNoLeaks(
        () =>
          tf.variableGrads(() => {
            const s = student.call(video, { training: true, recompute });
            const t = teacher.call(video);
            return tf.sum(tf.mul(s, t));
          }),
        1 + student.trainableVariables().length,
      );
      const names = Object.keys(grads);
      expect(names.sort()).toEqual(
        student
          .trainableVariables()
          .map((v) => v.name)
          .sort(),
      );
      for (const v of student.trainableVariables()) {
        const g = grads[v.name] as tf.Tensor;
        expect(g.shape).toEqual(v.shape);
        const data = g.dataSync();
        expect(data.every(Number.isFinite), v.name).toBe(true);
        expect(
          data.some((d) => d !== 0),
          `${v.name} has an all-zero gradient`,
        ).toBe(true);
      }
      expect(names.some((n) => n.startsWith('teacher'))).toBe(false);
      tf.dispose([value, video, ...Object.values(grads)]);
      dispose();
    });
  }

  it('recompute gives the same gradients as the plain backward', () => {
    const tower = createVideoVit(config, new Scope('rc', { seed: 5 }));
    tf.tidy(() => {
      for (const [p, v] of tower.variables())
        if (/temporalFc\/kernel|timeEmbed/.test(p)) v.assign(tf.randomNormal(v.shape, 0, 0.1, 'float32', 7));
    });
    const video = tf.randomNormal([1, 4, 16, 16, 3], 0, 1, 'float32', 8);
    const run = (recompute: boolean | 'block' | 'branches' | 'nested') =>
      tf.variableGrads(() => tf.sum(tf.square(tower.call(video, { recompute }))));
    const a = run(false);
    for (const mode of [true, 'block', 'branches', 'nested'] as const) {
      const b = run(mode);
      expect(Math.abs((b.value.dataSync()[0] as number) - (a.value.dataSync()[0] as number))).toBeLessThan(1e-3);
      for (const k of Object.keys(a.grads)) {
        const ga = (a.grads[k] as tf.Tensor).dataSync();
        expect(
          maxAbsDiff(ga, (b.grads[k] as tf.Tensor).dataSync()) / (Math.max(...Array.from(ga, Math.abs)) || 1),
          `${k} (${mode})`,
        ).toBeLessThan(1e-4);
      }
      tf.dispose([b.value, ...Object.values(b.grads)]);
    }
    tf.dispose([video, a.value, ...Object.values(a.grads)]);
    tower.dispose();
  });

  it('EMA update moves the teacher towards the student', () => {
    const { student, teacher, dispose } = createStudentTeacher(config, { seed: 3 });
    const s = student.variables().get('student/proj') as tf.Variable;
    const t = teacher.variables().get('teacher/proj') as tf.Variable;
    const original = t.dataSync().slice();
    s.assign(tf.add(s, 1));
    expectNoLeaks(() => emaUpdate(teacher, student, 0.9));
    const moved = t.dataSync();
    expect(
      maxAbsDiff(
        moved,
        original.map((x) => x + 0.1),
      ),
    ).toBeLessThan(1e-5);
    dispose();
  });
});
