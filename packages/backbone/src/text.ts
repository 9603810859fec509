/**
 * CLIP's text tower: token + position embeddings, causal transformer (the same block code as the
 * vision tower), `ln_final`, pooling at the end-of-text token, `text_projection`.
 */
import { ConfigError, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { clipBlock } from './block.js';
import { type TextConfig, validateTextConfig } from './config.js';
import { clipBlockWeights, norm, normal } from './init.js';
import { type BlockWeights, causalMask, layerNorm, type NormWeights } from './layers.js';
import type { Scope } from './scope.js';

export interface TextWeights {
  /** `[vocab, D]`. */
  readonly tokenEmbedding: tf.Variable;
  /** `[contextLength, D]`. */
  readonly positionEmbedding: tf.Variable;
  readonly blocks: readonly BlockWeights[];
  readonly lnFinal: NormWeights;
  /** `[D, E]`, no bias. */
  readonly projection: tf.Variable;
}

export class TextTower {
  readonly config: TextConfig;
  readonly scope: Scope;
  readonly weights: TextWeights;
  private disposed = false;

  /** Creates the variables under `scope` with CLIP's initial scales (seeded by path). */
  constructor(config: TextConfig, scope: Scope) {
    this.config = validateTextConfig(config);
    this.scope = scope;
    const c = this.config;
    const D = c.width;
    const attnStd = D ** -0.5;
    const projStd = D ** -0.5 * (2 * c.layers) ** -0.5;
    const tokenEmbedding = normal(scope, 'tokenEmbedding', [c.vocabSize, D], 0.02);
    const positionEmbedding = normal(scope, 'positionEmbedding', [c.contextLength, D], 0.01);
    const blocks: BlockWeights[] = [];
    for (let i = 0; i < c.layers; i++) {
      const b = scope.child('blocks').child(i);
      blocks.push(clipBlockWeights(b, D, c.mlpDim, { attn: attnStd, proj: projStd, fc: (2 * D) ** -0.5 }));
    }
    const lnFinal = norm(scope.child('lnFinal'), D);
    const projection = normal(scope, 'projection', [D, c.embedDim], attnStd);
    this.weights = { tokenEmbedding, positionEmbedding, blocks, lnFinal, projection };
  }

  variables(): Map<string, tf.Variable> {
    return this.scope.variables();
  }

  /**
   * CLIP's `encode_text`. Pools at the first position holding the largest id (the end-of-text token
   * 49407 has the largest id), so padding with 0 (OpenAI) or with 49407 (Hugging Face) both work.
   *
   * Input shape: `[N, L]` int32 token ids, `L <= contextLength` (77). Output shape: `[N, E]`, unnormalised.
   */
  call(ids: tf.Tensor): tf.Tensor2D {
    if (this.disposed) throw new ConfigError(`The text tower ${this.scope.path} was disposed.`);
    const c = this.config;
    if (ids.rank !== 2 || (ids.shape[1] as number) > c.contextLength || (ids.shape[1] as number) < 1) {
      throw new ShapeError(`Token ids have shape [${ids.shape.join(', ')}]; expected [N, L] with 1 <= L <= ${c.contextLength}.`);
    }
    if (ids.dtype !== 'int32') throw new ShapeError(`Token ids have dtype ${ids.dtype}; expected int32.`);
    const [N, L] = ids.shape as [number, number];
    const D = c.width;
    return tf.tidy(() => {
      const tokens = tf.gather(this.weights.tokenEmbedding, tf.reshape(ids, [N * L])); // (n l) d
      let x = tf.add(tf.reshape(tokens, [N, L, D]), tf.slice(this.weights.positionEmbedding, [0, 0], [L, D])); // (n l) d -> n l d
      const mask = causalMask(L);
      const opts = { heads: c.heads, layerNormEps: c.layerNormEps, activation: c.activation };
      for (const w of this.weights.blocks) x = clipBlock(x, w, opts, mask);
      x = layerNorm(x, this.weights.lnFinal, c.layerNormEps);
      const eot = tf.add(tf.argMax(ids, 1), tf.range(0, N * L, L, 'int32')); // flat index n*L + argmax_n
      const pooled = tf.gather(tf.reshape(x, [N * L, D]), eot); // n l d -> (n l) d, then [N, D]
      return tf.matMul(pooled, this.weights.projection) as tf.Tensor2D;
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.scope.dispose();
  }
}
