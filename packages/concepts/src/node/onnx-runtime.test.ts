import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BackendUnavailableError, WeightsError } from '@lss/core';
import { CLIP_TINY_DIR } from '@lss/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnxTextEncoder } from './onnx-encoder.js';
import { loadOnnxRuntime } from './onnx-runtime.js';

interface Manifest {
  name: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

/** Production dependency closure of a package (resolved through node_modules, as a consumer would get it). */
function closure(pkgJsonPath: string, seen = new Map<string, Manifest>()): Map<string, Manifest> {
  const m = JSON.parse(readFileSync(pkgJsonPath, 'utf8')) as Manifest;
  if (seen.has(m.name)) return seen;
  seen.set(m.name, m);
  for (const dep of Object.keys({ ...m.dependencies, ...m.optionalDependencies })) {
    // Node's lookup: node_modules/<dep> in this package's folder, then in each parent (symlinks resolved).
    let dir = dirname(realpathSync(pkgJsonPath));
    let found: string | undefined;
    while (!found) {
      const p = join(dir, 'node_modules', dep, 'package.json');
      if (existsSync(p)) found = p;
      else if (dirname(dir) === dir) break;
      else dir = dirname(dir);
    }
    if (found) closure(found, seen); // absent: a platform-specific optional package not installed here
  }
  return seen;
}

describe('onnxruntime-node is optional', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lss-ort-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('no package a plain install of @lss/concepts pulls runs an install script (onnxruntime-node downloads CUDA in one)', () => {
    const all = closure(join(dirname(new URL(import.meta.url).pathname), '..', '..', 'package.json'));
    // core-js (through @lss/core's tfjs today) only prints a banner in its postinstall: it works offline.
    const withScripts = [...all.values()]
      .filter((m) => m.name !== 'core-js' && (m.scripts?.install || m.scripts?.postinstall || m.scripts?.preinstall))
      .map((m) => m.name);
    expect(all.has('@huggingface/tokenizers')).toBe(true);
    expect(withScripts).toEqual([]);
    expect(all.has('onnxruntime-node')).toBe(false);
  });

  it('a missing onnxruntime-node is a BackendUnavailableError with the install command', async () => {
    const err = await loadOnnxRuntime(() => Promise.reject(new Error("Cannot find package 'onnxruntime-node'"))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendUnavailableError);
    expect((err as Error).message).toMatch(
      /needs the npm package onnxruntime-node.*ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node/,
    );
    await expect(loadOnnxRuntime()).resolves.toHaveProperty('InferenceSession'); // the failure is not cached
  });

  it('a corrupt onnx/text_model.onnx is a WeightsError naming the file', async () => {
    const dir = join(tmp, 'corrupt');
    cpSync(CLIP_TINY_DIR, dir, { recursive: true });
    const f = join(dir, 'onnx', 'text_model.onnx');
    writeFileSync(f, readFileSync(f).subarray(0, 1000));
    copyFileSync(join(CLIP_TINY_DIR, 'config.json'), join(dir, 'config.json'));
    const enc = await loadOnnxTextEncoder(dir);
    await expect(enc.encode(['archery'])).rejects.toThrow(WeightsError);
    await expect(enc.encode(['archery'])).rejects.toThrow(/text_model\.onnx could not be loaded by onnxruntime/);
  });
});
