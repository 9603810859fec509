/**
 * Batching of host-side views: stacks `[T, H, W, 3]` views into `[B, T, H, W, 3]` batches.
 */
import { ShapeError } from '@lss/core';
import type { HostVideo, VideoSample } from './types.js';

/** A batch as the trainer and evaluator receive it: host data only, no tensors. */
export interface VideoBatch {
  /** One entry per view position, each of shape `[B, T, H, W, 3]`. Training: global views first, then local. */
  readonly views: readonly HostVideo[];
  /** How many of `views` are global views (training); 0 for test views. */
  readonly numGlobalViews: number;
  /** Class index per sample, `[B]`. */
  readonly labels: Int32Array;
  /** The samples in batch order. */
  readonly samples: readonly VideoSample[];
}

/**
 * Stacks same-shape views along a new leading axis.
 *
 * Input shape: each `[T, H, W, 3]`. Output shape: `[B, T, H, W, 3]` with B = `views.length`.
 */
export function stackViews(views: readonly HostVideo[]): HostVideo {
  if (views.length === 0) throw new ShapeError('stackViews: received no views; expected at least one [T, H, W, 3] view.');
  const shape = views[0]!.shape;
  const size = views[0]!.data.length;
  for (const [i, v] of views.entries()) {
    if (v.shape.length !== shape.length || v.shape.some((d, k) => d !== shape[k])) {
      throw new ShapeError(
        `stackViews: view ${i} has shape [${v.shape.join(', ')}] but view 0 has [${shape.join(', ')}]; all views at one position must match.`,
      );
    }
  }
  const data = new Float32Array(size * views.length);
  views.forEach((v, i) => data.set(v.data, i * size));
  return { data, shape: [views.length, ...shape] }; // [B, T, H, W, 3]
}

/**
 * Collates per-sample view lists into a {@link VideoBatch}: `perSample[b][v]` becomes row b of `views[v]`.
 */
export function collateBatch(
  perSample: readonly (readonly HostVideo[])[],
  samples: readonly VideoSample[],
  numGlobalViews: number,
): VideoBatch {
  if (perSample.length !== samples.length || perSample.length === 0) {
    throw new ShapeError(
      `collateBatch: need one view list per sample (>= 1); received ${perSample.length} view lists for ${samples.length} samples.`,
    );
  }
  const numViews = perSample[0]!.length;
  for (const [b, list] of perSample.entries()) {
    if (list.length !== numViews) {
      throw new ShapeError(`collateBatch: sample ${b} has ${list.length} views but sample 0 has ${numViews}.`);
    }
  }
  const views: HostVideo[] = [];
  for (let v = 0; v < numViews; v++) views.push(stackViews(perSample.map((list) => list[v]!)));
  return { views, numGlobalViews, labels: Int32Array.from(samples.map((s) => s.label)), samples };
}
