/**
 * Multi-process tests of data-parallel code: a free loopback port, and `worldSize` processes started as
 * torchrun starts them (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT set).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** What one rank did. */
export interface RankResult {
  readonly rank: number;
  /** Its process id. */
  readonly pid: number;
  /** Exit code, or null when a signal ended it (`signal`). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Milliseconds from the start of the ranks to this one's exit. */
  readonly elapsedMs: number;
}

export interface SpawnRanksOptions {
  /** Extra environment of every rank (on top of this process's). */
  readonly env?: Record<string, string>;
  /** Extra environment of one rank. */
  readonly rankEnv?: (rank: number) => Record<string, string>;
  /** The command (default: this Node with `--conditions=@lss/source --import tsx`, then `args`). */
  readonly command?: string;
  /** Called with each started child (e.g. to kill one later). */
  readonly onSpawn?: (rank: number, child: ChildProcess) => void;
  /** Without torchrun's variables (a plain single process): for the 1-process reference of a comparison. */
  readonly plain?: boolean;
}

/**
 * Runs `args` (by default a TypeScript file and its arguments, through tsx) as `worldSize` ranks on loopback;
 * resolves when all have exited.
 */
export async function spawnRanks(args: readonly string[], worldSize: number, options: SpawnRanksOptions = {}): Promise<RankResult[]> {
  const port = await freePort();
  const started = Date.now();
  const command = options.command ?? process.execPath;
  const fullArgs = options.command ? [...args] : ['--conditions=@lss/source', '--import', 'tsx', ...args];
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) => {
      const torchrun = options.plain
        ? {}
        : {
            RANK: String(rank),
            LOCAL_RANK: String(rank),
            WORLD_SIZE: String(worldSize),
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
          };
      const child = spawn(command, fullArgs, {
        env: { ...process.env, ...torchrun, ...options.env, ...options.rankEnv?.(rank) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      options.onSpawn?.(rank, child);
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (d) => {
        stdout += d;
      });
      child.stderr?.on('data', (d) => {
        stderr += d;
      });
      return new Promise<RankResult>((resolve) =>
        child.on('close', (code, signal) =>
          resolve({ rank, pid: child.pid ?? -1, code, signal, stdout, stderr, elapsedMs: Date.now() - started }),
        ),
      );
    }),
  );
}

/** The JSON a rank printed on its `RESULT {...}` line (throws with the rank's output when there is none). */
export function resultOf(run: RankResult): Record<string, unknown> {
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`rank ${run.rank} printed no RESULT (exit ${run.code}, signal ${run.signal}):\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
}
