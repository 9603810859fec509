// One rank of the multi-process tests (started by process-group.test.ts): runs the scenario named in
// LSS_DIST_SCENARIO and prints one JSON line with what it saw.
import { DistributedError, ProcessGroup, rendezvousFromEnv } from '../src/index.js';

const scenario = process.env.LSS_DIST_SCENARIO ?? 'collectives';
const rdv = rendezvousFromEnv(process.env, process.env.LSS_DIST_URL);
if (!rdv) throw new Error('worker needs WORLD_SIZE > 1');
const pg = await ProcessGroup.init({ ...rdv, timeoutMs: Number(process.env.LSS_DIST_TIMEOUT_MS ?? 20_000), bucketBytes: 64 });
const r = pg.rank;
const out: Record<string, unknown> = { rank: r };

if (scenario === 'collectives') {
  // 10 float arrays of varied lengths (64-byte buckets: several arrays per bucket, and arrays alone),
  // then int32 and float64 ones.
  const floats = Array.from({ length: 10 }, (_, i) => Float32Array.from({ length: 3 + 5 * i }, (_, k) => (r + 1) * (k + i)));
  const ints = Int32Array.from([r, 10 * r, -r]);
  const doubles = Float64Array.from([0.5 * r, 1e-12 * (r + 1)]);
  await pg.allReduce([...floats, ints, doubles], 'sum');
  out.floats = floats.map((a) => Array.from(a));
  out.ints = Array.from(ints);
  out.doubles = Array.from(doubles);
  const m = Float32Array.from([r, 2 * r + 1]);
  await pg.allReduce([m], 'mean');
  out.mean = Array.from(m);
  const sync = Float64Array.from([r + 0.25]);
  pg.allReduceSync([sync], 'sum');
  out.sync = Array.from(sync);
  const mx = Float32Array.from([r, -r]);
  await pg.allReduce([mx], 'max');
  out.max = Array.from(mx);
  const b = Float32Array.from([r * 3 + 1, r]);
  await pg.broadcast(b, pg.worldSize - 1);
  out.broadcast = Array.from(b);
  out.gather = Array.from(await pg.allGather(Int32Array.from([r, r * r])));
  const parts = await pg.allGatherBytes(new TextEncoder().encode('x'.repeat(r + 1)));
  out.bytes = parts.map((b) => new TextDecoder().decode(b));
  await pg.barrier();
  out.processes = pg.processes;
} else if (scenario === 'die') {
  await pg.barrier();
  if (r === 1) process.exit(3);
  const started = Date.now();
  try {
    await pg.allReduce([new Float32Array(1000)], 'sum');
    out.error = null;
  } catch (e) {
    out.error =
      e instanceof DistributedError
        ? { name: e.name, rank: e.rank, collective: e.collective, message: e.message, deadRanks: e.deadRanks }
        : String(e);
  }
  out.seconds = (Date.now() - started) / 1000;
} else if (scenario === 'hang') {
  await pg.barrier();
  if (r === 1) {
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    process.exit(0);
  }
  const started = Date.now();
  try {
    await pg.allReduce([new Float32Array(10)], 'sum');
    out.error = null;
  } catch (e) {
    out.error =
      e instanceof DistributedError
        ? { name: e.name, rank: e.rank, collective: e.collective, message: e.message, deadRanks: e.deadRanks }
        : String(e);
  }
  out.seconds = (Date.now() - started) / 1000;
}
console.log(`RESULT ${JSON.stringify(out)}`);
pg.destroy();
process.exit(0);
