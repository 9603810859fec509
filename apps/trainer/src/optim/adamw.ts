/**
 * AdamW (Loshchilov & Hutter 2019, decoupled weight decay) with the learning rate and weight decay
 * given per step by the caller's schedules. tfjs has no AdamW, no weight decay and no lr setter on
 * Adam (FACTS.md), and `tf.train.adam` allocates ~2 GB of temporaries for ViT-B/16, so this one
 * updates one variable at a time inside its own `tf.tidy` and `assign`s the results (the tfjs Adam
 * pattern), keeping peak memory at one variable's temporaries.
 *
 * Update, identical to PyTorch's `torch.optim.AdamW` (step t counted from 1):
 *   m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²
 *   p ← p − lr · wd · p − lr · (m / (1 − β1^t)) / (sqrt(v / (1 − β2^t)) + ε)
 * Weight decay is skipped for 1-D parameters (biases, LayerNorm gains and shifts, embeddings of rank
 * 1), as DINO `get_params_groups` and nanoGPT `configure_optimizers` do.
 *
 * Slots are keyed by variable name (`<name>` → `optimizer/<name>/m`, `.../v`), not by position, so a
 * checkpoint can be restored whatever the order of the variable list.
 */

import { ConfigError, WeightsError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';

export interface AdamWConfig {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  /** Which parameters receive weight decay; default: rank >= 2 (no decay on biases and norms). */
  readonly decay?: (variable: tf.Variable) => boolean;
  /**
   * Keep m and v in host memory (JS Float32Arrays) and compute the update on the host, one variable
   * at a time: frees 2 x 4 bytes per parameter on the device (0.97 GB of the 4 GiB wasm heap for a
   * ViT-B/16 video tower). Costs one read and one upload of each variable per step. Default false.
   */
  readonly hostSlots?: boolean;
}

export interface AdamWStepOptions {
  readonly learningRate: number;
  readonly weightDecay: number;
  /**
   * Multiplies each gradient before the update (default 1): one factor for all, or one per variable
   * name (per-parameter clipping). Clipping is applied here, one variable at a time, so no scaled copy
   * of all gradients is ever materialised (it would be 0.34 GB for ViT-B/16).
   */
  readonly gradScale?: number | ReadonlyMap<string, number>;
  /**
   * Learning rates of single variables, by name, replacing `learningRate` for them (PyTorch's parameter
   * groups with their own `lr`; CLIP pretraining gives `logit_scale` its own). Weight decay uses the
   * variable's own rate too (`p ← p − lr · wd · p`, as PyTorch's AdamW per group).
   */
  readonly learningRates?: ReadonlyMap<string, number>;
}

/** Host copy of the optimizer state, for checkpoints. Keys are `<variable name>/m` and `<variable name>/v`. */
export interface AdamWState {
  readonly step: number;
  readonly slots: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>;
}

interface Slot {
  readonly m: tf.Variable;
  readonly v: tf.Variable;
}

/** The slot-variable prefix; slots of `student/blocks/0/attn/qkv/kernel` are `optimizer/student/blocks/0/attn/qkv/kernel/m|v`. */
export const OPTIMIZER_ROOT = 'optimizer';

export class AdamW {
  readonly config: Required<AdamWConfig>;
  private readonly slots = new Map<string, Slot>();
  private readonly hostSlots = new Map<string, { m: Float32Array; v: Float32Array; shape: readonly number[] }>();
  private stepCount = 0;

  constructor(config: AdamWConfig) {
    for (const key of ['beta1', 'beta2'] as const) {
      if (!(config[key] >= 0 && config[key] < 1)) throw new ConfigError(`AdamW ${key} must be in [0, 1); received ${config[key]}.`);
    }
    if (!(config.epsilon > 0)) throw new ConfigError(`AdamW epsilon must be > 0; received ${config.epsilon}.`);
    this.config = { ...config, decay: config.decay ?? ((v) => v.rank >= 2), hostSlots: config.hostSlots ?? false };
  }

  /** Optimizer steps taken so far (t in the bias corrections). */
  get iterations(): number {
    return this.stepCount;
  }

  /**
   * Applies one update. `grads` maps variable names to gradients (as `tf.variableGrads` returns);
   * `variables` maps the same names to the variables to update. The caller still owns `grads`.
   */
  step(variables: ReadonlyMap<string, tf.Variable>, grads: tf.NamedTensorMap, options: AdamWStepOptions): void {
    const { learningRate, weightDecay } = options;
    const scales = options.gradScale ?? 1;
    const scaleOf = (name: string) => (typeof scales === 'number' ? scales : (scales.get(name) ?? 1));
    const badScale =
      typeof scales === 'number' ? (Number.isFinite(scales) ? [] : [scales]) : [...scales.values()].filter((x) => !Number.isFinite(x));
    if (!Number.isFinite(learningRate) || !Number.isFinite(weightDecay) || badScale.length > 0) {
      throw new ConfigError(
        `AdamW.step needs finite learningRate, weightDecay and gradScale; received ${learningRate}, ${weightDecay}, ${badScale.length > 0 ? badScale[0] : 'finite scales'}.`,
      );
    }
    for (const [name, rate] of options.learningRates ?? []) {
      if (!Number.isFinite(rate) || rate < 0) {
        throw new ConfigError(`AdamW.step learningRates: the rate of ${JSON.stringify(name)} is ${rate}; expected a finite number >= 0.`);
      }
      if (!variables.has(name)) {
        throw new ConfigError(`AdamW.step learningRates names ${JSON.stringify(name)}, which is not among the variables it updates.`);
      }
    }
    for (const name of Object.keys(grads)) {
      if (!variables.has(name)) {
        throw new ConfigError(`AdamW.step received a gradient for ${JSON.stringify(name)}, which is not among the variables it updates.`);
      }
    }
    this.stepCount += 1;
    const { beta1, beta2, epsilon } = this.config;
    const biasCorrection1 = 1 - beta1 ** this.stepCount;
    const biasCorrection2 = 1 - beta2 ** this.stepCount;
    for (const [name, variable] of variables) {
      const grad = grads[name];
      if (!grad) continue; // no gradient this step (e.g. frozen by the caller): PyTorch skips too.
      const decay = this.config.decay(variable) ? weightDecay : 0;
      const gradScale = scaleOf(name);
      const rate = options.learningRates?.get(name) ?? learningRate;
      if (this.config.hostSlots) {
        this.hostStep(name, variable, grad, { learningRate: rate, decay, gradScale, biasCorrection1, biasCorrection2 });
        continue;
      }
      const slot = this.slotFor(name, variable);
      tf.tidy(() => {
        const g = gradScale === 1 ? grad : tf.mul(grad, gradScale);
        const m = tf.add(tf.mul(slot.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(slot.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        const denom = tf.add(tf.sqrt(tf.div(v, biasCorrection2)), epsilon);
        const update = tf.div(tf.div(m, biasCorrection1), denom);
        const decayed = decay === 0 ? variable : tf.mul(variable, 1 - rate * decay);
        slot.m.assign(m);
        slot.v.assign(v);
        variable.assign(tf.sub(decayed, tf.mul(update, rate)));
      });
    }
  }

  /** The same update on the host (float64 arithmetic, float32 storage). */
  private hostStep(
    name: string,
    variable: tf.Variable,
    grad: tf.Tensor,
    o: { learningRate: number; decay: number; gradScale: number; biasCorrection1: number; biasCorrection2: number },
  ): void {
    const { beta1, beta2, epsilon } = this.config;
    let slot = this.hostSlots.get(name);
    if (!slot) {
      slot = { m: new Float32Array(variable.size), v: new Float32Array(variable.size), shape: variable.shape };
      this.hostSlots.set(name, slot);
    } else if (!arraysEqual(slot.shape, variable.shape)) {
      throw new WeightsError(
        `AdamW slot for ${name} has shape [${slot.shape.join(', ')}] but the variable has [${variable.shape.join(', ')}].`,
      );
    }
    const g = grad.dataSync() as Float32Array;
    const p = variable.dataSync() as Float32Array;
    const out = new Float32Array(p.length);
    const { m, v } = slot;
    const keep = 1 - o.learningRate * o.decay;
    for (let i = 0; i < p.length; i++) {
      const gi = (g[i] as number) * o.gradScale;
      const mi = beta1 * (m[i] as number) + (1 - beta1) * gi;
      const vi = beta2 * (v[i] as number) + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      const update = mi / o.biasCorrection1 / (Math.sqrt(vi / o.biasCorrection2) + epsilon);
      out[i] = (p[i] as number) * keep - o.learningRate * update;
    }
    tf.tidy(() => variable.assign(tf.tensor(out, variable.shape, 'float32')));
  }

  /** Every slot by checkpoint name (`optimizer/<name>/m|v`): device variables, or host arrays with `hostSlots`. */
  slotTensors(): Map<string, tf.Variable | { shape: readonly number[]; data: Float32Array }> {
    const out = new Map<string, tf.Variable | { shape: readonly number[]; data: Float32Array }>(this.variables());
    for (const [name, slot] of this.hostSlots) {
      out.set(`${OPTIMIZER_ROOT}/${name}/m`, { shape: slot.shape, data: slot.m });
      out.set(`${OPTIMIZER_ROOT}/${name}/v`, { shape: slot.shape, data: slot.v });
    }
    return out;
  }

  private slotFor(name: string, variable: tf.Variable): Slot {
    let slot = this.slots.get(name);
    if (!slot) {
      slot = { m: zerosVariable(variable, `${OPTIMIZER_ROOT}/${name}/m`), v: zerosVariable(variable, `${OPTIMIZER_ROOT}/${name}/v`) };
      this.slots.set(name, slot);
    } else if (!arraysEqual(slot.m.shape, variable.shape)) {
      throw new WeightsError(
        `AdamW slot for ${name} has shape [${slot.m.shape.join(', ')}] but the variable has [${variable.shape.join(', ')}]; the optimizer state belongs to another model.`,
      );
    }
    return slot;
  }

  /** Slot variables by checkpoint name (`optimizer/<name>/m|v`). */
  variables(): Map<string, tf.Variable> {
    const out = new Map<string, tf.Variable>();
    for (const [name, slot] of this.slots) {
      out.set(`${OPTIMIZER_ROOT}/${name}/m`, slot.m);
      out.set(`${OPTIMIZER_ROOT}/${name}/v`, slot.v);
    }
    return out;
  }

  /** Reads the state to host memory (an async device read). */
  async getState(): Promise<AdamWState> {
    const slots = new Map<string, { shape: readonly number[]; data: Float32Array }>();
    for (const [name, slot] of this.slots) {
      slots.set(`${name}/m`, { shape: slot.m.shape, data: (await slot.m.data()) as Float32Array });
      slots.set(`${name}/v`, { shape: slot.v.shape, data: (await slot.v.data()) as Float32Array });
    }
    for (const [name, slot] of this.hostSlots) {
      slots.set(`${name}/m`, { shape: slot.shape, data: slot.m.slice() });
      slots.set(`${name}/v`, { shape: slot.shape, data: slot.v.slice() });
    }
    return { step: this.stepCount, slots };
  }

  /**
   * Restores the state saved by {@link getState} for the given variables. A variable without slots in
   * the state starts from zeros, as PyTorch creates a parameter's state at its first update (a variable
   * frozen so far, e.g. DINO's last layer in epoch 0, has none); a variable with only one of m and v, or
   * slots for a variable that is not given, is an error (the state belongs to another model).
   */
  setState(state: AdamWState, variables: ReadonlyMap<string, tf.Variable>): void {
    const partial = [...variables.keys()].filter((n) => state.slots.has(`${n}/m`) !== state.slots.has(`${n}/v`));
    const known = new Set([...variables.keys()].flatMap((n) => [`${n}/m`, `${n}/v`]));
    const unexpected = [...state.slots.keys()].filter((k) => !known.has(k));
    if (partial.length > 0 || unexpected.length > 0) {
      throw new WeightsError(
        `Optimizer state does not match the model: m or v missing for ${partial.length} variables (${partial.slice(0, 5).join(', ')}${partial.length > 5 ? ', ...' : ''}); ` +
          `unexpected slots ${unexpected.slice(0, 5).join(', ')}${unexpected.length > 5 ? ', ...' : ''}. Resume with the same model and objectives the checkpoint was written with.`,
      );
    }
    for (const [name, variable] of variables) {
      const m = state.slots.get(`${name}/m`);
      const v = state.slots.get(`${name}/v`);
      if (!m || !v) continue;
      if (!arraysEqual(m.shape, variable.shape) || !arraysEqual(v.shape, variable.shape)) {
        throw new WeightsError(
          `Optimizer slot ${name} has shape [${m.shape.join(', ')}]; the variable has [${variable.shape.join(', ')}].`,
        );
      }
      if (this.config.hostSlots) {
        this.hostSlots.set(name, { m: Float32Array.from(m.data), v: Float32Array.from(v.data), shape: variable.shape });
        continue;
      }
      const slot = this.slotFor(name, variable);
      tf.tidy(() => {
        slot.m.assign(tf.tensor(m.data, variable.shape, 'float32'));
        slot.v.assign(tf.tensor(v.data, variable.shape, 'float32'));
      });
    }
    this.stepCount = state.step;
  }

  dispose(): void {
    for (const slot of this.slots.values()) {
      slot.m.dispose();
      slot.v.dispose();
    }
    this.slots.clear();
    this.hostSlots.clear();
  }
}

/** A non-trainable zero variable shaped like `like`; the initial-value tensor is disposed. */
function zerosVariable(like: tf.Variable, name: string): tf.Variable {
  const zeros = tf.zeros(like.shape, 'float32');
  try {
    return tf.variable(zeros, false, name);
  } finally {
    zeros.dispose();
  }
}

function arraysEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
