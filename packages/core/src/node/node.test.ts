import { mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixturePath } from '../../test/fixtures.js';
import { WeightsError } from '../errors.js';
import { readSafetensors } from '../safetensors.js';
import { readSafetensorsFile, readSafetensorsFileHeader, writeFileAtomic, writeSafetensorsFile } from './index.js';

describe('safetensors files', () => {
  it('streams the fixture model and matches the in-memory reader', () => {
    const path = fixturePath('clip-tiny', 'model.safetensors');
    const fromFile = readSafetensorsFile(path, { names: ['visual_projection.weight', 'logit_scale'] });
    const inMemory = readSafetensors(readFileSync(path));
    expect(fromFile.tensors.get('visual_projection.weight')?.shape).toEqual([32, 64]);
    expect(Array.from(fromFile.tensors.get('logit_scale')?.data ?? [])).toEqual(
      Array.from(inMemory.tensors.get('logit_scale')?.data ?? []),
    );
    expect(readSafetensorsFileHeader(path).entries.length).toBe(inMemory.tensors.size);
  });
  it('a file whose header nests thousands of levels deep is a WeightsError, not a RangeError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-node-'));
    const path = join(dir, 'deep.safetensors');
    const text = new TextEncoder().encode(`{"x":${'['.repeat(50000)}${']'.repeat(50000)}}`);
    const bytes = new Uint8Array(8 + text.length);
    new DataView(bytes.buffer).setUint32(0, text.length, true);
    bytes.set(text, 8);
    writeFileSync(path, bytes);
    for (const read of [() => readSafetensorsFile(path), () => readSafetensorsFileHeader(path)]) {
      expect(read).toThrow(WeightsError);
      expect(read).toThrow(/deep\.safetensors: the header JSON nests 50001 levels deep/);
    }
  });
  it('writes atomically, leaving no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-node-'));
    const path = join(dir, 'w.safetensors');
    writeSafetensorsFile(path, { a: { shape: [2], data: new Float32Array([1, 2]) } }, { step: '3' });
    writeFileAtomic(join(dir, 'x.json'), '{"a":1}');
    expect(readdirSync(dir).sort()).toEqual(['w.safetensors', 'x.json']);
    const back = readSafetensorsFile(path);
    expect(back.metadata).toEqual({ step: '3' });
    expect(Array.from(back.tensors.get('a')?.data ?? [])).toEqual([1, 2]);
  });
  it('writeFileAtomic: a unique temporary name per call, removed when the write fails', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-atomic-'));
    // A stale temporary file of the old fixed name (<path>.tmp-<pid>) must not be reused or clobbered.
    writeFileSync(join(dir, `x.json.tmp-${process.pid}`), 'another writer');
    writeFileAtomic(join(dir, 'x.json'), 'one');
    writeFileAtomic(join(dir, 'x.json'), 'two');
    expect(readFileSync(join(dir, 'x.json'), 'utf8')).toBe('two');
    expect(readFileSync(join(dir, `x.json.tmp-${process.pid}`), 'utf8')).toBe('another writer');
    // The rename fails (the target is a non-empty folder): the error surfaces and no temporary file is left.
    mkdirSync(join(dir, 'busy'));
    writeFileSync(join(dir, 'busy', 'inside'), '');
    expect(() => writeFileAtomic(join(dir, 'busy'), 'x')).toThrow();
    expect(readdirSync(dir).filter((f) => f.startsWith('busy.tmp'))).toEqual([]);
  });

  it('rejects a truncated file and a missing file with WeightsError', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-node-'));
    const path = join(dir, 't.safetensors');
    writeSafetensorsFile(path, { a: { shape: [64], data: new Float32Array(64) } });
    truncateSync(path, 100);
    expect(() => readSafetensorsFile(path)).toThrow(/truncated/);
    expect(() => readSafetensorsFile(join(dir, 'nope.safetensors'))).toThrow(WeightsError);
    writeFileSync(join(dir, 'zero.safetensors'), '');
    expect(() => readSafetensorsFile(join(dir, 'zero.safetensors'))).toThrow(/at least 8 bytes/);
  });
});
