/**
 * ONNX export (`lss-eval export-onnx`) and the ONNX engine (`--engine onnx`) on clip-tiny: parity of the
 * exported video tower with the tfjs tower (random divided-attention weights, T = 1, 2, 8, batch 1 and 3),
 * the frozen-CLIP frame average, the text tower vs expected.safetensors, int8, error cases, and
 * `--engine onnx` vs `--engine tfjs` on the synthetic dataset.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClipModel, loadClip } from '@lss/backbone';
import { loadOnnxTextEncoder } from '@lss/concepts/node';
import { ConfigError, WeightsError } from '@lss/core';
import { readSafetensorsFile } from '@lss/core/node';
import { generateSyntheticDataset, type SyntheticDataset } from '@lss/data/node';
import { createOnnxSession } from '@lss/onnx/node';
import { CLIP_TINY_DIR, fixturePath, maxAbsDiff, TINY_SYNTHETIC_DATASET, ucf101EvalArgs, writeTrainerCheckpoint } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictionAgreement } from './agreement.js';
import { runCli } from './cli.js';
import { exportOnnxModelFolder, loadOnnxEvalModel, readOnnxVideoMeta } from './onnx-model.js';
import type { EvalReport } from './report.js';

const dir = mkdtempSync(join(tmpdir(), 'lss-onnx-export-'));
afterAll(() => {
  tf.disposeVariables();
  rmSync(dir, { recursive: true, force: true });
});

/** clip-tiny's video tower for T frames with every weight perturbed by N(0, 0.05²): the temporal branch (zero-initialised) becomes non-trivial. */
async function randomVideoClip(frames: number, seed: number): Promise<ClipModel> {
  const clip = await loadClip(CLIP_TINY_DIR, { video: true, numFrames: frames, root: `rand${frames}x${seed}` });
  let k = 0;
  for (const v of clip.vision.scope.variables().values()) {
    v.assign(tf.tidy(() => tf.add(v, tf.randomNormal(v.shape, 0, 0.05, 'float32', seed * 1000 + k++))));
  }
  return clip;
}

/** Writes `clip`'s video tower as an apps/trainer checkpoint (teacher and student) whose text model is clip-tiny. */
function writeCheckpoint(clip: ClipModel, at: string): string {
  return writeTrainerCheckpoint(clip.vision, at, { clip: CLIP_TINY_DIR });
}

function cosines(a: Float32Array, b: Float32Array, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < a.length / dim; r++) {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) {
      ab += (a[i] as number) * (b[i] as number);
      aa += (a[i] as number) ** 2;
      bb += (b[i] as number) ** 2;
    }
    out.push(ab / Math.sqrt(aa * bb));
  }
  return out;
}

async function onnxVsTfjs(
  onnxFile: string,
  call: (x: tf.Tensor5D) => tf.Tensor2D,
  shape: [number, number, number, number, number],
  seed: number,
) {
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor5D;
  const ref = tf.tidy(() => call(x));
  const session = await createOnnxSession(onnxFile);
  try {
    const got = await session.run(x.dataSync() as Float32Array, shape);
    return { ref: ref.dataSync() as Float32Array, got: got.data, gotShape: got.shape };
  } finally {
    tf.dispose([x, ref]);
    await session.release();
  }
}

