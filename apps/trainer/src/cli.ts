/**
 * The `lss-train` command line: parse, load and validate the config, select the backend through
 * `@lss/core`, run. Everything else lives in testable modules (flax `main.py` style).
 */
import { parseArgs } from 'node:util';
import { BACKEND_NAMES, type BackendName, ConfigError, describeBackend, initBackend, LssError } from '@lss/core';
import { describeFfmpeg } from '@lss/data/node';
import { ProcessGroup, rendezvousFromEnv } from '@lss/distributed';
import { listShippedConfigs, loadConfig } from './config/load.js';
import { runTraining } from './run.js';

export const USAGE = `Usage: lss-train [--config NAME|PATH] [--set key=value ...] [options]

Trains LSS (language-based self-supervision) from a named config.

Options:
  --config, -c NAME|PATH  config name (${'shipped: see --list-configs'}) or a .yaml/.yml/.json file [default: lss-tiny-synthetic]
  --set, -s key=value     override one config key (repeatable), checked against the schema,
                          e.g. --set optimizer.baseLearningRate=5e-4 --set objectives.1.weight=0.5
  --backend NAME          tfjs backend: ${BACKEND_NAMES.join(', ')} (same as --set backend=NAME)
  --workdir DIR           where checkpoints, metrics and plots go (same as --set workdir=DIR)
  --max-steps N           stop after N optimizer steps (same as --set training.maxSteps=N)
  --no-resume             start from scratch even if workdir holds checkpoints
  --print-config          print the resolved config as JSON and exit
  --list-configs          list the shipped configs and exit
  --help, -h              this help

Data parallel (under torchrun --no_python --nproc_per_node N ... lss-train ...; see the README's
"Beyond one machine"): training.batchSize is per process, the global batch is batchSize x processes.
  --dist-url URL          tcp://host:port or file:///path instead of torchrun's MASTER_ADDR/MASTER_PORT
                          (with RANK and WORLD_SIZE set)
  --dist-timeout S        seconds a rank waits for the others before it stops with an error [default: 1800]

A run resumes from the newest checkpoint in <workdir>/checkpoints. Ctrl-C (SIGINT) or SIGTERM
finishes the current step, saves a checkpoint and exits; run the same command again to resume.`;

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const defaultIo: CliIo = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

/** Runs the CLI; returns the exit code (0 ok, 1 error, 2 usage, 3 stopped by non-finite losses). */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let args: ReturnType<typeof parse>;
  try {
    args = parse(argv);
  } catch (error) {
    io.err(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const v = args.values;
  if (v.help) {
    io.out(USAGE);
    return 0;
  }
  if (v['list-configs']) {
    io.out(listShippedConfigs().join('\n'));
    return 0;
  }
  try {
    checkFlags(v);
    const overrides = [...(v.set ?? [])];
    if (v.backend) overrides.push(`backend=${v.backend}`);
    if (v.workdir) overrides.push(`workdir=${v.workdir}`);
    if (v['max-steps']) overrides.push(`training.maxSteps=${v['max-steps']}`);
    const config = loadConfig(v.config ?? 'lss-tiny-synthetic', { overrides });
    if (v['print-config']) {
      io.out(JSON.stringify(config, null, 2));
      return 0;
    }
    io.err(`lss-train: ${describeBackend(await initBackend(config.backend as BackendName))}`);
    // Every data kind is decoded by ffmpeg (the synthetic one is also written by it): say which one (path, version, why).
    io.err(`lss-train: ${describeFfmpeg()}`);
    const group = await joinProcessGroup(v['dist-url'], v['dist-timeout']);
    let result: Awaited<ReturnType<typeof runTraining>>;
    try {
      result = await runTraining(config, { handleSignals: true, resume: !v['no-resume'], ...(group ? { group } : {}) });
    } finally {
      group?.destroy();
    }
    if (group && group.rank !== 0) return result.stoppedBy === 'non-finite' ? 3 : 0; // rank 0 reports
    io.out(
      JSON.stringify({
        stoppedBy: result.stoppedBy,
        step: result.step,
        totalSteps: result.totalSteps,
        checkpoint: result.lastCheckpoint,
        metrics: result.metricsPath,
        plot: result.plotPath,
        teacher: result.teacherPath,
        replacedClips: result.input.replacedClips,
        badVideos: result.input.badVideos.map((b) => ({ path: b.path, reason: b.reason })),
        substitutedFrames: result.input.substitutedFrames,
        damagedClips: result.input.damagedClips,
        damagedVideos: result.input.damagedVideos.map((d) => ({ path: d.path, reason: d.reason })),
      }),
    );
    return result.stoppedBy === 'non-finite' ? 3 : 0;
  } catch (error) {
    if (error instanceof LssError) {
      io.err(`${error.name}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** The shortcut flags are checked under their own names (not as the `--set` they become). */
function checkFlags(v: ReturnType<typeof parse>['values']): void {
  if (v.backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(v.backend)) {
    throw new ConfigError(`--backend: received ${JSON.stringify(v.backend)}; expected one of ${BACKEND_NAMES.join(', ')}.`);
  }
  const maxSteps = v['max-steps'];
  if (maxSteps !== undefined && !(/^\d+$/.test(maxSteps) && Number(maxSteps) >= 1)) {
    throw new ConfigError(`--max-steps: received ${JSON.stringify(maxSteps)}; expected a positive integer (optimizer steps).`);
  }
}

/** The process group when started by torchrun (or with --dist-url and RANK/WORLD_SIZE), else undefined. */
async function joinProcessGroup(distUrl: string | undefined, timeout: string | undefined): Promise<ProcessGroup | undefined> {
  const rendezvous = rendezvousFromEnv(process.env, distUrl);
  if (!rendezvous) return undefined;
  const seconds = timeout === undefined ? 1800 : Number(timeout);
  if (!(Number.isFinite(seconds) && seconds > 0)) {
    throw new ConfigError(`--dist-timeout: received ${JSON.stringify(timeout)}; expected a positive number of seconds.`);
  }
  return ProcessGroup.init({ ...rendezvous, timeoutMs: seconds * 1000 });
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: false,
    options: {
      config: { type: 'string', short: 'c' },
      set: { type: 'string', short: 's', multiple: true },
      backend: { type: 'string' },
      workdir: { type: 'string' },
      'max-steps': { type: 'string' },
      'no-resume': { type: 'boolean' },
      'dist-url': { type: 'string' },
      'dist-timeout': { type: 'string' },
      'print-config': { type: 'boolean' },
      'list-configs': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
