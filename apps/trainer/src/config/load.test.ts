import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { applyOverride, configFromData, estimateStepInputBytes, loadConfig, readConfigFile } from './load.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'lss-config-'));

describe('shipped configs', () => {
  it('lss-b16-k400 is the paper-scale recipe of SPEC.md section 4', () => {
    const c = loadConfig('lss-b16-k400');
    expect(c.views).toMatchObject({ numGlobal: 2, numLocal: 8, numFrames: 8, globalSize: 224, localSize: 96 });
    expect(c.optimizer).toMatchObject({
      weightDecay: 0.04,
      weightDecayEnd: 0.4,
      clipGradNorm: 3,
      clipMode: 'per-parameter', // SVT: DINO's clip_gradients, per parameter tensor
      baseLearningRate: 5e-4, // SVT's lr for a batch of 256, scaled by the global batch 2 x 32
      referenceBatchSize: 256,
      warmupEpochs: 10,
    });
    expect(c.training.memoryPlan).toBe('auto'); // the backend picks the memory plan; the config names no workaround
    expect(c.teacher).toEqual({ momentum: 0.996, momentumEnd: 1 });
    expect(c.model).toEqual({ clip: expect.any(String), preset: 'vit-b16', numFrames: 8, dropPathRate: 0.1 });
    expect(c.data.kind).toBe('kinetics400');
    expect(c.objectives.map((o) => o.name)).toEqual(['concept-distillation', 'concept-alignment', 'uniform-prior']);
  });

  it('lss-tiny-synthetic extends it, replaces the data block (different kind) and resolves paths against its file', () => {
    const c = loadConfig('lss-tiny-synthetic');
    expect(c.data.kind).toBe('synthetic');
    expect(c.data).not.toHaveProperty('annotations');
    expect(c.model.clip).toMatch(/fixtures\/clip-tiny$/);
    expect(c.views).toMatchObject({ numGlobal: 2, numLocal: 2, globalSize: 32, localSize: 16 });
    expect(c.optimizer.weightDecayEnd).toBe(0.4); // inherited
  });

  it('svt-b16-k400: the DINO baseline as SVT runs it (class-token head, drop path 0.1, tau_t 0.04, last layer frozen in epoch 1)', () => {
    const c = loadConfig('svt-b16-k400');
    expect(c.model.dropPathRate).toBe(0.1);
    expect(c.objectives).toEqual([
      expect.objectContaining({
        name: 'dino',
        headInput: 'class-token',
        outDim: 65536,
        teacherTemperature: 0.04,
        studentTemperature: 0.1,
        freezeLastLayerEpochs: 1,
      }),
    ]);
    expect(c.optimizer).toMatchObject({ baseLearningRate: 5e-4, clipMode: 'per-parameter', warmupEpochs: 10 }); // SVT's recipe, inherited
    // the schema's defaults are SVT's too
    const bare = configFromData({ data: { kind: 'synthetic', root: '/d' }, objectives: [{ name: 'dino' }] });
    expect(bare.model.dropPathRate).toBe(0.1);
    expect(bare.objectives[0]).toMatchObject({ headInput: 'class-token', teacherTemperature: 0.04 });
    expect(() => configFromData({ data: { kind: 'synthetic', root: '/d' } }, { overrides: ['model.dropPathRate=1'] })).toThrow(
      /dropPathRate/,
    );
  });

  it('--set reaches into a discriminated union whose tag is an enum (data.kind kinetics400: the README paper-scale command)', () => {
    const c = loadConfig('lss-b16-k400', { overrides: ['data.root=/data/k400', 'model.clip=/models/clip-vit-base-patch16'] });
    expect(c.data.kind).toBe('kinetics400');
    expect((c.data as { root?: string }).root).toBe('/data/k400');
    expect(c.model.clip).toBe('/models/clip-vit-base-patch16');
  });
});