describe('export-onnx: video tower parity with the tfjs tower (clip-tiny, random divided-attention weights)', () => {
  for (const frames of [1, 2, 8]) {
    it(`T = ${frames}: trainer checkpoint -> onnx/video_model.onnx equals tfjs within 1e-4 at batch 1 and 3`, async () => {
      const clip = await randomVideoClip(frames, frames);
      try {
        const ckpt = writeCheckpoint(clip, join(dir, `ckpt-t${frames}`));
        const out = join(dir, `export-t${frames}`);
        const r = await exportOnnxModelFolder(ckpt, out);
        expect(r.meta.frames).toBe(frames);
        expect(r.meta.kind).toBe('checkpoint');
        const file = join(out, 'onnx', 'video_model.onnx');
        for (const batch of [1, 3]) {
          const { ref, got, gotShape } = await onnxVsTfjs(
            file,
            (x) => clip.vision.call(x),
            [batch, frames, 32, 32, 3],
            10 * frames + batch,
          );
          expect(gotShape).toEqual([batch, 32]);
          expect(maxAbsDiff(got, ref)).toBeLessThan(1e-4); // measured ~7e-7
        }
        // The temporal branch matters: zeroing it changes the output (so parity is not trivially met).
        const x = tf.randomNormal([1, frames, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor5D;
        const before = clip.vision.call(x).dataSync() as Float32Array;
        const fc = [...clip.vision.scope.variables()].find(([p]) => p.endsWith('temporalFc/kernel'));
        fc?.[1].assign(tf.zerosLike(fc[1]));
        const after = clip.vision.call(x).dataSync() as Float32Array;
        expect(maxAbsDiff(before, after)).toBeGreaterThan(1e-3);
        x.dispose();
      } finally {
        clip.dispose();
      }
    });
  }

  it('a CLIP folder exports the frozen image CLIP with frame averaging (T = 8, batch 3) and its metadata', async () => {
    const clip = await loadClip(CLIP_TINY_DIR, { video: false, root: 'frozen' });
    try {
      const out = join(dir, 'export-clip');
      const r = await exportOnnxModelFolder(CLIP_TINY_DIR, out, { frames: 8 });
      expect(r.meta).toMatchObject({ kind: 'clip', frames: 8, imageSize: 32, embedDim: 32, quantize: 'none', opset: 17 });
      expect(r.meta.source.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(r.meta.mean).toEqual([0.48145466, 0.4578275, 0.40821073]);
      for (const f of [
        'onnx/video_model.onnx',
        'onnx/text_model.onnx',
        'tokenizer.json',
        'tokenizer_config.json',
        'config.json',
        'lss_video.json',
      ]) {
        expect(existsSync(join(out, f)), f).toBe(true);
      }
      expect(r.meta.text.from).toMatch(/^copied from/);
      const { ref, got } = await onnxVsTfjs(join(out, 'onnx', 'video_model.onnx'), (x) => clip.encodeVideos(x), [3, 8, 32, 32, 3], 99);
      expect(maxAbsDiff(got, ref)).toBeLessThan(1e-4);
    } finally {
      clip.dispose();
    }
  });
});

describe('export-onnx: text tower and int8', () => {
  it('a CLIP folder without onnx/ gets onnx/text_model.onnx traced from the tfjs text tower: equals expected.safetensors', async () => {
    const src = join(dir, 'clip-no-onnx');
    cpSync(CLIP_TINY_DIR, src, { recursive: true, filter: (p) => !p.includes('onnx') && !p.endsWith('expected.safetensors') });
    const out = join(dir, 'export-text');
    const r = await exportOnnxModelFolder(src, out, { frames: 2 });
    expect(r.meta.text.from).toMatch(/^exported from the tfjs text tower/);
    const expected = readSafetensorsFile(fixturePath('clip-tiny', 'expected.safetensors'));
    const ids = expected.tensors.get('input_ids');
    const want = expected.tensors.get('text_embeds')?.data as Float32Array;
    const ort = await import('onnxruntime-node');
    const s = await ort.InferenceSession.create(join(out, 'onnx', 'text_model.onnx'));
    expect(s.inputNames).toEqual(['input_ids']);
    expect(s.outputNames).toEqual(['text_embeds']);
    const y = await s.run({
      input_ids: new ort.Tensor(
        'int64',
        BigInt64Array.from(ids?.data as ArrayLike<number>, (v) => BigInt(v)),
        [14, 77],
      ),
    });
    await s.release();
    expect(y.text_embeds?.dims).toEqual([14, 32]);
    expect(maxAbsDiff(y.text_embeds?.data as Float32Array, want)).toBeLessThan(1e-4); // measured 2.5e-6
    // The folder is a complete model folder for the ONNX text engine of @lss/concepts (HF names, tokenizer).
    const enc = await loadOnnxTextEncoder(out);
    const strings = (JSON.parse(readFileSync(fixturePath('clip-tiny', 'expected.json'), 'utf8')) as { strings: string[] }).strings;
    expect(maxAbsDiff((await enc.encode(strings)).data, want)).toBeLessThan(1e-4);
    await enc.dispose?.();
  });

  it('--quantize int8: int8 linear weights, cosine to the tfjs tower >= 0.999 (T = 8, batch 3), file smaller', async () => {
    const clip = await randomVideoClip(8, 5);
    try {
      const ckpt = writeCheckpoint(clip, join(dir, 'ckpt-int8'));
      const fp32 = await exportOnnxModelFolder(ckpt, join(dir, 'export-fp32'));
      const int8 = await exportOnnxModelFolder(ckpt, join(dir, 'export-int8'), { quantize: 'int8' });
      expect(int8.meta.quantize).toBe('int8');
      // per block: q, k, v (the fused qkv weight is split by the tfjs code, folded at export), proj, fc1, fc2,
      // temporal q, k, v, proj, fc: 11 x 2 blocks, + patch embedding and projection
      expect(int8.quantizedLinears).toBe(2 * 11 + 2);
      const size = (d: string) => readFileSync(join(d, 'onnx', 'video_model.onnx')).length;
      expect(size(int8.dir)).toBeLessThan(0.6 * size(fp32.dir));
      const { ref, got } = await onnxVsTfjs(join(int8.dir, 'onnx', 'video_model.onnx'), (x) => clip.vision.call(x), [3, 8, 32, 32, 3], 77);
      const cos = cosines(got, ref, 32);
      for (const c of cos) expect(c).toBeGreaterThan(0.999); // measured 0.99992
      expect(maxAbsDiff(got, ref)).toBeGreaterThan(1e-5); // it is really quantised
    } finally {
      clip.dispose();
    }
  });
});

describe('export-onnx / ONNX engine errors', () => {
  it('a text folder without tokenizer files is a ConfigError naming them', async () => {
    const src = join(dir, 'clip-no-tokenizer');
    cpSync(CLIP_TINY_DIR, src, { recursive: true, filter: (p) => !p.includes('tokenizer') });
    await expect(exportOnnxModelFolder(src, join(dir, 'x'))).rejects.toThrow(ConfigError);
    await expect(exportOnnxModelFolder(src, join(dir, 'x'))).rejects.toThrow(/missing tokenizer\.json and tokenizer_config\.json/);
  });

  it('a corrupt onnx/video_model.onnx is a WeightsError naming the file', async () => {
    const out = join(dir, 'corrupt');
    await exportOnnxModelFolder(CLIP_TINY_DIR, out, { frames: 2 });
    await (await loadOnnxEvalModel(out)).dispose(); // intact: loads
    const f = join(out, 'onnx', 'video_model.onnx');
    writeFileSync(f, readFileSync(f).subarray(0, 2000));
    await expect(loadOnnxEvalModel(out)).rejects.toThrow(WeightsError);
    await expect(loadOnnxEvalModel(out)).rejects.toThrow(/video_model\.onnx could not be loaded by onnxruntime/);
    writeFileSync(join(out, 'lss_video.json'), '{"format": "other"}');
    expect(() => readOnnxVideoMeta(out)).toThrow(/expected "lss-onnx-video\/1"/);
  });
});

describe('lss-eval --engine onnx vs --engine tfjs on the synthetic dataset', () => {
  let synth: SyntheticDataset;
  let ckpt = '';
  beforeAll(async () => {
    synth = await generateSyntheticDataset({ dir: join(dir, 'synth'), ...TINY_SYNTHETIC_DATASET, seed: 2 });
    const clip = await randomVideoClip(4, 9);
    ckpt = writeCheckpoint(clip, join(dir, 'ckpt-eval'));
    clip.dispose();
  }, 300_000);

  async function cli(args: string[]) {
    let out = '';
    let err = '';
    const code = await runCli([...args, '--backend', tf.getBackend(), '--quiet'], {
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
    });
    return { code, out, err };
  }
  const common = () => [...ucf101EvalArgs(synth), '--cache', join(dir, 'cache')];

  it('zero-shot and knn: same confusion matrices and accuracies; classify: same ranking, scores within 1e-3', async () => {
    for (const protocol of ['zero-shot', 'knn']) {
      const reports: EvalReport[] = [];
      for (const engine of ['tfjs', 'onnx']) {
        const out = join(dir, `${protocol}-${engine}`);
        const r = await cli([
          protocol,
          '--model',
          ckpt,
          '--engine',
          engine,
          '--threads',
          '1',
          ...common(),
          '--out',
          out,
          '--text-engine',
          'onnx',
        ]);
        expect(r.code, r.err).toBe(0);
        reports.push(JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as EvalReport);
      }
      const [t, o] = reports as [EvalReport, EvalReport];
      expect(Object.keys(o).sort()).toEqual(Object.keys(t).sort());
      expect(o.splits.map((s) => [s.top1, s.top5, s.confusion])).toEqual(t.splits.map((s) => [s.top1, s.top5, s.confusion]));
      expect(predictionAgreement(t, o).agreement.mean).toBe(100); // video by video, not only in the counts
      expect(o.model.label).toContain('ONNX');
    }
    const video = join(synth.videosDir, synth.classNames[0] as string, readdirFirst(join(synth.videosDir, synth.classNames[0] as string)));
    const rows = async (engine: string) => {
      const r = await cli([
        'classify',
        video,
        '--labels',
        synth.classNames.join(','),
        '--model',
        ckpt,
        '--engine',
        engine,
        '--views',
        '1x1',
        '--frames',
        '4',
        '--size',
        '32',
        '--cache',
        join(dir, 'cache'),
      ]);
      expect(r.code, r.err).toBe(0);
      return r.out
        .split('\n')
        .filter((l) => /^\s*\d\. /.test(l))
        .map((l) => ({ label: l.slice(4, 36).trim(), cosine: Number(/cosine (-?[\d.]+)/.exec(l)?.[1]) }));
    };
    const a = await rows('tfjs');
    const b = await rows('onnx');
    expect(b.map((r) => r.label)).toEqual(a.map((r) => r.label));
    b.forEach((r, i) => expect(Math.abs(r.cosine - (a[i]?.cosine as number))).toBeLessThan(1e-3));
  });
});

function readdirFirst(d: string): string {
  return readdirSync(d).sort()[0] as string;
}
