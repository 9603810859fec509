/**
 * Export of frozen features for outside tools: `train_features.npy` [N, D] float32,
 * `train_labels.npy` [N] int32, the same for `test_`, and `meta.json` (class names, preprocessing,
 * chosen C). Load in Python with:
 *
 *     import numpy as np
 *     X = np.load('train_features.npy'); y = np.load('train_labels.npy')
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '@lss/core/node';
import type { FeatureSet } from './features-math.js';
import { writeNpy } from './npy.js';

export interface ExportedFeaturesMeta {
  readonly classNames?: readonly string[];
  /** What was done to the features before export, e.g. 'l2-normalised rows'. */
  readonly preprocessing: string;
  readonly [key: string]: unknown;
}

/** Writes train/test features and labels as .npy plus meta.json into `dir` (created if needed). */
export function exportFeatures(dir: string, train: FeatureSet, test: FeatureSet, meta: ExportedFeaturesMeta): string[] {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (const [name, set] of [
    ['train', train],
    ['test', test],
  ] as const) {
    const f = join(dir, `${name}_features.npy`);
    writeNpy(f, { data: set.data, shape: [set.numSamples, set.dim] });
    const l = join(dir, `${name}_labels.npy`);
    writeNpy(l, { data: set.labels, shape: [set.numSamples] });
    files.push(f, l);
  }
  const m = join(dir, 'meta.json');
  writeFileAtomic(m, `${JSON.stringify(meta, null, 2)}\n`);
  files.push(m);
  return files;
}
