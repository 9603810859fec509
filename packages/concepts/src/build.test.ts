import { ConfigError, l2NormalizeRows, readSafetensors, writeSafetensors } from '@lss/core';
import { expectNoLeaks, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createFakeEncoder, fakeVector } from './__fixtures__/fake-encoder.js';
import { buildCategorySpace, buildDescriptionSpace, buildZeroShotClassifier, DEFAULT_CATEGORY_TEMPLATES, fillTemplate } from './build.js';
import { ConceptSpace, conceptSpaceFromSafetensors, conceptSpaceToSafetensors, projectOntoConcepts } from './space.js';

function unit(v: Float32Array): Float32Array {
  return l2NormalizeRows(v, v.length, { zeroRows: 'error' });
}

describe('buildCategorySpace (prompt ensembling, SPEC.md section 2)', () => {
  it('embeds each label with every template, normalises, averages, normalises again', async () => {
    const enc = createFakeEncoder(8);
    const templates = ['{}', 'a video of a person {}.', 'a photo of {}.'];
    const space = await buildCategorySpace(enc, ['archery', 'yo-yo'], { templates, source: 'test' });
    expect(space.shape).toEqual([2, 8]);
    expect(enc.texts).toEqual([
      'archery',
      'a video of a person archery.',
      'a photo of archery.',
      'yo-yo',
      'a video of a person yo-yo.',
      'a photo of yo-yo.',
    ]);
    for (const [i, label] of ['archery', 'yo-yo'].entries()) {
      const mean = new Float32Array(8);
      for (const t of templates) {
        const u = unit(fakeVector(fillTemplate(t, label), 8));
        for (let j = 0; j < 8; j++) mean[j] = (mean[j] as number) + (u[j] as number) / templates.length;
      }
      expect(maxAbsDiff(space.row(i), unit(mean))).toBeLessThan(1e-6);
    }
    expect(space.provenance).toEqual({ modelId: 'fake', modelHash: 'fake-hash', templates, source: 'test' });
    expect(space.ids).toEqual(['archery', 'yo-yo']);
  });

  it('default templates are the plain label and "a video of a person {}."', async () => {
    expect(DEFAULT_CATEGORY_TEMPLATES).toEqual(['{}', 'a video of a person {}.']);
    const enc = createFakeEncoder(4);
    await buildCategorySpace(enc, [{ id: 'k400:0', name: 'abseiling' }]);
    expect(enc.texts).toEqual(['abseiling', 'a video of a person abseiling.']);
  });

  it('rejects empty labels, empty lists and templates without {}', async () => {
    const enc = createFakeEncoder(4);
    await expect(buildCategorySpace(enc, ['a', ''])).rejects.toThrow(/labels\[1\].*empty label/);
    await expect(buildCategorySpace(enc, [])).rejects.toThrow(ConfigError);
    await expect(buildCategorySpace(enc, ['a'], { templates: ['a video'] })).rejects.toThrow(/containing "\{\}"/);
  });
});

