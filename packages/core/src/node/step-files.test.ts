import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listStepFiles, newestStepFile, removeStaleTemporaryFiles } from './step-files.js';

describe('step checkpoint files (one discovery for the trainer and the evaluation)', () => {
  it('lists complete step files in numeric step order; the newest is the highest step', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-steps-'));
    for (const name of ['step-9', 'step-10', 'step-00000002']) {
      writeFileSync(join(dir, `${name}.safetensors`), 'x');
      writeFileSync(join(dir, `${name}.json`), '{}');
    }
    writeFileSync(join(dir, 'step-11.safetensors'), 'no sidecar yet');
    writeFileSync(join(dir, 'step-12.safetensors.tmp-1-abc'), 'temporary');
    expect(listStepFiles(dir).map((f) => f.step)).toEqual([2, 9, 10]); // not 10 < 9 as strings sort
    expect(newestStepFile(dir)).toEqual({ step: 10, path: join(dir, 'step-10.safetensors'), sidecar: join(dir, 'step-10.json') });
    expect(newestStepFile(join(dir, 'missing'))).toBeNull();
  });

  it('removes temporary files of writers that are gone, keeps those of live ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lss-steps-'));
    const gone = spawnSync(process.execPath, ['-e', '0']).pid; // exited
    const names = [`a.json.tmp-${gone}-0123456789ab`, `b.safetensors.tmp-${gone}`, `c.json.tmp-${process.pid}-0123456789ab`, 'step-1.json'];
    for (const n of names) writeFileSync(join(dir, n), 'x');
    expect(removeStaleTemporaryFiles(dir).sort()).toEqual(names.slice(0, 2).sort());
    expect(names.map((n) => existsSync(join(dir, n)))).toEqual([false, false, true, true]);
  });
});
