import { ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { CLIP_INIT_LOGIT_SCALE, clipContrastiveLoss } from './clip-loss.js';

/** The loss by hand, in float64, straight from CLIP's pseudocode. */
function byHand(image: number[][], text: number[][], s: number): number {
  const norm = (v: number[]) => {
    const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
    return v.map((x) => x / n);
  };
  const I = image.map(norm);
  const T = text.map(norm);
  const B = I.length;
  const logits = I.map((a) => T.map((b) => Math.exp(s) * a.reduce((acc, x, k) => acc + x * (b[k] as number), 0)));
  const ce = (m: number[][]) =>
    m.reduce((acc, row, i) => {
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      return acc + (lse - (row[i] as number));
    }, 0) / B;
  const transposed = logits.map((_, i) => logits.map((row) => row[i] as number));
  return (ce(logits) + ce(transposed)) / 2;
}

describe('clipContrastiveLoss (symmetric InfoNCE)', () => {
  const image = [
    [1, 0.5, -0.2],
    [0.1, -1, 0.3],
    [-0.4, 0.2, 2],
    [0.3, 0.3, 0.3],
  ];
  const text = [
    [0.9, 0.4, 0.1],
    [-0.2, -0.8, 0.5],
    [0.1, 0.1, 1.5],
    [1, -1, 0.2],
  ];

  it('equals a hand computation of CLIP’s pseudocode', () => {
    for (const s of [0, 1.3, CLIP_INIT_LOGIT_SCALE]) {
      const loss = clipContrastiveLoss(tf.tensor2d(image), tf.tensor2d(text), tf.scalar(s));
      expect(loss.dataSync()[0]).toBeCloseTo(byHand(image, text, s), 5);
    }
  });

  it('is asymmetric in the pairing but symmetric in the roles: swapping image and text gives the same loss', () => {
    const a = clipContrastiveLoss(tf.tensor2d(image), tf.tensor2d(text), tf.scalar(2)).dataSync()[0];
    const b = clipContrastiveLoss(tf.tensor2d(text), tf.tensor2d(image), tf.scalar(2)).dataSync()[0];
    expect(a).toBeCloseTo(b as number, 6);
    // Shuffling the texts breaks the pairs and raises the loss.
    const shuffled = [text[1]!, text[2]!, text[3]!, text[0]!];
    expect(clipContrastiveLoss(tf.tensor2d(image), tf.tensor2d(shuffled), tf.scalar(2)).dataSync()[0]).toBeGreaterThan(a as number);
  });

  it('is ln B for identical embeddings and gives the temperature a gradient', () => {
    const same = tf.ones([5, 3]);
    expect(clipContrastiveLoss(same, same, tf.scalar(3)).dataSync()[0]).toBeCloseTo(Math.log(5), 5);
    const s = tf.scalar(1);
    const g = tf.grad((x: tf.Tensor) => clipContrastiveLoss(tf.tensor2d(image), tf.tensor2d(image), x))(s);
    // Perfectly matched pairs: a sharper softmax (larger s) lowers the loss.
    expect(g.dataSync()[0]).toBeLessThan(0);
  });

  it('rejects mismatched shapes with ShapeError', () => {
    expect(() => clipContrastiveLoss(tf.ones([4, 3]), tf.ones([3, 3]), tf.scalar(1))).toThrow(ShapeError);
    expect(() => clipContrastiveLoss(tf.ones([4, 3]), tf.ones([4, 3]), tf.ones([2]))).toThrow(/expected a scalar/);
  });
});
