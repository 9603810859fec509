/**
 * Property tests that pin the semantics of the objectives (house style 4.11): entropy at the optimum,
 * invariance to a consistent permutation of concepts, the prior's zero, alignment's minimiser,
 * finite gradients for extreme scores, no teacher gradient, no leaked tensors.
 */
import { SeededRandom } from '@lss/core';
import { expectNoLeaks } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { permutation, randomInputs, readTerms } from './__fixtures__/inputs.js';
import { createConceptAlignment } from './concept-alignment.js';
import { createConceptDistillation } from './concept-distillation.js';
import { createDino } from './dino.js';
import { dinoLoss } from './dino-loss.js';
import type { Objective, ObjectiveInputs } from './types.js';
import { createUniformPrior } from './uniform-prior.js';

afterEach(() => tf.disposeVariables());

const TAU_S = 0.01; // SPEC defaults
const TAU_T = 0.007; // the teacher temperature after warm-up (epoch >= 4)

/** float64 softmax of one row. */
function softmax(row: readonly number[], temperature: number): number[] {
  const z = row.map((x) => x / temperature);
  const max = Math.max(...z);
  const e = z.map((x) => Math.exp(x - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / sum);
}

const entropy = (p: readonly number[]) => -p.reduce((acc, x) => acc + (x > 0 ? x * Math.log(x) : 0), 0);

function rows(t: tf.Tensor2D): number[][] {
  return t.arraySync();
}

function scalar(t: tf.Scalar): number {
  const value = t.dataSync()[0] as number;
  t.dispose();
  return value;
}

describe('concept-distillation', () => {
  it('a student equal to a sharp teacher gives the teacher entropy, and that is the minimum', () => {
    const rng = new SeededRandom(3);
    const [B, K] = [4, 6];
    const teacherScores = tf.tensor2d(rng.uniformArray(B * K, -0.03, 0.03), [B, K]);
    const studentScores = tf.mul(teacherScores, TAU_S / TAU_T) as tf.Tensor2D; // same distribution at τ_s
    const objective = createConceptDistillation({ spaces: ['category'] });
    const inputs = (student: tf.Tensor2D) => ({
      student: { category: [student, student, student] },
      teacher: { category: [teacherScores, teacherScores] },
      numGlobalViews: 2,
      step: 0,
      epoch: 10,
    });
    const loss = readTerms(objective.terms(inputs(studentScores))).loss as number;
    const expected = rows(teacherScores).reduce((acc, row) => acc + entropy(softmax(row, TAU_T)), 0) / B;
    expect(expected).toBeGreaterThan(0.1); // not a degenerate one-hot case
    expect(loss).toBeCloseTo(expected, 4);
    const noise = tf.tensor2d(rng.uniformArray(B * K, -0.003, 0.003), [B, K]);
    const perturbed = tf.add(studentScores, noise) as tf.Tensor2D;
    expect(readTerms(objective.terms(inputs(perturbed))).loss).toBeGreaterThan(loss);
    for (const t of [teacherScores, studentScores, noise, perturbed]) t.dispose();
  });

  it('uniform teacher and student give log K', () => {
    const [B, K] = [2, 9];
    const zeros = tf.zeros([B, K]) as tf.Tensor2D;
    const objective = createConceptDistillation({ spaces: ['description'] });
    const loss = readTerms(
      objective.terms({
        student: { description: [zeros, zeros] },
        teacher: { description: [zeros] },
        numGlobalViews: 1,
        step: 0,
        epoch: 0,
      }),
    ).loss;
    expect(loss).toBeCloseTo(Math.log(K), 5);
    zeros.dispose();
  });

  it('averages over spaces and reports each space', () => {
    const inputs = randomInputs();
    const both = readTerms(createConceptDistillation().terms(inputs));
    expect(both.loss).toBeCloseTo(((both.category as number) + (both.description as number)) / 2, 5);
    expect(Object.keys(both).sort()).toEqual(['category', 'description', 'loss', 'teacherEntropy']);
    inputs.dispose();
  });
});

describe('uniform-prior', () => {
  it('is zero exactly at the uniform mean distribution, positive elsewhere', () => {
    const prior = createUniformPrior({ spaces: ['category'] });
    const run = (views: tf.Tensor2D[]) =>
      readTerms(prior.terms({ student: { category: views }, teacher: {}, numGlobalViews: 1, step: 0, epoch: 0 })).loss as number;
    // Constant rows: every distribution is uniform.
    const constant = tf.tensor2d([0.3, 0.3, 0.3, -0.2, -0.2, -0.2], [2, 3]);
    expect(Math.abs(run([constant, constant]))).toBeLessThan(1e-6);
    // Sharp but complementary views: each view is peaked, the batch-and-view mean is uniform.
    const a = tf.tensor2d([1, -1], [1, 2]);
    const b = tf.tensor2d([-1, 1], [1, 2]);
    expect(Math.abs(run([a, b]))).toBeLessThan(1e-6);
    expect(run([a, a])).toBeCloseTo(Math.log(2), 5); // collapse onto one concept: KL = log K
    // Random scores: positive, and equal to a float64 reference.
    const inputs = randomInputs({ scale: 0.02 });
    const views = inputs.student.category as tf.Tensor2D[];
    const probs = views.flatMap((v) => rows(v).map((row) => softmax(row, TAU_S)));
    const K = probs[0]?.length as number;
    const mean = Array.from({ length: K }, (_, k) => probs.reduce((acc, p) => acc + (p[k] as number), 0) / probs.length);
    const expected = mean.reduce((acc, p) => acc + p * Math.log(K * p), 0);
    const value = run(views);
    expect(value).toBeGreaterThan(1e-4);
    expect(value).toBeCloseTo(expected, 5);
    for (const t of [constant, a, b]) t.dispose();
    inputs.dispose();
  });

  it('sums the two spaces', () => {
    const inputs = randomInputs({ scale: 0.02 });
    const terms = readTerms(createUniformPrior().terms(inputs));
    expect(terms.loss).toBeCloseTo((terms.category as number) + (terms.description as number), 6);
    inputs.dispose();
  });
});

describe('concept-alignment', () => {
  it('is minimal (zero gradient, entropy value) when the student believes what the teacher implies', () => {
    const [B, Kc, Kd] = [3, 4, 6];
    const rng = new SeededRandom(5);
    const relationValues = [
      [1, 1, 0, 0, 0, 0],
      [0, 0, 1, 1, 0, 0],
      [0, 0, 0, 1, 1, 0],
      [1, 0, 0, 0, 0, 1],
    ];
    const relation = tf.tensor2d(relationValues);
    const tc = tf.tensor2d(rng.uniformArray(B * Kc, -0.01, 0.01), [B, Kc]);
    const td = tf.tensor2d(rng.uniformArray(B * Kd, -0.01, 0.01), [B, Kd]);
    // float64 targets: q_desc = p_t[cat] M̂, q_cat = p_t[desc] M̂ᵀ.
    const mHat = relationValues.map((r) => r.map((x) => x / r.reduce((a, b) => a + b, 0)));
    const colSums = Array.from({ length: Kd }, (_, j) => relationValues.reduce((a, r) => a + (r[j] as number), 0));
    const qDesc = rows(tc).map((row) => {
      const p = softmax(row, TAU_T);
      return Array.from({ length: Kd }, (_, j) => p.reduce((acc, pi, i) => acc + pi * (mHat[i]?.[j] as number), 0));
    });
    const qCat = rows(td).map((row) => {
      const p = softmax(row, TAU_T);
      return Array.from({ length: Kc }, (_, i) =>
        p.reduce((acc, pj, j) => acc + (pj * (relationValues[i]?.[j] as number)) / (colSums[j] as number), 0),
      );
    });
    const sDesc = tf.tensor2d(qDesc.map((r) => r.map((q) => TAU_S * Math.log(q))));
    const sCat = tf.tensor2d(qCat.map((r) => r.map((q) => TAU_S * Math.log(q))));
    const objective = createConceptAlignment();
    const inputsFor = (cat: tf.Tensor2D, desc: tf.Tensor2D): ObjectiveInputs => ({
      student: { category: [cat, cat, cat], description: [desc, desc, desc] },
      teacher: { category: [tc, tc], description: [td, td] },
      numGlobalViews: 2,
      relation,
      step: 0,
      epoch: 10,
    });
    const expected = 0.5 * (qDesc.reduce((a, q) => a + entropy(q), 0) / B + qCat.reduce((a, q) => a + entropy(q), 0) / B);
    const atOptimum = readTerms(objective.terms(inputsFor(sCat, sDesc)));
    expect(atOptimum.loss).toBeCloseTo(expected, 4);
    const [gCat, gDesc] = tf.grads((c: tf.Tensor, d: tf.Tensor) => objective.terms(inputsFor(c as tf.Tensor2D, d as tf.Tensor2D)).loss)([
      sCat,
      sDesc,
    ]);
    expect(Math.max(...(gCat as tf.Tensor).abs().dataSync())).toBeLessThan(1e-3);
    expect(Math.max(...(gDesc as tf.Tensor).abs().dataSync())).toBeLessThan(1e-3);
    for (let trial = 0; trial < 3; trial++) {
      const noise = tf.tensor2d(rng.uniformArray(B * Kd, -0.005, 0.005), [B, Kd]);
      const moved = tf.add(sDesc, noise) as tf.Tensor2D;
      expect(readTerms(objective.terms(inputsFor(sCat, moved))).loss).toBeGreaterThan(atOptimum.loss as number);
      noise.dispose();
      moved.dispose();
    }
    for (const t of [relation, tc, td, sDesc, sCat, gCat, gDesc] as tf.Tensor[]) t.dispose();
  });

  it('rejects a relation of the wrong shape with the expected shape in the message', () => {
    const inputs = randomInputs();
    const wrong = tf.ones([7, 5]) as tf.Tensor2D;
    expect(() => createConceptAlignment().terms({ ...inputs, relation: wrong })).toThrow(/expected \[5, 7\]/);
    wrong.dispose();
    inputs.dispose();
  });
});

/** Permutes the concepts (columns) of every score tensor and the relation consistently. */
function permuted(inputs: ObjectiveInputs, catPerm: number[], descPerm: number[]): ObjectiveInputs & { dispose(): void } {
  const created: tf.Tensor[] = [];
  const p = (views: readonly tf.Tensor2D[] | undefined, perm: number[]) =>
    (views ?? []).map((v) => {
      const t = tf.gather(v, perm, 1) as tf.Tensor2D;
      created.push(t);
      return t;
    });
  const relation = tf.tidy(() => tf.gather(tf.gather(inputs.relation as tf.Tensor2D, catPerm, 0), descPerm, 1)) as tf.Tensor2D;
  created.push(relation);
  return {
    ...inputs,
    student: { category: p(inputs.student.category, catPerm), description: p(inputs.student.description, descPerm) },
    teacher: { category: p(inputs.teacher.category, catPerm), description: p(inputs.teacher.description, descPerm) },
    relation,
    dispose: () => {
      for (const t of created) t.dispose();
    },
  };
}

describe('permuting concepts consistently leaves every loss unchanged', () => {
  const factories: [string, (scope: string) => Objective][] = [
    ['concept-distillation', (scope) => createConceptDistillation({ scope })],
    ['concept-distillation (centring)', (scope) => createConceptDistillation({ scope, centering: true })],
    ['uniform-prior', () => createUniformPrior()],
    ['concept-alignment', () => createConceptAlignment()],
  ];
  for (const [name, make] of factories) {
    it(name, () => {
      const original = make('a');
      const shuffled = make('b');
      for (let step = 0; step < 2; step++) {
        // Two steps, so that a running centre (updated after step 0) is exercised too.
        const inputs = randomInputs({ seed: 10 + step, epoch: step });
        const perm = permuted(inputs, permutation(5, 1), permutation(7, 2));
        const a = readTerms(original.terms(inputs));
        const b = readTerms(shuffled.terms(perm));
        for (const key of Object.keys(a)) expect(b[key], `${name} ${key}`).toBeCloseTo(a[key] as number, 4);
        original.afterStep?.({ ...inputs, teacherMomentum: 0.9 });
        shuffled.afterStep?.({ ...perm, teacherMomentum: 0.9 });
        inputs.dispose();
        perm.dispose();
      }
      original.dispose();
      shuffled.dispose();
    });
  }

  it('dinoLoss on free logits', () => {
    const inputs = randomInputs({ scale: 1 });
    const perm = permuted(inputs, permutation(5, 3), permutation(7, 4));
    const center = tf.tensor2d([[0.1, -0.2, 0.3, 0, 0.05]]);
    const centerPerm = tf.gather(center, permutation(5, 3), 1);
    const options = { studentTemperature: 0.1, teacherTemperature: 0.04 };
    const a = scalar(dinoLoss({ student: inputs.student.category ?? [], teacher: inputs.teacher.category ?? [], center, ...options }));
    const b = scalar(
      dinoLoss({ student: perm.student.category ?? [], teacher: perm.teacher.category ?? [], center: centerPerm, ...options }),
    );
    expect(b).toBeCloseTo(a, 4);
    for (const t of [center, centerPerm]) t.dispose();
    inputs.dispose();
    perm.dispose();
  });
});

describe('numerics', () => {
  const extreme = () => randomInputs({ scale: 1e4, seed: 7 });
  const objectives: [string, () => Objective][] = [
    ['concept-distillation', () => createConceptDistillation({ centering: true })],
    ['uniform-prior', () => createUniformPrior()],
    ['concept-alignment', () => createConceptAlignment()],
  ];
  for (const [name, make] of objectives) {
    it(`${name}: finite loss and gradients for scores of ±1e4`, () => {
      const inputs = extreme();
      const objective = make();
      const studentViews = [...(inputs.student.category ?? []), ...(inputs.student.description ?? [])];
      const V = inputs.student.category?.length as number;
      const f = (...views: tf.Tensor[]) =>
        objective.terms({
          ...inputs,
          student: { category: views.slice(0, V) as tf.Tensor2D[], description: views.slice(V) as tf.Tensor2D[] },
        }).loss;
      const { value, grads } = tf.valueAndGrads(f)(studentViews);
      expect(Number.isFinite(value.dataSync()[0])).toBe(true);
      for (const g of grads) expect(g.dataSync().every(Number.isFinite)).toBe(true);
      for (const t of [value, ...grads]) t.dispose();
      objective.dispose();
      inputs.dispose();
    });
  }

  it('the naive log(softmax) would not be finite on the same scores (the test above can fail)', () => {
    const inputs = extreme();
    const naive = tf.tidy(() => tf.log(tf.softmax(tf.div(inputs.student.category?.[0] as tf.Tensor2D, TAU_S))));
    expect(naive.dataSync().every(Number.isFinite)).toBe(false);
    naive.dispose();
    inputs.dispose();
  });

  it('dinoLoss and the dino objective: finite gradients for logits / features of ±1e4', () => {
    const inputs = extreme();
    const student = inputs.student.category as tf.Tensor2D[];
    const teacher = inputs.teacher.category as tf.Tensor2D[];
    const grads = tf.grads((...s: tf.Tensor[]) =>
      dinoLoss({ student: s as tf.Tensor2D[], teacher, studentTemperature: 0.1, teacherTemperature: 0.04 }),
    )(student);
    for (const g of grads) expect(g.dataSync().every(Number.isFinite)).toBe(true);
    tf.dispose(grads);
    const dino = createDino({ inputDim: 6, hiddenDim: 8, bottleneckDim: 4, outDim: 10, headInput: 'embedding' });
    const { value, grads: headGrads } = tf.variableGrads(() => dino.terms(inputs).loss, dino.trainableVariables() as tf.Variable[]);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    for (const g of Object.values(headGrads)) expect(g.dataSync().every(Number.isFinite)).toBe(true);
    value.dispose();
    tf.dispose(headGrads);
    dino.dispose();
    inputs.dispose();
  });
});

describe('the teacher receives no gradient', () => {
  it('concept-distillation and concept-alignment give zero gradient to teacher scores', () => {
    const inputs = randomInputs();
    for (const objective of [createConceptDistillation({ centering: true }), createConceptAlignment()]) {
      const teacherViews = [...(inputs.teacher.category ?? []), ...(inputs.teacher.description ?? [])];
      const G = inputs.numGlobalViews;
      const grads = tf.grads(
        (...t: tf.Tensor[]) =>
          objective.terms({
            ...inputs,
            teacher: { category: t.slice(0, G) as tf.Tensor2D[], description: t.slice(G) as tf.Tensor2D[] },
          }).loss,
      )(teacherViews);
      for (const g of grads) expect(Math.max(...g.abs().dataSync())).toBe(0);
      tf.dispose(grads);
      objective.dispose();
    }
    inputs.dispose();
  });

  it('dino gives zero gradient to teacher features and no gradient variable to its teacher head', () => {
    const inputs = randomInputs();
    const dino = createDino({ inputDim: 6, hiddenDim: 8, bottleneckDim: 4, outDim: 10, headInput: 'embedding' });
    const grads = tf.grads((...t: tf.Tensor[]) => dino.terms({ ...inputs, teacherFeatures: t as tf.Tensor2D[] }).loss)(
      inputs.teacherFeatures as tf.Tensor2D[],
    );
    for (const g of grads) expect(Math.max(...g.abs().dataSync())).toBe(0);
    tf.dispose(grads);
    const trainable = new Set(dino.trainableVariables().map((v) => v.name));
    for (const [name, variable] of dino.variables()) {
      expect(trainable.has(name)).toBe(name.includes('/student/'));
      expect(variable.trainable).toBe(name.includes('/student/'));
    }
    dino.dispose();
    inputs.dispose();
  });
});

describe('no tensor leaks', () => {
  const all: [string, () => Objective][] = [
    ['concept-distillation', () => createConceptDistillation({ centering: true })],
    ['uniform-prior', () => createUniformPrior()],
    ['concept-alignment', () => createConceptAlignment()],
    ['dino', () => createDino({ inputDim: 6, hiddenDim: 8, bottleneckDim: 4, outDim: 10, headInput: 'embedding' })],
  ];
  for (const [name, make] of all) {
    it(`${name}: terms() and afterStep()`, () => {
      const inputs = randomInputs();
      const objective = make();
      const scale = tf.variable(tf.scalar(1), true, 'test/scale');
      readTerms(objective.terms(inputs)); // creates lazy state (centres) once
      expectNoLeaks(() => readTerms(objective.terms(inputs)));
      expectNoLeaks(() => objective.afterStep?.({ ...inputs, teacherMomentum: 0.99 }));
      expectNoLeaks(() => {
        const { value, grads } = tf.variableGrads(() => {
          const s = inputs.student.category as tf.Tensor2D[];
          // A trainable stand-in for the backbone, so that every objective has a variable to differentiate.
          return objective.terms({ ...inputs, student: { ...inputs.student, category: s.map((x) => tf.mul(x, scale)) } }).loss;
        }, [scale, ...((objective.trainableVariables?.() ?? []) as tf.Variable[])]);
        value.dispose();
        tf.dispose(grads);
      });
      objective.dispose();
      inputs.dispose();
    });
  }
});
