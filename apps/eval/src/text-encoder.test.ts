import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadClip } from '@lss/backbone';
import { loadClipTokenizer, loadOnnxTextEncoder } from '@lss/concepts/node';
import { readSafetensorsFile } from '@lss/core/node';
import { CLIP_TINY_DIR, expectNoLeaksAsync, maxAbsDiff } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { createTfjsTextEncoder } from './text-encoder.js';

const expected = readSafetensorsFile(join(CLIP_TINY_DIR, 'expected.safetensors')).tensors.get('text_embeds');
const strings = (JSON.parse(readFileSync(join(CLIP_TINY_DIR, 'expected.json'), 'utf8')) as { strings: string[] }).strings;

describe('text encoders: tfjs (backbone) and ONNX (onnxruntime-node) agree on clip-tiny', () => {
  it('both match expected.safetensors text_embeds within 1e-4', async () => {
    expect(expected?.shape).toEqual([14, 32]);
    const ref = expected?.data as Float32Array;
    const clip = await loadClip(CLIP_TINY_DIR, { video: false });
    const tokenizer = await loadClipTokenizer(CLIP_TINY_DIR);
    try {
      // batchSize 5: several batches of different longest lengths, so the trimming is exercised.
      const tfjs = createTfjsTextEncoder(clip, tokenizer, { batchSize: 5, modelHash: 'test' });
      const a = await expectNoLeaksAsync(() => tfjs.encode(strings));
      expect(a.shape).toEqual([14, 32]);
      const onnx = await loadOnnxTextEncoder(CLIP_TINY_DIR, { tokenizer });
      const b = await onnx.encode(strings);
      await onnx.dispose?.();
      const dTfjs = maxAbsDiff(a.data, ref);
      const dOnnx = maxAbsDiff(b.data, ref);
      const dBoth = maxAbsDiff(a.data, b.data);
      console.log(
        `max |diff| vs expected: tfjs ${dTfjs.toExponential(2)}, onnx ${dOnnx.toExponential(2)}; tfjs vs onnx ${dBoth.toExponential(2)}`,
      );
      expect(dTfjs).toBeLessThan(1e-4);
      expect(dOnnx).toBeLessThan(1e-4);
      expect(dBoth).toBeLessThan(1e-4);
      expect(tfjs.id).toBe('clip-tiny');
    } finally {
      clip.dispose();
      tf.disposeVariables();
    }
  });
});
