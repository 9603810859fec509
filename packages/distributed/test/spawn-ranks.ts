/** Starts `worldSize` ranks of a worker script as torchrun would (RANK, WORLD_SIZE, MASTER_* set). */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RankResult {
  readonly rank: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `script` (TypeScript, through tsx) as `worldSize` ranks on loopback; resolves when all exit. */
export async function spawnRanks(script: string, worldSize: number, env: Record<string, string> = {}): Promise<RankResult[]> {
  const port = await freePort();
  const runs = Array.from(
    { length: worldSize },
    (_, rank) =>
      new Promise<RankResult>((resolve) => {
        const child = spawn(process.execPath, ['--conditions=@lss/source', '--import', 'tsx', script], {
          env: {
            ...process.env,
            RANK: String(rank),
            LOCAL_RANK: String(rank),
            WORLD_SIZE: String(worldSize),
            MASTER_ADDR: '127.0.0.1',
            MASTER_PORT: String(port),
            ...env,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => {
          stdout += d;
        });
        child.stderr.on('data', (d) => {
          stderr += d;
        });
        child.on('close', (code) => resolve({ rank, code, stdout, stderr }));
      }),
  );
  return Promise.all(runs);
}

/** The JSON a worker printed on its `RESULT` line. */
export function resultOf(run: RankResult): Record<string, unknown> {
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`rank ${run.rank} printed no RESULT (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  return JSON.parse(line.slice('RESULT '.length)) as Record<string, unknown>;
}
