/**
 * Video-by-video comparison of two reports of one protocol on the same splits: how often their top-1
 * predictions agree, and the change of top-1 accuracy. Made for engine and quantisation checks (ONNX fp32
 * vs int8 vs tfjs), where the mean accuracy alone can hide many flipped predictions that cancel out.
 */
import { ConfigError } from '@lss/core';
import { type MeanStd, meanStd } from './metrics.js';
import type { EvalReport, SplitResult } from './report.js';

/** One split of a {@link PredictionAgreement}. */
export interface SplitAgreement {
  readonly split: string;
  /** Test videos compared (the same in both reports). */
  readonly numTest: number;
  /** Test videos whose top-1 prediction is the same in both reports. */
  readonly numAgree: number;
  /** `100 * numAgree / numTest`. */
  readonly agreement: number;
  /** Top-1 % of the reference and of the candidate report. */
  readonly referenceTop1: number;
  readonly candidateTop1: number;
  /** `candidateTop1 - referenceTop1`, percentage points. */
  readonly deltaTop1: number;
}

/** What {@link predictionAgreement} returns; every `MeanStd` is over the splits (sample std, n - 1). */
export interface PredictionAgreement {
  readonly protocol: string;
  readonly reference: string;
  readonly candidate: string;
  readonly numClasses: number;
  /** Top-1 % of guessing, `100 / numClasses`. */
  readonly chance: number;
  readonly splits: readonly SplitAgreement[];
  readonly agreement: MeanStd;
  readonly referenceTop1: MeanStd;
  readonly candidateTop1: MeanStd;
  readonly deltaTop1: MeanStd;
}

function predictionsOf(report: EvalReport, s: SplitResult, role: string): readonly number[] {
  if (!s.predictions) {
    throw new ConfigError(
      `The ${role} report (${report.model.label}, ${report.protocol}) has no per-video predictions for split ${s.split}; expected splits[].predictions, which lss-eval writes since it records them. Re-run the evaluation with the current lss-eval.`,
    );
  }
  if (s.predictions.length !== s.numTest) {
    throw new ConfigError(
      `The ${role} report (${report.model.label}) split ${s.split} has ${s.predictions.length} predictions for ${s.numTest} test videos; expected one per test video. The report is damaged; re-run it.`,
    );
  }
  return s.predictions;
}

const skippedKey = (s: SplitResult) =>
  (s.skipped ?? [])
    .filter((v) => v.subset === 'test')
    .map((v) => v.path)
    .sort()
    .join('\n');

/**
 * Compares `candidate` with `reference` video by video. Both must be reports of the same protocol on the same
 * classes and splits with the same test videos (the same number, the same skipped ones); predictions are matched
 * by position, which is the split's test-list order in both.
 *
 * @throws ConfigError naming the mismatch (protocol, classes, splits, test videos) or the missing predictions.
 */
export function predictionAgreement(reference: EvalReport, candidate: EvalReport): PredictionAgreement {
  const who = `${JSON.stringify(reference.model.label)} vs ${JSON.stringify(candidate.model.label)}`;
  if (reference.protocol !== candidate.protocol) {
    throw new ConfigError(
      `predictionAgreement: ${who}: protocols differ (${reference.protocol} vs ${candidate.protocol}); expected two reports of one protocol.`,
    );
  }
  const classes = reference.dataset.classNames;
  if (JSON.stringify(classes) !== JSON.stringify(candidate.dataset.classNames)) {
    throw new ConfigError(
      `predictionAgreement: ${who}: class names differ (${classes.length} vs ${candidate.dataset.classNames.length} classes); expected reports on the same dataset.`,
    );
  }
  const names = (r: EvalReport) => r.splits.map((s) => s.split).join(',');
  if (names(reference) !== names(candidate)) {
    throw new ConfigError(
      `predictionAgreement: ${who}: splits differ ([${names(reference)}] vs [${names(candidate)}]); expected the same splits in the same order.`,
    );
  }
  const splits = reference.splits.map((r, i): SplitAgreement => {
    const c = candidate.splits[i] as SplitResult;
    if (r.numTest !== c.numTest || skippedKey(r) !== skippedKey(c)) {
      throw new ConfigError(
        `predictionAgreement: ${who}: split ${r.split} has ${r.numTest} vs ${c.numTest} test videos (${(r.skipped ?? []).length} vs ${(c.skipped ?? []).length} skipped); expected the same test videos in both.`,
      );
    }
    const a = predictionsOf(reference, r, 'reference');
    const b = predictionsOf(candidate, c, 'candidate');
    let numAgree = 0;
    for (let j = 0; j < a.length; j++) if (a[j] === b[j]) numAgree++;
    return {
      split: r.split,
      numTest: r.numTest,
      numAgree,
      agreement: r.numTest === 0 ? Number.NaN : (100 * numAgree) / r.numTest,
      referenceTop1: r.top1,
      candidateTop1: c.top1,
      deltaTop1: c.top1 - r.top1,
    };
  });
  return {
    protocol: reference.protocol,
    reference: reference.model.label,
    candidate: candidate.model.label,
    numClasses: classes.length,
    chance: 100 / classes.length,
    splits,
    agreement: meanStd(splits.map((s) => s.agreement)),
    referenceTop1: meanStd(splits.map((s) => s.referenceTop1)),
    candidateTop1: meanStd(splits.map((s) => s.candidateTop1)),
    deltaTop1: meanStd(splits.map((s) => s.deltaTop1)),
  };
}
