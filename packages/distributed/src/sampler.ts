/**
 * Which clips each rank reads in an epoch, with the semantics of PyTorch's `DistributedSampler`: one
 * permutation of the dataset per epoch, the same on every rank (seeded by `seed + epoch`), padded by
 * repeating its first indices up to a multiple of the world size (or cut, with `dropLast`), and rank r
 * takes positions r, r + worldSize, r + 2·worldSize, ... . Every clip is read once per epoch (plus at most
 * `worldSize - 1` padded repeats). The permutation uses LSS.js's seeded RNG, so the order differs from
 * torch's generator; the semantics are the same.
 */
import { ConfigError, SeededRandom } from '@lss/core';

export interface DistributedSamplerOptions {
  readonly datasetSize: number;
  readonly worldSize: number;
  readonly rank: number;
  readonly seed?: number;
  readonly shuffle?: boolean;
  /** Drop the tail that does not divide evenly instead of padding it (PyTorch's `drop_last`). */
  readonly dropLast?: boolean;
}

export class DistributedSampler {
  readonly datasetSize: number;
  readonly worldSize: number;
  readonly rank: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** Indices per rank and epoch. */
  readonly numSamples: number;
  /** numSamples × worldSize: the padded (or cut) epoch length. */
  readonly totalSize: number;

  constructor(options: DistributedSamplerOptions) {
    const { datasetSize, worldSize, rank } = options;
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new ConfigError(`worldSize must be an integer >= 1; received ${worldSize}.`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) {
      throw new ConfigError(`rank must be an integer in [0, ${worldSize}); received ${rank}.`);
    }
    if (!Number.isInteger(datasetSize) || datasetSize < 1)
      throw new ConfigError(`datasetSize must be an integer >= 1; received ${datasetSize}.`);
    this.datasetSize = datasetSize;
    this.worldSize = worldSize;
    this.rank = rank;
    this.seed = options.seed ?? 0;
    this.shuffle = options.shuffle ?? true;
    this.dropLast = options.dropLast ?? false;
    if (this.dropLast && datasetSize < worldSize) {
      throw new ConfigError(`dropLast with ${datasetSize} clips and ${worldSize} ranks leaves no clip for any rank.`);
    }
    this.numSamples = this.dropLast ? Math.floor(datasetSize / worldSize) : Math.ceil(datasetSize / worldSize);
    this.totalSize = this.numSamples * worldSize;
  }

  /** The epoch's permutation before padding and sharding, identical on every rank. */
  epochOrder(epoch: number): number[] {
    const order = Array.from({ length: this.datasetSize }, (_, i) => i);
    if (!this.shuffle) return order;
    const rng = new SeededRandom(`distributed-sampler:${this.seed}:${epoch}`);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    return order;
  }

  /** This rank's dataset indices for `epoch`, `numSamples` long. */
  indices(epoch: number): number[] {
    let order = this.epochOrder(epoch);
    if (this.dropLast) order = order.slice(0, this.totalSize);
    else while (order.length < this.totalSize) order = order.concat(order.slice(0, this.totalSize - order.length));
    const mine: number[] = [];
    for (let i = this.rank; i < this.totalSize; i += this.worldSize) mine.push(order[i] as number);
    return mine;
  }
}
