/**
 * Evaluation datasets: which videos are trained on (probes) and tested on, per split, through
 * `@lss/data`'s readers. UCF-101 and HMDB-51 have three official splits (evaluated one by one and
 * summarised as mean ± std); Kinetics-400 is evaluated on its validation set (training set for the
 * probes); folder-per-class and list-file datasets have one split ("all") with a train and a test part.
 */

import { ConfigError, DataError } from '@lss/core';
import type { VideoDataset } from '@lss/data';
import { formatMissingSummary } from '@lss/data';
import { readFolderPerClass, readHmdb51, readKinetics400, readListFile, readUcf101, type SplitNumber } from '@lss/data/node';

export type DatasetSpec =
  | { readonly kind: 'ucf101'; readonly videosDir: string; readonly annotationsDir: string; readonly splits?: readonly SplitNumber[] }
  | { readonly kind: 'hmdb51'; readonly videosDir: string; readonly splitsDir: string; readonly splits?: readonly SplitNumber[] }
  | {
      readonly kind: 'kinetics400';
      readonly videosDir: string;
      readonly valCsv: string;
      readonly trainCsv?: string;
      readonly classNames?: readonly string[];
    }
  | { readonly kind: 'folder'; readonly testRoot: string; readonly trainRoot?: string }
  | {
      readonly kind: 'list';
      readonly testList: string;
      readonly trainList?: string;
      readonly root?: string;
      readonly classNames?: readonly string[];
    };

/** One evaluation split: the test part and, when the protocol needs it, the train part. */
export interface EvalSplit {
  /** '1', '2', '3' (official splits), 'val' (Kinetics-400) or 'all'. */
  readonly name: string;
  readonly train: VideoDataset | null;
  readonly test: VideoDataset;
}

export interface ResolvedDataset {
  /** For reports: 'ucf101', 'hmdb51', 'kinetics400', 'folder', 'list' (or the synthetic generator's 'ucf101' layout). */
  readonly name: string;
  /** Where it was read from (for reports). */
  readonly root: string;
  readonly classNames: readonly string[];
  readonly splits: readonly EvalSplit[];
  /** One paragraph per part with listed-but-missing videos (empty when none). */
  readonly warnings: readonly string[];
}

const ALL_SPLITS: readonly SplitNumber[] = [1, 2, 3];

/**
 * Reads the parts of `spec` that the protocol needs (`needTrain`: probes and k-NN). Datasets whose
 * test part is empty are an error that names the folder to check.
 */
export function resolveDataset(spec: DatasetSpec, needTrain: boolean): ResolvedDataset {
  const warnings: string[] = [];
  const keep = (d: VideoDataset): VideoDataset => {
    const w = formatMissingSummary(d);
    if (w) warnings.push(w);
    return d;
  };
  let splits: EvalSplit[];
  let root: string;
  switch (spec.kind) {
    case 'ucf101':
    case 'hmdb51': {
      const wanted = spec.splits ?? ALL_SPLITS;
      for (const s of wanted)
        if (![1, 2, 3].includes(s)) throw new ConfigError(`Split ${s} does not exist; ${spec.kind} has splits 1, 2, 3.`);
      const read = (split: SplitNumber, subset: 'train' | 'test') =>
        keep(
          spec.kind === 'ucf101'
            ? readUcf101({ videosDir: spec.videosDir, annotationsDir: spec.annotationsDir, split, subset })
            : readHmdb51({ videosDir: spec.videosDir, splitsDir: spec.splitsDir, split, subset }),
        );
      splits = wanted.map((s) => ({ name: String(s), train: needTrain ? read(s, 'train') : null, test: read(s, 'test') }));
      root = spec.videosDir;
      break;
    }
    case 'kinetics400': {
      if (needTrain && !spec.trainCsv)
        throw new ConfigError('Kinetics-400 probes need the training CSV: pass --train-csv (train.csv of the annotations).');
      const read = (csvPath: string) =>
        keep(readKinetics400({ csvPath, videosDir: spec.videosDir, ...(spec.classNames ? { classNames: spec.classNames } : {}) }));
      const test = read(spec.valCsv);
      // The train CSV may list its labels in another order only if a class is absent: force the val order.
      const train =
        needTrain && spec.trainCsv
          ? keep(readKinetics400({ csvPath: spec.trainCsv, videosDir: spec.videosDir, classNames: test.classNames }))
          : null;
      splits = [{ name: 'val', train, test }];
      root = spec.videosDir;
      break;
    }
    case 'folder': {
      const test = keep(readFolderPerClass({ root: spec.testRoot }));
      if (needTrain && !spec.trainRoot)
        throw new ConfigError('This protocol needs training videos: pass --train-root (a folder-per-class tree).');
      const train = needTrain && spec.trainRoot ? keep(readFolderPerClass({ root: spec.trainRoot, classNames: test.classNames })) : null;
      splits = [{ name: 'all', train, test }];
      root = spec.testRoot;
      break;
    }
    case 'list': {
      const test = keep(
        readListFile({
          listPath: spec.testList,
          ...(spec.root ? { root: spec.root } : {}),
          ...(spec.classNames ? { classNames: spec.classNames } : {}),
        }),
      );
      if (needTrain && !spec.trainList)
        throw new ConfigError('This protocol needs training videos: pass --train-list (a `path label` list file).');
      const train =
        needTrain && spec.trainList
          ? keep(readListFile({ listPath: spec.trainList, classNames: test.classNames, ...(spec.root ? { root: spec.root } : {}) }))
          : null;
      splits = [{ name: 'all', train, test }];
      root = spec.testList;
      break;
    }
  }
  const first = splits[0] as EvalSplit;
  for (const s of splits) {
    if (s.test.samples.length === 0) {
      throw new DataError(
        `${first.test.name} split ${s.name}: no test video found on disk (${s.test.missing.length} listed but missing). Check the videos folder ${root}.`,
      );
    }
    if (needTrain && s.train && s.train.samples.length === 0)
      throw new DataError(`${first.test.name} split ${s.name}: no training video found on disk. Check ${root}.`);
  }
  return { name: first.test.name, root, classNames: first.test.classNames, splits, warnings };
}
