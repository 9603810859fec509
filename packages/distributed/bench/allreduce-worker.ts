// One rank of the all-reduce benchmark: times `allReduce(sum)` of N float32 gradients (default 86M floats,
// ViT-B/16's parameter count) in DDP-sized buckets and prints one JSON line from rank 0.
import { ProcessGroup, rendezvousFromEnv } from '../src/index.js';

const floats = Number(process.env.LSS_BENCH_FLOATS ?? 86_000_000);
const repeats = Number(process.env.LSS_BENCH_REPEATS ?? 3);
const rdv = rendezvousFromEnv();
if (!rdv) throw new Error('run under torchrun or with RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT');
const pg = await ProcessGroup.init({ ...rdv, timeoutMs: 600_000 });
// ~150 tensors like a ViT-B/16's parameters: a few large matrices and many small vectors.
const sizes: number[] = [];
let left = floats;
while (left > 0) {
  const n = Math.min(left, sizes.length % 4 === 0 ? 2_359_296 : 768);
  sizes.push(n);
  left -= n;
}
const grads = sizes.map((n) => new Float32Array(n).fill(pg.rank + 1));
await pg.barrier();
const times: number[] = [];
for (let i = 0; i < repeats; i++) {
  const t0 = performance.now();
  await pg.allReduce(grads, 'mean');
  times.push((performance.now() - t0) / 1000);
}
if (pg.rank === 0) console.log(`RESULT ${JSON.stringify({ engine: 'lss-js', floats, tensors: sizes.length, times })}`);
pg.destroy();
process.exit(0);
