import { ConfigError, ShapeError } from '@lss/core';
import { expectNoLeaks } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CLIP_PRESETS, Scope, VisionTower, validateVisionConfig, visionPreset } from './index.js';
import { TINY_VIDEO_VIT } from './testing/index.js';

describe('Scope', () => {
  it('names variables by role-rooted paths, keeps creation order, separates roots', () => {
    const a = new Scope('student');
    const b = new Scope('teacher', { trainable: false });
    const k = a
      .child('blocks')
      .child(3)
      .child('temporalAttn')
      .child('qkv')
      .variable('kernel', [2, 6], () => tf.zeros([2, 6]));
    a.variable('proj', [2, 2], tf.ones([2, 2]));
    b.child('blocks')
      .child(3)
      .variable('x', [1], () => tf.zeros([1]));
    expect([...a.variables().keys()]).toEqual(['student/blocks/3/temporalAttn/qkv/kernel', 'student/proj']);
    expect(k.name).toBe('student/blocks/3/temporalAttn/qkv/kernel');
    expect(a.trainableVariables()).toHaveLength(2);
    expect(b.trainableVariables()).toHaveLength(0);
    expect(a.child('blocks').variables().size).toBe(1);
    a.dispose();
    b.dispose();
  });

  it('rejects duplicate paths and bad segments; a second root of the same name still works', () => {
    const a = new Scope('dup');
    a.variable('w', [1], () => tf.zeros([1]));
    expect(() => a.variable('w', [1], () => tf.zeros([1]))).toThrow(ConfigError);
    expect(() => a.child('bad name')).toThrow(ConfigError);
    const again = new Scope('dup');
    const v = again.variable('w', [1], () => tf.zeros([1]));
    expect(v.name).toBe('dup/w#1');
    expect([...again.variables().keys()]).toEqual(['dup/w']);
    a.dispose();
    again.dispose();
  });

  it('uses initial values (shape-checked) and disposes everything', () => {
    const before = tf.memory().numTensors;
    const s = new Scope('init', { initialValues: new Map([['init/w', tf.fill([2], 7)]]) });
    const w = expectNoLeaks(() => s.variable('w', [2], () => tf.zeros([2])), 0);
    expect(Array.from(w.dataSync())).toEqual([7, 7]);
    expect(s.wasProvided('init/w')).toBe(true);
    const wrong = tf.zeros([3]);
    const bad = new Scope('bad', { initialValues: new Map([['bad/w', wrong]]) });
    expect(() => bad.variable('w', [2], () => tf.zeros([2]))).toThrow(/Weights for bad\/w has shape \[3\]; expected \[2\]/);
    wrong.dispose(); // a rejected initial value stays the caller's
    bad.dispose();
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('seeds by path: the same path and seed give the same initial values', () => {
    const make = (root: string) => new Scope(root, { seed: 9 }).child('x');
    const a = make('r1');
    const b = make('r1');
    expect(a.seedFor('k')).toBe(b.seedFor('k'));
    expect(a.seedFor('k')).not.toBe(new Scope('r2', { seed: 9 }).child('x').seedFor('k'));
  });
});

describe('configs and presets', () => {
  it('presets have OpenAI CLIP shapes', () => {
    expect(CLIP_PRESETS['ViT-B/16'].vision).toMatchObject({
      patchSize: 16,
      width: 768,
      layers: 12,
      heads: 12,
      embedDim: 512,
      numFrames: 8,
    });
    expect(CLIP_PRESETS['ViT-B/32'].vision.patchSize).toBe(32);
    expect(CLIP_PRESETS['ViT-L/14'].vision).toMatchObject({ patchSize: 14, width: 1024, layers: 24, heads: 16, embedDim: 768 });
    expect(CLIP_PRESETS['ViT-L/14'].text).toMatchObject({ width: 768, heads: 12, layers: 12 });
    expect(visionPreset('ViT-B/16', { temporal: false }).temporal).toBe(false);
  });
  it('wrong input shapes throw ShapeError saying what is expected', () => {
    const s = new Scope('shapes');
    const tower = new VisionTower(TINY_VIDEO_VIT, s);
    const img = tf.zeros([1, 16, 16, 3]);
    const odd = tf.zeros([1, 2, 12, 16, 3]);
    expect(() => tower.call(img)).toThrow(ShapeError);
    expect(() => tower.call(odd)).toThrow(/multiples of the patch size 8/);
    expect(() => tower.callImages(odd)).toThrow(/expected \[N, H, W, 3\]/);
    tf.dispose([img, odd]);
    tower.dispose();
  });

  it('invalid configs name the field', () => {
    expect(() => validateVisionConfig({ ...TINY_VIDEO_VIT, heads: 5 })).toThrow(/heads 5/);
    expect(() => validateVisionConfig({ ...TINY_VIDEO_VIT, imageSize: 20 })).toThrow(/imageSize 20/);
    expect(() => validateVisionConfig({ ...TINY_VIDEO_VIT, activation: 'relu' as never })).toThrow(/activation/);
    expect(() => validateVisionConfig({ ...TINY_VIDEO_VIT, layerNormEps: 0 })).toThrow(/layerNormEps/);
  });
});