describe('ConceptSpace', () => {
  it('projects normalize(f) . C^T as cosine scores without leaks', async () => {
    const space = await buildCategorySpace(createFakeEncoder(8), ['a', 'b', 'c']);
    const f = tf.tensor2d(
      Float32Array.from({ length: 16 }, (_, i) => Math.sin(i) * 3),
      [2, 8],
    );
    const s = expectNoLeaks(() => space.project(f), 1);
    expect(s.shape).toEqual([2, 3]);
    const got = await s.data();
    const fd = await f.data();
    for (let b = 0; b < 2; b++) {
      const fu = unit(Float32Array.from(fd.subarray(b * 8, b * 8 + 8)));
      for (let k = 0; k < 3; k++) {
        const c = space.row(k);
        const dot = fu.reduce((acc, v, j) => acc + v * (c[j] as number), 0);
        expect(Math.abs((got[b * 3 + k] as number) - dot)).toBeLessThan(1e-5);
        expect(Math.abs(got[b * 3 + k] as number)).toBeLessThanOrEqual(1 + 1e-6);
      }
    }
    const c = space.toTensor();
    const s2 = projectOntoConcepts(f, c);
    expect(maxAbsDiff(await s2.data(), got)).toBe(0);
    expect(() => projectOntoConcepts(tf.zeros([2, 5]) as tf.Tensor2D, c)).toThrow(/same D/);
    tf.dispose([f, s, c, s2]);
  });

  it('validates shapes, unit norm and unique ids', () => {
    const prov = { modelId: 'm', modelHash: 'h', templates: [], source: 's' };
    expect(
      () =>
        new ConceptSpace({
          kind: 'category',
          matrix: new Float32Array([1, 0, 0, 2]),
          shape: [2, 2],
          ids: ['a', 'b'],
          texts: ['a', 'b'],
          provenance: prov,
        }),
    ).toThrow(/norm 2/);
    expect(
      () =>
        new ConceptSpace({
          kind: 'category',
          matrix: new Float32Array([1, 0, 0, 1]),
          shape: [2, 2],
          ids: ['a', 'a'],
          texts: ['a', 'b'],
          provenance: prov,
        }),
    ).toThrow(/unique/);
    expect(
      () =>
        new ConceptSpace({
          kind: 'category',
          matrix: new Float32Array([1, 0]),
          shape: [2, 2],
          ids: ['a', 'b'],
          texts: ['a', 'b'],
          provenance: prov,
        }),
    ).toThrow(/K \* D = 4/);
  });

  it('round-trips through safetensors + sidecar, relation included', async () => {
    const space = await buildDescriptionSpace(createFakeEncoder(6), [
      { id: 'a', descriptions: ['one', 'two'] },
      { id: 'b', descriptions: ['three'] },
    ]);
    const { tensors, metadata, sidecar } = conceptSpaceToSafetensors(space, 'key');
    const bytes = writeSafetensors(tensors, metadata);
    const back = conceptSpaceFromSafetensors(readSafetensors(bytes), JSON.parse(JSON.stringify(sidecar)));
    expect(back.matrix).toEqual(space.matrix);
    expect(back.relation).toEqual(space.relation);
    expect(back.texts).toEqual(space.texts);
    expect(back.provenance).toEqual(space.provenance);
    expect(() => conceptSpaceFromSafetensors(readSafetensors(bytes), { ...sidecar, format: 'x' } as never)).toThrow(/lss-concept-space/);
  });
});

describe('buildDescriptionSpace', () => {
  it('one row per distinct description, relation M [K_cat, K_desc] in category order', async () => {
    const enc = createFakeEncoder(8);
    const space = await buildDescriptionSpace(
      enc,
      [
        { id: 'b', descriptions: ['a hand holds a bow', 'an arrow flies'] },
        { id: 'a', descriptions: ['a rope hangs  from a cliff', 'an arrow flies'] },
      ],
      { categoryIds: ['a', 'b', 'c'], source: 'test' },
    );
    expect(space.kind).toBe('description');
    expect(space.texts).toEqual(['a hand holds a bow', 'an arrow flies', 'a rope hangs from a cliff']);
    expect(enc.texts).toEqual(space.texts);
    expect(space.relation?.shape).toEqual([3, 3]);
    expect(Array.from(space.relation?.data ?? [])).toEqual([0, 1, 1, 1, 1, 0, 0, 0, 0]);
    expect(maxAbsDiff(space.row(0), unit(fakeVector('a hand holds a bow', 8)))).toBeLessThan(1e-6);
    const m = space.relationTensor();
    expect(m.shape).toEqual([3, 3]);
    m.dispose();
  });

  it('rejects empty descriptions and categories outside categoryIds', async () => {
    const enc = createFakeEncoder(4);
    await expect(buildDescriptionSpace(enc, [{ id: 'a', descriptions: ['x', ' '] }])).rejects.toThrow(/description 1 is empty/);
    await expect(buildDescriptionSpace(enc, [{ id: 'z', descriptions: ['x'] }], { categoryIds: ['a'] })).rejects.toThrow(
      /not in categoryIds/,
    );
  });
});

describe('buildZeroShotClassifier', () => {
  it('scores features against class prompts and predicts the closest class', async () => {
    const enc = createFakeEncoder(8);
    const clf = await buildZeroShotClassifier(enc, ['archery', 'bowling', 'archery'], { templates: ['{}'] });
    expect(clf.space.ids).toEqual(['0', '1', '2']);
    // Features equal to the 'bowling' text embedding (scaled) must predict class 1.
    const f = tf.tensor2d(
      Float32Array.from(fakeVector('bowling', 8), (v) => v * 5),
      [1, 8],
    );
    const pred = await clf.predict(f);
    expect(Array.from(pred)).toEqual([1]);
    const s = clf.scores(f);
    expect((await s.data())[1]).toBeCloseTo(1, 5);
    tf.dispose([f, s]);
  });
});
