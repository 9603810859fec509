import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../test/fixtures.js';
import { WeightsError } from './errors.js';
import { SeededRandom } from './random.js';
import { float16ToFloat32, float32ToFloat16, MAX_HEADER_BYTES, readSafetensors, writeSafetensors } from './safetensors.js';

/** Builds a file from a raw header object and data bytes, bypassing the writer's checks. */
function rawFile(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const text = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + text.length + data.length);
  new DataView(out.buffer).setUint32(0, text.length, true);
  out.set(text, 8);
  out.set(data, 8 + text.length);
  return out;
}

describe('safetensors round trip', () => {
  it('writes and reads F32, F16, BF16, I32, I64, U8 and metadata', () => {
    const f = new Float32Array([0, 1.5, -2.25, 3.0e-3, 65504, -1e-7]);
    const bytes = writeSafetensors(
      {
        'a.f32': { shape: [2, 3], data: f },
        'b.f16': { shape: [6], data: f, dtype: 'F16' },
        'c.bf16': { shape: [3, 2], data: f, dtype: 'BF16' },
        'd.i32': { shape: [3], data: new Int32Array([-5, 0, 2147483647]) },
        'e.i64': { shape: [2], data: new BigInt64Array([-7n, 123456789n]) },
        'f.u8': { shape: [2], data: new Uint8Array([0, 255]) },
        'g.empty': { shape: [0, 4], data: new Float32Array(0) },
      },
      { format: 'pt', note: 'hello' },
    );
    const headerLength = new DataView(bytes.buffer).getUint32(0, true);
    expect(headerLength % 8).toBe(0);
    const { tensors, metadata } = readSafetensors(bytes);
    expect(metadata).toEqual({ format: 'pt', note: 'hello' });
    expect([...tensors.keys()]).toEqual(['a.f32', 'b.f16', 'c.bf16', 'd.i32', 'e.i64', 'f.u8', 'g.empty']);
    expect(Array.from(tensors.get('a.f32')?.data ?? [])).toEqual(Array.from(f));
    expect(tensors.get('a.f32')?.shape).toEqual([2, 3]);
    const half = Array.from(tensors.get('b.f16')?.data ?? []);
    f.forEach((v, i) => expect(half[i]).toBeCloseTo(v, Math.abs(v) > 1000 ? -1 : 3));
    const bf = Array.from(tensors.get('c.bf16')?.data ?? []);
    f.forEach((v, i) => expect(Math.abs((bf[i] as number) - v)).toBeLessThanOrEqual(Math.abs(v) / 128 + 1e-30));
    expect(tensors.get('c.bf16')?.sourceDtype).toBe('BF16');
    expect(Array.from(tensors.get('d.i32')?.data ?? [])).toEqual([-5, 0, 2147483647]);
    expect(Array.from(tensors.get('e.i64')?.data ?? [])).toEqual([-7, 123456789]);
    expect(tensors.get('e.i64')?.dtype).toBe('int32');
    expect(Array.from(tensors.get('f.u8')?.data ?? [])).toEqual([0, 255]);
    expect(tensors.get('g.empty')?.shape).toEqual([0, 4]);
  });

  it('converts float16 exactly for representable values, with subnormals and infinities', () => {
    for (const v of [0, -0, 1, -1, 0.5, 2 ** -14, 2 ** -24, 65504, 1026]) {
      expect(float16ToFloat32(float32ToFloat16(v))).toBe(v);
    }
    expect(float16ToFloat32(float32ToFloat16(1e6))).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(float16ToFloat32(float32ToFloat16(Number.NaN)))).toBe(true);
  });

  it('reads the reference fixture written by PyTorch (I64 ids and F32 embeddings)', () => {
    const { tensors } = readSafetensors(readFileSync(fixturePath('clip-tiny', 'expected.safetensors')));
    const ids = tensors.get('input_ids');
    expect(ids?.shape).toEqual([14, 77]);
    expect(ids?.sourceDtype).toBe('I64');
    expect(Array.from(ids?.data.slice(0, 9) ?? [])).toEqual([49406, 320, 1455, 539, 320, 2533, 1629, 5084, 49407]);
    expect(tensors.get('image_embeds')?.shape).toEqual([4, 32]);
  });

  it('rejects an I64 value that does not fit int32, naming the tensor', () => {
    const bytes = writeSafetensors({ big: { shape: [1], data: new BigInt64Array([2n ** 40n]) } });
    expect(() => readSafetensors(bytes)).toThrow(/"big".*does not fit int32/);
  });

  it('can read a subset of tensors and reports missing names', () => {
    const bytes = writeSafetensors({ a: { shape: [1], data: new Float32Array([1]) }, b: { shape: [1], data: new Float32Array([2]) } });
    expect([...readSafetensors(bytes, { names: ['b'] }).tensors.keys()]).toEqual(['b']);
    expect(() => readSafetensors(bytes, { names: ['c'] })).toThrow(WeightsError);
  });
});

