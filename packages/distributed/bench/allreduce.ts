// All-reduce bandwidth: LSS.js's c10d binding vs torch.distributed, both Gloo over loopback, the same
// gradient list (86M floats by default), interleaved rounds. Usage:
//   pnpm --filter @lss/distributed bench [-- --ranks 2 --rounds 3 --floats 86000000]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '@lss/testing';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    ranks: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    floats: { type: 'string', default: '86000000' },
  },
});
const ranks = Number(values.ranks);
const rounds = Number(values.rounds);
const here = import.meta.dirname;

async function runEngine(engine: 'lss-js' | 'pytorch'): Promise<number[]> {
  const port = await freePort();
  const children = Array.from({ length: ranks }, (_, rank) => {
    const env = {
      ...process.env,
      RANK: `${rank}`,
      LOCAL_RANK: `${rank}`,
      WORLD_SIZE: `${ranks}`,
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: `${port}`,
      LSS_BENCH_FLOATS: values.floats,
      LSS_BENCH_REPEATS: '1',
      OMP_NUM_THREADS: '1',
    };
    const [cmd, args] =
      engine === 'lss-js'
        ? [process.execPath, ['--conditions=@lss/source', '--import', 'tsx', join(here, 'allreduce-worker.ts')]]
        : ['/usr/bin/python3', [join(here, 'allreduce_torch.py')]];
    const child = spawn(cmd, args as string[], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    return new Promise<string>((resolve) => child.on('close', () => resolve(out)));
  });
  const outs = await Promise.all(children);
  const line = outs[0]?.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${engine}: rank 0 printed no result`);
  return (JSON.parse(line.slice(7)) as { times: number[] }).times;
}

const times: Record<string, number[]> = { 'lss-js': [], pytorch: [] };
for (let round = 0; round < rounds; round++) {
  for (const engine of ['lss-js', 'pytorch'] as const) {
    const t = await runEngine(engine);
    times[engine]?.push(...t);
    console.log(`round ${round + 1} ${engine}: ${t.map((s) => s.toFixed(3)).join(', ')} s`);
  }
}
const bytes = Number(values.floats) * 4;
const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0] as number, median: s[Math.floor(s.length / 2)] as number };
};
console.log(`\nall-reduce (mean) of ${values.floats} float32 over ${ranks} ranks, Gloo on loopback, ${rounds} rounds`);
console.log('engine   | min s  | median s | algbw at min (GB/s)');
for (const engine of ['lss-js', 'pytorch']) {
  const { min, median } = stat(times[engine] ?? []);
  console.log(`${engine.padEnd(8)} | ${min.toFixed(3)} | ${median.toFixed(3)}    | ${(bytes / min / 1e9).toFixed(2)}`);
}
const a = stat(times['lss-js'] ?? []);
const b = stat(times.pytorch ?? []);
console.log(`lss-js / pytorch time: min ${(a.min / b.min).toFixed(2)}x, median ${(a.median / b.median).toFixed(2)}x`);