describe('extends', () => {
  it('merges parents deeply, child wins, lists are replaced, cycles are reported', () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'base.json'),
      JSON.stringify({ seed: 1, optimizer: { baseLearningRate: 0.1, beta1: 0.8 }, data: { kind: 'synthetic', root: 'd' } }),
    );
    writeFileSync(join(dir, 'child.yaml'), 'extends: ./base.json\noptimizer:\n  baseLearningRate: 0.2\n');
    const c = loadConfig(join(dir, 'child.yaml'));
    expect(c.seed).toBe(1);
    expect(c.optimizer.baseLearningRate).toBe(0.2);
    expect(c.optimizer.beta1).toBe(0.8);
    expect(c.data.root).toBe(join(dir, 'd')); // relative to the file that set it
    writeFileSync(join(dir, 'a.yaml'), 'extends: ./b.yaml\n');
    writeFileSync(join(dir, 'b.yaml'), 'extends: ./a.yaml\n');
    expect(() => readConfigFile(join(dir, 'a.yaml'))).toThrow(/cycle/);
    expect(() => loadConfig(join(dir, 'missing'))).toThrow(/not found.*lss-tiny-synthetic/s);
  });
});

describe('--set overrides', () => {
  const base = { data: { kind: 'synthetic', root: '/d' } };

  it('parses values by the schema type at the key', () => {
    const c = configFromData(base, {
      overrides: [
        'optimizer.baseLearningRate=5e-4',
        'training.memoryPlan=low-memory',
        'model.clip=null',
        'backend=cpu',
        'views.blur=[0.5, 0.5, 0.5]',
        'optimizer.clipGradNorm=null',
        'objectives.1.weight=0.25',
        'name=123',
      ],
    });
    expect(c.optimizer.baseLearningRate).toBe(5e-4);
    expect(c.training.memoryPlan).toBe('low-memory');
    expect(c.model.clip).toBeNull();
    expect(c.backend).toBe('cpu');
    expect(c.views.blur).toEqual([0.5, 0.5, 0.5]);
    expect(c.optimizer.clipGradNorm).toBeNull();
    expect(c.name).toBe('123'); // a string key stays a string
  });

  it('sets fields of an objective picked by its name, and replaces the whole list as JSON', () => {
    const withList = {
      ...base,
      objectives: [
        { name: 'concept-distillation', weight: 1 },
        { name: 'uniform-prior', weight: 1 },
      ],
    };
    const c = configFromData(withList, { overrides: ['objectives.1.weight=0.25', 'objectives.0.centering=true'] });
    expect(c.objectives[1]?.weight).toBe(0.25);
    expect(c.objectives[0]).toMatchObject({ name: 'concept-distillation', centering: true });
    expect(() => configFromData(withList, { overrides: ['objectives.1.centering=true'] })).toThrow(/valid keys.*studentTemperature/);
    const d = configFromData(base, { overrides: ['objectives=[{"name": "dino", "weight": 0.5, "outDim": 64}]'] });
    expect(d.objectives).toHaveLength(1);
    expect(d.objectives[0]).toMatchObject({ name: 'dino', outDim: 64 });
  });

  it('rejects unknown keys with the list of valid ones', () => {
    expect(() => configFromData(base, { overrides: ['optimizer.lr=1'] })).toThrow(
      /Unknown config key "optimizer.lr".*valid keys under optimizer: baseLearningRate, referenceBatchSize, minLearningRate/,
    );
    expect(() => configFromData(base, { overrides: ['bogus=1'] })).toThrow(/valid keys: name, seed, backend/);
    expect(() => applyOverride({}, 'noequals')).toThrow(/key=value/);
  });

  it('rejects bad values with what was received and what was expected', () => {
    expect(() => configFromData(base, { overrides: ['optimizer.baseLearningRate=fast'] })).toThrow(/expected a number; received "fast"/);
    expect(() => configFromData(base, { overrides: ['concepts.descriptions=maybe'] })).toThrow(/expected true or false/);
    expect(() => configFromData(base, { overrides: ['backend=cuda'] })).toThrow(/one of wasm, cpu, torch, auto, tensorflow, webgpu/);
    expect(() => configFromData(base, { overrides: ['optimizer.baseLearningRate=-1'] })).toThrow(/optimizer.baseLearningRate/);
    expect(() => configFromData(base, { overrides: ['optimizer.clipMode=norm'] })).toThrow(/per-parameter/);
    expect(() => configFromData(base, { overrides: ['objectives.5.weight=1'] })).toThrow(/not a valid index/);
  });

  it('rejects prototype-reaching keys by name (ConfigError, Object.prototype untouched)', () => {
    const cases: [string, string][] = [
      ['__proto__.x=1', '__proto__'],
      ['constructor.prototype.x=1', 'constructor'],
      ['optimizer.__proto__.polluted=1', '__proto__'],
      ['optimizer.constructor=1', 'constructor'],
      ['views.prototype=1', 'prototype'],
      ['objectives=[{"name": "uniform-prior", "__proto__": {"polluted": 1}}]', '__proto__'],
    ];
    for (const [assignment, name] of cases) {
      let error: unknown;
      try {
        configFromData(base, { overrides: [assignment] });
      } catch (e) {
        error = e;
      }
      expect(error, assignment).toBeInstanceOf(ConfigError);
      expect((error as Error).message, assignment).toContain(`"${name}" is not allowed`);
    }
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('echoes hostile --set values and keys cut to a bounded length', () => {
    const long = 'x'.repeat(1_000_000);
    for (const assignment of [`optimizer.baseLearningRate=${long}`, `${long}=1`, long]) {
      let message = '';
      try {
        configFromData(base, { overrides: [assignment] });
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain('cut at 120 characters');
      expect(message.length).toBeLessThan(600);
    }
  });

  it('bounds values that size allocations, naming the key (was a raw RangeError)', () => {
    expect(() => configFromData(base, { overrides: ['views.globalSize=100000'] })).toThrow(ConfigError);
    expect(() => configFromData(base, { overrides: ['views.globalSize=100000'] })).toThrow(
      /views\.globalSize: Too big: expected number to be <=1024/,
    );
    expect(() => configFromData(base, { overrides: ['views.numFrames=100000'] })).toThrow(/views\.numFrames/);
    expect(() => configFromData(base, { overrides: ['training.batchSize=1000000'] })).toThrow(/training\.batchSize/);
    expect(() => configFromData(base, { overrides: ['data.videosPerClass=100000000'] })).toThrow(/data\.videosPerClass/);
    expect(() => configFromData(base, { overrides: ['objectives=[{"name": "dino", "outDim": 1000000000}]'] })).toThrow(
      /objectives\.0\.outDim/,
    );
  });

  it('estimates the input memory of a step before allocating and names the fields when it cannot fit', () => {
    const huge = ['views.globalSize=1024', 'views.localSize=1024', 'views.numLocal=64', 'views.numFrames=256', 'training.batchSize=4096'];
    const c = () => configFromData(base, { overrides: huge });
    expect(c).toThrow(ConfigError);
    expect(c).toThrow(
      /input views of one training step need [\d.]+ GiB .*training\.batchSize 4096 × views\.numFrames 256 .*views\.globalSize 1024².*Lower training\.batchSize/,
    );
    expect(estimateStepInputBytes(configFromData(base))).toBe(2 * 32 * 8 * 3 * 4 * (2 * 224 * 224 + 8 * 96 * 96));
  });

  it('rejects prototype-reaching keys in config files', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'evil.json'), '{"data": {"kind": "synthetic", "root": "d"}, "__proto__": {"polluted": 1}}');
    expect(() => loadConfig(join(dir, 'evil.json'))).toThrow(ConfigError);
    expect(() => loadConfig(join(dir, 'evil.json'))).toThrow(/"__proto__" is not allowed/);
    writeFileSync(join(dir, 'evil.yaml'), 'optimizer:\n  constructor:\n    prototype: 1\n');
    expect(() => loadConfig(join(dir, 'evil.yaml'))).toThrow(/"constructor" is not allowed/);
  });
});

describe('validation of files', () => {
  it('lists unknown keys at any depth with the valid keys there, and unknown objective names', () => {
    expect(() => configFromData({ data: { kind: 'synthetic', root: '/d' }, optimizer: { lr: 1 } })).toThrow(
      /unknown key "lr" at optimizer; valid keys: baseLearningRate/,
    );
    expect(() => configFromData({ data: { kind: 'synthetic', root: '/d' }, objectives: [{ name: 'concept-distilation' }] })).toThrow(
      /objectives.0.name: unknown value; expected one of "concept-distillation", "concept-alignment", "uniform-prior", "dino", "module"/,
    );
    expect(() => configFromData({ data: { kind: 'synthetic', root: '/d' }, objectives: [{ name: 'dino', tau: 1 }] })).toThrow(
      /unknown key "tau" at objectives.0; valid keys: name, weight, headInput, outDim/,
    );
    expect(() => configFromData({})).toThrow(/data/);
  });
});