describe('hostile safetensors files are rejected with WeightsError before allocation', () => {
  const four = new Uint8Array(16);
  const ok = { x: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } };
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /at least 8 bytes/],
    ['only 5 bytes', new Uint8Array(5), /at least 8 bytes/],
    [
      'header longer than the file',
      (() => {
        const b = rawFile(ok, four);
        new DataView(b.buffer).setUint32(0, 10_000, true);
        return b;
      })(),
      /only \d+ bytes follow/,
    ],
    [
      'header over 100 MB',
      (() => {
        const b = new Uint8Array(64);
        new DataView(b.buffer).setUint32(0, MAX_HEADER_BYTES + 1, true);
        return b;
      })(),
      /at most 100000000/,
    ],
    [
      'header length with high word set',
      (() => {
        const b = new Uint8Array(64);
        new DataView(b.buffer).setUint32(4, 1, true);
        return b;
      })(),
      /at most/,
    ],
    ['invalid JSON', rawFile(null, four, '{"x": {'), /not valid JSON/],
    ['invalid UTF-8', rawFile(null, four, undefined).map((v, i) => (i === 9 ? 0xff : v)), /UTF-8|JSON/],
    ['header is an array', rawFile([1, 2], new Uint8Array(0)), /expected a JSON object/],
    ['unknown dtype', rawFile({ x: { dtype: 'Q4', shape: [4], data_offsets: [0, 16] } }, four), /dtype "Q4"/],
    ['shape/byte mismatch', rawFile({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, four), /needs 12 bytes/],
    ['negative dim', rawFile({ x: { dtype: 'F32', shape: [-4], data_offsets: [0, 16] } }, four), /non-negative/],
    ['offsets out of range', rawFile({ x: { dtype: 'F32', shape: [8], data_offsets: [0, 32] } }, four), /truncated/],
    ['begin > end', rawFile({ x: { dtype: 'F32', shape: [0], data_offsets: [16, 8] } }, four), /begin <= end/],
    [
      'overlapping ranges',
      rawFile({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, y: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, four),
      /overlap/,
    ],
    [
      'hole between ranges',
      rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [12, 16] } }, four),
      /contiguous/,
    ],
    ['trailing bytes', rawFile({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, four), /trailing/],
    [
      'duplicate names',
      rawFile(null, four, '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}'),
      /appears twice/,
    ],
    ['non-string metadata', rawFile({ __metadata__: { a: 1 }, ...ok }, four), /metadata/],
    ['missing data_offsets', rawFile({ x: { dtype: 'F32', shape: [4] } }, four), /data_offsets/],
    // A small file whose header nests thousands of levels deep (was a RangeError from the message's JSON.stringify).
    ['header nested 20000 levels deep', rawFile(null, four, `{"x":${'['.repeat(20000)}${']'.repeat(20000)}}`), /nests 20001 levels/],
    [
      'shape nested 5000 levels deep',
      rawFile(null, four, `{"x":{"dtype":"F32","shape":${'['.repeat(5000)}${']'.repeat(5000)}}}`),
      /at most 16/,
    ],
    ['metadata nested deep', rawFile(null, four, `{"__metadata__":{"a":${'{"b":'.repeat(3000)}1${'}'.repeat(3000)}}}`), /levels deep/],
  ];
  for (const [name, bytes, message] of cases) {
    it(name, () => {
      let error: unknown;
      try {
        readSafetensors(bytes);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WeightsError);
      expect((error as Error).message).toMatch(message);
    });
  }
});

