import { ConfigError } from '@lss/core';
import { describe, expect, it } from 'vitest';
import { parseInitMethod, rendezvousFromEnv } from './rendezvous.js';
import { DistributedSampler } from './sampler.js';
import { shardRange } from './shard.js';

describe('DistributedSampler (PyTorch semantics)', () => {
  it('gives every clip once per epoch across ranks, padding with the first indices of the permutation', () => {
    const n = 10;
    const world = 4;
    const samplers = Array.from(
      { length: world },
      (_, rank) => new DistributedSampler({ datasetSize: n, worldSize: world, rank, seed: 7 }),
    );
    expect(samplers[0]?.numSamples).toBe(3);
    expect(samplers[0]?.totalSize).toBe(12);
    const all = samplers.flatMap((s) => s.indices(0));
    expect(all).toHaveLength(12);
    expect(new Set(all)).toEqual(new Set(Array.from({ length: n }, (_, i) => i)));
    // positions 10 and 11 of the padded order repeat positions 0 and 1 (ranks 2 and 3 take them)
    const order = samplers[0]?.epochOrder(0) as number[];
    expect(samplers[2]?.indices(0)[2]).toBe(order[0]);
    expect(samplers[3]?.indices(0)[2]).toBe(order[1]);
  });

  it('is deterministic from seed and epoch and reshuffles per epoch', () => {
    const a = new DistributedSampler({ datasetSize: 50, worldSize: 2, rank: 1, seed: 3 });
    const b = new DistributedSampler({ datasetSize: 50, worldSize: 2, rank: 1, seed: 3 });
    expect(a.indices(4)).toEqual(b.indices(4));
    expect(a.indices(4)).not.toEqual(a.indices(5));
    expect(new DistributedSampler({ datasetSize: 50, worldSize: 2, rank: 1, seed: 4 }).indices(4)).not.toEqual(a.indices(4));
  });

  it('with one rank and no shuffle it is the identity; dropLast cuts the tail', () => {
    expect(new DistributedSampler({ datasetSize: 5, worldSize: 1, rank: 0, shuffle: false }).indices(0)).toEqual([0, 1, 2, 3, 4]);
    const cut = [0, 1].map((rank) =>
      new DistributedSampler({ datasetSize: 5, worldSize: 2, rank, shuffle: false, dropLast: true }).indices(0),
    );
    expect(cut).toEqual([
      [0, 2],
      [1, 3],
    ]);
  });

  it('rejects a rank outside the world', () => {
    expect(() => new DistributedSampler({ datasetSize: 5, worldSize: 2, rank: 2 })).toThrow(ConfigError);
  });
});

describe('rendezvous', () => {
  it('reads torchrun environment and treats WORLD_SIZE 1 as single-process', () => {
    expect(rendezvousFromEnv({})).toBeUndefined();
    expect(rendezvousFromEnv({ WORLD_SIZE: '1', RANK: '0' })).toBeUndefined();
    expect(rendezvousFromEnv({ WORLD_SIZE: '4', RANK: '2', LOCAL_RANK: '0', MASTER_ADDR: 'node7', MASTER_PORT: '29500' })).toEqual({
      rank: 2,
      worldSize: 4,
      localRank: 0,
      initMethod: 'tcp://node7:29500',
    });
    expect(rendezvousFromEnv({ WORLD_SIZE: '2', RANK: '1' }, 'file:///tmp/x')?.initMethod).toBe('file:///tmp/x');
  });

  it('names the missing or malformed variable', () => {
    expect(() => rendezvousFromEnv({ WORLD_SIZE: '2', RANK: '0', MASTER_ADDR: 'h' })).toThrow(/MASTER_PORT is not set/);
    expect(() => rendezvousFromEnv({ WORLD_SIZE: '2', RANK: 'x', MASTER_ADDR: 'h', MASTER_PORT: '1' })).toThrow(/RANK="x"/);
    expect(() => rendezvousFromEnv({ WORLD_SIZE: '2', RANK: '2', MASTER_ADDR: 'h', MASTER_PORT: '1' })).toThrow(/below WORLD_SIZE/);
    expect(() => parseInitMethod('udp://h:1')).toThrow(/expected env:\/\//);
    expect(parseInitMethod('tcp://[::1]:29500')).toEqual({ kind: 'tcp', host: '::1', port: 29500 });
  });
});

describe('shardRange', () => {
  it('splits contiguously, sizes differing by at most one, covering everything once', () => {
    const shards = [0, 1, 2].map((r) => shardRange(10, r, 3));
    expect(shards).toEqual([
      { start: 0, end: 4 },
      { start: 4, end: 7 },
      { start: 7, end: 10 },
    ]);
  });
});
