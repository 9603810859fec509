/**
 * Contiguous shard `[start, end)` of `count` items for `rank` of `worldSize`, sizes differing by at most one
 * (the first `count % worldSize` ranks get one more). Used to split evaluation videos over ranks without
 * padding, so that gathering the shards in rank order restores the original order exactly.
 */
export function shardRange(count: number, rank: number, worldSize: number): { start: number; end: number } {
  const base = Math.floor(count / worldSize);
  const extra = count % worldSize;
  const start = rank * base + Math.min(rank, extra);
  return { start, end: start + base + (rank < extra ? 1 : 0) };
}
