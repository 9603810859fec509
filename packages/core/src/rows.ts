/**
 * Row-wise L2 normalisation of host data, the one definition shared by the concept spaces and the
 * evaluation (features, classifiers, prototypes).
 */
import { ShapeError } from './errors.js';

/** Options of {@link l2NormalizeRows}. */
export interface L2NormalizeOptions {
  /**
   * A row of norm 0 (or a non-finite norm): `'keep'` (default) returns it as it would be scaled by
   * `1 / max(‖x‖, ε)`, i.e. a zero row stays zero and NaN stays NaN (PyTorch `F.normalize`, which CLIP's
   * and DINO's evaluation use); `'error'` throws a {@link ShapeError} naming the row (concept spaces,
   * whose rows must be unit vectors).
   */
  readonly zeroRows?: 'keep' | 'error';
  /** What the rows are, for error messages (default `rows`). */
  readonly what?: string;
  /** The expected number of rows N, when known: another length is a {@link ShapeError}. */
  readonly rows?: number;
}

/**
 * A copy of `data` `[N, D]` (row-major, `D = dim`) with every row scaled to unit L2 norm, in float64
 * sums. Throws {@link ShapeError} when `data.length` is not a multiple of `dim`, and for a zero or
 * non-finite row with `zeroRows: 'error'`.
 *
 * @example
 * l2NormalizeRows(new Float32Array([3, 4, 0, 0]), 2); // [0.6, 0.8, 0, 0]
 */
export function l2NormalizeRows(data: Float32Array, dim: number, options: L2NormalizeOptions = {}): Float32Array {
  const what = options.what ?? 'rows';
  if (!Number.isInteger(dim) || dim < 1 || data.length % dim !== 0) {
    throw new ShapeError(
      `l2NormalizeRows: ${what} have ${data.length} values and dim ${dim}; expected a positive dim dividing the length ([N, D] row-major).`,
    );
  }
  if (options.rows !== undefined && data.length !== options.rows * dim) {
    throw new ShapeError(
      `l2NormalizeRows: ${what} have ${data.length} values; expected ${options.rows * dim} for [${options.rows}, ${dim}].`,
    );
  }
  const n = data.length / dim;
  const out = new Float32Array(data.length);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let d = 0; d < dim; d++) ss += (data[i * dim + d] as number) ** 2;
    const norm = Math.sqrt(ss);
    if (!(norm > 0 && Number.isFinite(norm)) && options.zeroRows === 'error') {
      throw new ShapeError(`l2NormalizeRows: ${what} row ${i} has norm ${norm}; expected a finite non-zero vector.`);
    }
    const inv = norm > 0 ? 1 / norm : 0; // F.normalize: x / max(‖x‖, ε) is 0 for a zero row
    for (let d = 0; d < dim; d++) out[i * dim + d] = (data[i * dim + d] as number) * inv;
  }
  return out;
}
