/**
 * I/O faults in the trainer (issue 16 item 6), on real mounts: a read-only run folder and a disk that
 * fills up during the first checkpoint. Each must end in an OutputError naming the path and the real
 * cause, not a raw Node stack (and not "ENOENT" for a read-only file system).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutputError } from '@lss/core';
import { mountSupport, mountTmpfs, type TmpfsMount } from '@lss/testing';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config/load.js';
import { MemoryClipSource } from './data.js';
import { runTraining } from './run.js';
import { tinyRunOverrides } from './test-helpers.js';

const mounts: TmpfsMount[] = [];
afterEach(() => {
  tf.disposeVariables();
  for (const m of mounts.splice(0)) m.unmount();
});
const support = mountSupport();
const cacheDir = mkdtempSync(join(tmpdir(), 'lss-io-concepts-'));

function tinyConfig(workdir: string) {
  return loadConfig('lss-tiny-synthetic', {
    overrides: [...tinyRunOverrides(workdir, cacheDir), 'training.batchSize=2', 'training.maxSteps=1'],
  });
}

async function rejection(p: Promise<unknown>): Promise<OutputError> {
  try {
    await p;
  } catch (error) {
    expect(error).toBeInstanceOf(OutputError);
    return error as OutputError;
  }
  throw new Error('expected an OutputError; the run succeeded');
}

describe.skipIf(!support.ok)(`trainer I/O faults on real mounts${support.ok ? '' : ` (SKIPPED: ${support.why})`}`, () => {
  it('a read-only run folder: OutputError "read-only (EROFS)" naming the folder, before any work', async () => {
    const ro = mountTmpfs({ sizeKiB: 64, readOnly: true });
    mounts.push(ro);
    const workdir = join(ro.path, 'runs', 'tiny');
    const e = await rejection(runTraining(tinyConfig(workdir), { log: () => undefined }));
    expect(e.reason).toBe('EROFS');
    expect(e.message).toContain(`Cannot write the run folder ${workdir}: the file system is read-only (EROFS)`);
  });

  it('disk full (ENOSPC) during the checkpoint: OutputError naming the checkpoint file and the cause', async () => {
    const small = mountTmpfs({ sizeKiB: 512 }); // room for config.json and metrics, not for a 7 MB checkpoint
    mounts.push(small);
    const workdir = join(small.path, 'run');
    const source = new MemoryClipSource({ numClasses: 2, videosPerClass: 2, numFrames: 8, size: 32, seed: 0 });
    const e = await rejection(runTraining(tinyConfig(workdir), { source, log: () => undefined, exportTowers: false, printConfig: false }));
    expect(e.reason).toBe('ENOSPC');
    expect(e.message).toMatch(
      new RegExp(`Cannot write the safetensors file ${workdir}/checkpoints/[^ ]+\\.safetensors: the disk is full \\(ENOSPC\\)`),
    );
  }, 300_000);
});
