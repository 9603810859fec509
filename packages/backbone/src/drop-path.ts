/**
 * Stochastic depth ("drop path", Huang et al. 2016) as timm's `DropPath` and DINO's / TimeSformer's ViTs
 * use it: during training each residual branch of each block is dropped for a whole sample with
 * probability `p` and kept, scaled by `1 / (1 − p)`, otherwise (timm `drop_path`:
 * `x.div(keep_prob) * floor(keep_prob + rand)`), so its expectation is the undropped branch. The rate
 * rises linearly over depth, block `i` of `L` using `rate · i / (L − 1)` (timm / DINO / TimeSformer:
 * `torch.linspace(0, drop_path_rate, depth)`), so block 0 is never dropped.
 *
 * Unlike PyTorch's global generator, the masks are a pure function of a per-sample seed, the block and
 * the branch: the same sample in another micro-batch, chunk or recomputation (gradient checkpointing,
 * GradCache's second forward) gets the same mask, and a resumed run draws the same masks again.
 *
 * Granularity: one draw per sample (video) per branch, as timm's `DropPath` on `[B, N, D]` tokens.
 * TimeSformer's divided block (which SVT uses) applies its `DropPath` to `(b h w) t m` and `(b t) n m`
 * views, i.e. one draw per spatial position (temporal branch) and per frame (spatial branch), and drops
 * the temporal branch before `temporal_fc` (its bias survives); this module drops whole branches per
 * sample.
 */
import { ConfigError, hashString, SeededRandom, ShapeError } from '@lss/core';

/** Options of drop path for one forward pass (student, training only). */
export interface DropPathOptions {
  /**
   * The rate of the LAST block, in [0, 1) (timm / DINO `drop_path_rate`; SVT 0.1); block `i` of `L`
   * uses `rate · i / (L − 1)`. 0 turns drop path off.
   */
  readonly rate: number;
  /**
   * One integer seed per sample (row of the input batch, in order). A sample's masks depend on its seed,
   * the block and the branch only.
   */
  readonly seeds: readonly number[];
}

/** The residual branches of a block: TimeSformer's temporal attention, the spatial attention, the MLP. */
export type DropPathBranch = 'temporal' | 'spatial' | 'mlp';

/**
 * The per-block rates: `rate · i / (L − 1)` for `i = 0 .. L − 1` (`[0]` for one block), as
 * `torch.linspace(0, rate, L)`.
 */
export function dropPathRates(rate: number, layers: number): number[] {
  checkRate(rate);
  if (layers === 1) return [0];
  return Array.from({ length: layers }, (_, i) => (rate * i) / (layers - 1));
}

/**
 * The per-sample scale of one branch of one block: 0 (dropped, probability `p`) or `1 / (1 − p)` (kept).
 * Output: one number per seed. `p = 0` gives all ones.
 */
export function dropPathScales(seeds: readonly number[], p: number, block: number, branch: DropPathBranch): Float32Array {
  checkRate(p, 'drop path probability');
  const out = new Float32Array(seeds.length);
  if (p === 0) return out.fill(1);
  const keep = 1 / (1 - p);
  seeds.forEach((seed, i) => {
    // keep iff u >= p (timm: floor(keep_prob + u) with u ~ U[0, 1))
    out[i] = new SeededRandom(hashString(`drop-path/${block}/${branch}`, seed)).uniform() >= p ? keep : 0;
  });
  return out;
}

/** Checks the options against a batch of `batchSize` samples. Throws {@link ConfigError} / {@link ShapeError}. */
export function validateDropPath(options: DropPathOptions, batchSize: number): void {
  checkRate(options.rate);
  if (!Array.isArray(options.seeds) || options.seeds.length !== batchSize || !options.seeds.every(Number.isFinite)) {
    throw new ShapeError(
      `dropPath.seeds has ${Array.isArray(options.seeds) ? `${options.seeds.length} entries` : JSON.stringify(options.seeds)}; expected ${batchSize} finite integers, one per sample of the batch.`,
    );
  }
}

function checkRate(rate: number, what = 'dropPath.rate'): void {
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1)) {
    throw new ConfigError(`${what} is ${JSON.stringify(rate)}; expected a number in [0, 1) (SVT / DINO use 0.1; 0 turns drop path off).`);
  }
}
