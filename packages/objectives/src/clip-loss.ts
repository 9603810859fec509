/**
 * CLIP's contrastive image-text loss: symmetric InfoNCE over a batch of matching pairs with a learned
 * temperature. Reference: Radford et al. 2021 (CLIP), Figure 3 pseudocode; open_clip `ClipLoss`.
 *
 *   I = normalize(image), T = normalize(text)                 [B, E] each, L2 over E
 *   logits = exp(s) · I Tᵀ                                    [B, B], s = logit_scale (raw, a log)
 *   loss = ½ (CE(logits, arange B) + CE(logitsᵀ, arange B))   CE = mean over rows of −log softmax at the label
 *
 * CLIP clamps exp(s) at 100 (s ≤ ln 100); callers clamp the variable after each update, as open_clip does.
 */
import { formatShape, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';

/** CLIP's cap on the logit multiplier: exp(s) ≤ 100. */
export const CLIP_MAX_LOGIT_SCALE = Math.log(100);

/** CLIP's initial temperature 0.07: s₀ = ln(1 / 0.07). */
export const CLIP_INIT_LOGIT_SCALE = Math.log(1 / 0.07);

/**
 * Symmetric InfoNCE of CLIP. Row i of `imageFeatures` and row i of `textFeatures` are a positive pair;
 * every other row of the batch is a negative.
 *
 * @param imageFeatures `[B, E]` image embeddings (unnormalised; normalised here).
 * @param textFeatures `[B, E]` text embeddings (unnormalised; normalised here).
 * @param logitScale scalar tensor `s` (raw, the log of the multiplier), learned by the caller.
 * @returns scalar loss in nats (new tensor). A batch of B random pairs gives about ln B.
 * @throws ShapeError when the shapes are not `[B, E]` and `[B, E]` with B >= 2, or `logitScale` is not a scalar.
 */
export function clipContrastiveLoss(imageFeatures: tf.Tensor, textFeatures: tf.Tensor, logitScale: tf.Tensor): tf.Scalar {
  if (
    imageFeatures.rank !== 2 ||
    textFeatures.rank !== 2 ||
    imageFeatures.shape[0] !== textFeatures.shape[0] ||
    imageFeatures.shape[1] !== textFeatures.shape[1] ||
    (imageFeatures.shape[0] as number) < 2
  ) {
    throw new ShapeError(
      `clipContrastiveLoss: image features ${formatShape(imageFeatures.shape)} and text features ${formatShape(textFeatures.shape)}; expected both [B, E] with the same B >= 2 and E (row i of each is a matching pair).`,
    );
  }
  if (logitScale.size !== 1) {
    throw new ShapeError(
      `clipContrastiveLoss: logitScale has shape ${formatShape(logitScale.shape)}; expected a scalar (the raw log scale).`,
    );
  }
  const B = imageFeatures.shape[0] as number;
  return tf.tidy(() => {
    const normalize = (x: tf.Tensor) => tf.div(x, tf.sqrt(tf.sum(tf.square(x), 1, true)));
    const image = normalize(imageFeatures);
    const text = normalize(textFeatures);
    const logits = tf.mul(tf.matMul(image, tf.transpose(text)), tf.exp(tf.reshape(logitScale, []))); // [B, B]
    const eye = tf.oneHot(tf.range(0, B, 1, 'int32'), B); // the positives sit on the diagonal
    const ce = (l: tf.Tensor) => tf.neg(tf.mean(tf.sum(tf.mul(tf.logSoftmax(l, 1), eye), 1)));
    return tf.mul(tf.add(ce(logits), ce(tf.transpose(logits))), 0.5) as tf.Scalar;
  });
}
