// One process of the data-parallel trainer tests (src/distributed.test.ts): trains a tiny config on in-memory
// synthetic clips (or the config's data) with runTraining, as rank RANK of WORLD_SIZE under torchrun's variables (or alone when they are
// unset), and prints one line `RESULT {...}`: every step's loss and terms, a digest of every tf variable (weights,
// teacher, AdamW slots, objective state) after every step, how the run ended (or the error it stopped with) and its
// input report (unreadable and damaged videos).
import { createHash } from 'node:crypto';
import { initBackend, LssError } from '@lss/core';
import { ProcessGroup, rendezvousFromEnv } from '@lss/distributed';
import * as tf from '@tensorflow/tfjs-core';
import { loadConfig } from '../src/config/load.js';
import { MemoryClipSource } from '../src/data.js';
import { runTraining } from '../src/run.js';

interface WorkerSpec {
  readonly config: string;
  readonly overrides: string[];
  readonly timeoutMs: number;
  /** This rank kills itself (SIGKILL) right after this step. */
  readonly killRank?: number;
  readonly killAfterStep?: number;
  /** Read the training clips as the config says (`data`) instead of the in-memory synthetic clips. */
  readonly dataFromConfig?: boolean;
}

const spec = JSON.parse(process.env.LSS_DIST_TRAIN ?? '') as WorkerSpec;
await initBackend('cpu');
const config = loadConfig(spec.config, { overrides: spec.overrides });
const rendezvous = rendezvousFromEnv();
const group = rendezvous ? await ProcessGroup.init({ ...rendezvous, timeoutMs: spec.timeoutMs }) : undefined;
const rank = group?.rank ?? 0;

/** sha256 over every registered variable (name, shape, bytes), in name order. */
function stateDigest(): string {
  const hash = createHash('sha256');
  const variables = Object.values(tf.engine().state.registeredVariables).sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const v of variables) {
    hash.update(`${v.name}[${v.shape.join(',')}]`);
    const data = v.dataSync() as Float32Array;
    hash.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

const steps: { step: number; loss: number | null; terms: Record<string, number> | null; digest: string }[] = [];
const out: Record<string, unknown> = { rank };
const started = Date.now();
try {
  const result = await runTraining(config, {
    ...(group ? { group } : {}),
    ...(spec.dataFromConfig ? {} : { source: new MemoryClipSource({ numClasses: 2, videosPerClass: 4, numFrames: 8, size: 32, seed: 0 }) }),
    log: (line) => process.stderr.write(`[rank ${rank}] ${line}\n`),
    exportTowers: false,
    printConfig: false,
    onStep: (step, r) => {
      steps.push({ step, loss: r?.loss ?? null, terms: r ? { ...r.terms } : null, digest: stateDigest() });
      if (rank === spec.killRank && step === spec.killAfterStep) process.kill(process.pid, 'SIGKILL');
    },
  });
  out.stoppedBy = result.stoppedBy;
  out.resumedFrom = result.resumedFrom;
  out.lastCheckpoint = result.lastCheckpoint;
  out.input = result.input;
} catch (error) {
  if (!(error instanceof LssError)) throw error;
  out.error = { name: error.name, message: error.message, seconds: (Date.now() - started) / 1000 };
  process.exitCode = 1;
} finally {
  group?.destroy();
}
out.steps = steps;
process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