describe('hostile values are echoed cut to a bounded length', () => {
  const four = new Uint8Array(16);
  const longName = 'n'.repeat(1_000_000);
  const cases: Array<[string, Uint8Array]> = [
    ['a 1 MB dtype', rawFile({ x: { dtype: 'Q'.repeat(1_000_000), shape: [4], data_offsets: [0, 16] } }, four)],
    ['a 1 MB tensor name with a bad dtype', rawFile({ [longName]: { dtype: 'Q4', shape: [4], data_offsets: [0, 16] } }, four)],
    ['a 200 000-entry shape', rawFile({ x: { dtype: 'F32', shape: new Array(200_000).fill(-1), data_offsets: [0, 16] } }, four)],
    ['a description that is a long list', rawFile({ x: new Array(100_000).fill('abc') }, four)],
    ['a duplicated 1 MB name', rawFile(null, four, `{"${longName}":1,"${longName}":2}`)],
  ];
  for (const [name, bytes] of cases) {
    it(name, () => {
      let error: unknown;
      try {
        readSafetensors(bytes, { source: 'hostile.safetensors' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(WeightsError);
      expect((error as Error).message.length).toBeLessThan(600);
      expect((error as Error).message).toContain('cut at 120 characters');
    });
  }
});

describe('fuzzing', () => {
  it('every one of 600 mutated files is read correctly or rejected with WeightsError', () => {
    const rng = new SeededRandom(1234);
    const base = writeSafetensors(
      {
        'w.a': { shape: [3, 4], data: rng.normalArray(12) },
        'w.b': { shape: [5], data: new Int32Array([1, 2, 3, 4, 5]) },
        'w.c': { shape: [2, 2], data: rng.normalArray(4), dtype: 'F16' },
      },
      { k: 'v' },
    );
    const headerLength = new DataView(base.buffer).getUint32(0, true);
    let rejected = 0;
    let accepted = 0;
    for (let trial = 0; trial < 600; trial++) {
      let bytes = base.slice();
      const kind = trial % 5;
      if (kind === 0) {
        // flip random bytes anywhere (header text included)
        for (let k = 0; k < 1 + rng.int(4); k++) bytes[rng.int(bytes.length)] = rng.int(256);
      } else if (kind === 1) {
        bytes = bytes.slice(0, rng.int(bytes.length)); // truncate
      } else if (kind === 2) {
        const extra = new Uint8Array(1 + rng.int(32)); // append garbage
        const out = new Uint8Array(bytes.length + extra.length);
        out.set(bytes);
        out.set(extra, bytes.length);
        bytes = out;
      } else if (kind === 3) {
        // mutate digits inside the header (shapes and offsets)
        const digits: number[] = [];
        for (let i = 8; i < 8 + headerLength; i++) if ((bytes[i] as number) >= 48 && (bytes[i] as number) <= 57) digits.push(i);
        bytes[digits[rng.int(digits.length)] as number] = 48 + rng.int(10);
      } else {
        // corrupt the length field
        new DataView(bytes.buffer).setUint32(0, rng.int(2 ** 32), true);
        if (rng.bernoulli(0.5)) new DataView(bytes.buffer).setUint32(4, rng.int(4), true);
      }
      try {
        const { tensors } = readSafetensors(bytes);
        for (const t of tensors.values()) expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
        accepted++;
      } catch (error) {
        expect(error).toBeInstanceOf(WeightsError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(300);
    expect(accepted + rejected).toBe(600);
  });
});

describe('interoperability with Python', () => {
  it('files we write are read by an independent Python reader of the format', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-st-'));
    const path = join(dir, 'x.safetensors');
    const a = new Float32Array([1.25, -2, 3.5, 1e-3, 7, 8]);
    writeFileSync(
      path,
      writeSafetensors(
        { 'layer.weight': { shape: [2, 3], data: a }, ids: { shape: [2], data: new BigInt64Array([49406n, 49407n]) } },
        { format: 'pt' },
      ),
    );
    const reader = `
import json, struct, sys
raw = open(sys.argv[1], 'rb').read()
(n,) = struct.unpack('<Q', raw[:8])
header = json.loads(raw[8:8 + n])
meta = header.pop('__metadata__', {})
out = {'meta': meta}
for name, info in sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0]):
    b, e = info['data_offsets']
    buf = raw[8 + n + b: 8 + n + e]
    code = {'F32': 'f', 'I64': 'q'}[info['dtype']]
    count = len(buf) // struct.calcsize(code)
    out[name] = {'shape': info['shape'], 'values': list(struct.unpack('<%d%s' % (count, code), buf))}
print(json.dumps(out))
`;
    const result = JSON.parse(execFileSync('python3', ['-c', reader, path], { encoding: 'utf8' }));
    expect(result.meta).toEqual({ format: 'pt' });
    expect(result['layer.weight'].shape).toEqual([2, 3]);
    expect(result['layer.weight'].values).toEqual(Array.from(a));
    expect(result.ids.values).toEqual([49406, 49407]);
  });
});
