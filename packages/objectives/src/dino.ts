/**
 * `dino`: the SVT / DINO baseline objective, for ablations. A learned projection head (DINO `DINOHead`,
 * `vision_transformer.py`: MLP with GELU → L2-normalised bottleneck → weight-normalised linear layer
 * with its norm fixed to 1, `norm_last_layer=True`) maps backbone embeddings to `outDim` prototype
 * logits; the loss is DINO's (see `dino-loss.ts`) with a running centre. The objective owns the student
 * head (trainable; the trainer optimises `trainableVariables()`) and a teacher copy updated in
 * `afterStep` by EMA with the trainer's teacher momentum.
 */
import { ConfigError, gelu, SeededRandom, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { dinoLossTerms, updateCenter } from './dino-loss.js';
import { stopGradient } from './gradient.js';
import { scheduleValue, validateTemperature } from './schedules.js';
import { assertVariableNameFree, assignVariables } from './state.js';
import type { AfterStepInputs, DinoConfig, Objective, ObjectiveInputs, ObjectiveTerms, VariableValues } from './types.js';
import {
  checkMomentum,
  checkNumGlobalViews,
  checkOptionKeys,
  checkPositive,
  checkPositiveInteger,
  checkViewList,
  withoutSpecKeys,
} from './validate.js';

/**
 * The defaults of DINO's baseline as SVT runs it (`main_dino.py`, SVT `train_ssl.py`): the head on the
 * class token (before CLIP's projection), head 2048 hidden / 256 bottleneck / 65536 prototypes / 3
 * layers, student temperature 0.1, teacher temperature 0.04 constant (SVT), centre momentum 0.9, last
 * layer frozen during the first epoch. `inputDim` has no default (the width of the head's input). SVT's
 * student drop path (0.1) is the trainer's `model.dropPathRate`.
 */
export const DEFAULT_DINO: Omit<DinoConfig, 'inputDim'> = {
  headInput: 'class-token',
  hiddenDim: 2048,
  bottleneckDim: 256,
  outDim: 65536,
  numLayers: 3,
  studentTemperature: 0.1,
  teacherTemperature: 0.04,
  centerMomentum: 0.9,
  freezeLastLayerEpochs: 1,
  seed: 0,
  scope: 'objectives/dino',
};

const ID = 'dino';
const INIT_STD = 0.02; // DINO trunc_normal_(std=.02) on the MLP kernels (truncation at ±2 = ±100σ: a plain normal)

/** `x / max(‖x‖, 1e-12)` along `axis` (F.normalize), with a gradient that stays finite at 0. */
function l2Normalize(x: tf.Tensor, axis: number): tf.Tensor {
  return tf.div(x, tf.sqrt(tf.maximum(tf.sum(tf.square(x), axis, true), 1e-24)));
}

/** The DINO projection head: variables under `<scope>/head/...`. */
class DinoHead {
  readonly layers: { kernel: tf.Variable; bias: tf.Variable }[] = [];
  /** Direction of the last layer, [bottleneckDim, outDim]; its columns are normalised in `apply`. */
  readonly lastKernel: tf.Variable;

  constructor(config: DinoConfig, scope: string, trainable: boolean, rng: SeededRandom) {
    const widths = [config.inputDim];
    for (let i = 0; i < config.numLayers - 1; i++) widths.push(config.hiddenDim);
    widths.push(config.bottleneckDim);
    const make = (shape: number[], name: string, std: number) => {
      assertVariableNameFree(ID, `${scope}/${name}`);
      const size = shape.reduce((a, b) => a * b, 1);
      const values = std === 0 ? new Float32Array(size) : rng.normalArray(size, 0, std);
      return tf.tidy(() => tf.variable(tf.tensor(values, shape), trainable, `${scope}/${name}`));
    };
    for (let i = 0; i < config.numLayers; i++) {
      const [fanIn, fanOut] = [widths[i] as number, widths[i + 1] as number];
      this.layers.push({
        kernel: make([fanIn, fanOut], `mlp/${i}/kernel`, INIT_STD),
        bias: make([fanOut], `mlp/${i}/bias`, 0),
      });
    }
    // Only the direction matters (weight norm with g = 1), so the initial scale is irrelevant.
    this.lastKernel = make([config.bottleneckDim, config.outDim], 'lastLayer/kernel', INIT_STD);
  }

  /** [N, inputDim] → [N, outDim] prototype logits. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      let h: tf.Tensor = x;
      this.layers.forEach(({ kernel, bias }, i) => {
        h = tf.add(tf.matMul(h as tf.Tensor2D, kernel as tf.Tensor2D), bias); // [N, in] × [in, out] + [out]
        if (i < this.layers.length - 1) h = gelu(h);
      });
      const unit = l2Normalize(h, -1); // [N, bottleneck], unit rows
      const direction = l2Normalize(this.lastKernel, 0); // [bottleneck, outDim], unit columns
      return tf.matMul(unit as tf.Tensor2D, direction as tf.Tensor2D); // [N, outDim]
    });
  }

  /** Variables in a stable order (layer by layer, kernel before bias, last layer at the end). */
  variables(): tf.Variable[] {
    return [...this.layers.flatMap(({ kernel, bias }) => [kernel, bias]), this.lastKernel];
  }
}

/**
 * The DINO baseline. Inputs (concept scores are not used), with `headInput: 'class-token'`:
 * `studentClassTokens` V × [B, inputDim], `teacherClassTokens` G × [B, inputDim]; with `'embedding'`:
 * `studentFeatures`, `teacherFeatures`. Terms: `loss`, `teacherEntropy`.
 * State (all in `variables()`): `<scope>/center` [1, outDim], `<scope>/student/head/...` (trainable),
 * `<scope>/teacher/head/...` (EMA copy, not trainable).
 */
export class Dino implements Objective {
  readonly id = ID;
  readonly config: DinoConfig;
  readonly center: tf.Variable;
  private readonly studentHead: DinoHead;
  private readonly teacherHead: DinoHead;

  constructor(options: Partial<DinoConfig> & { readonly inputDim: number }) {
    checkOptionKeys(ID, options, ['inputDim', ...Object.keys(DEFAULT_DINO)]);
    this.config = { ...DEFAULT_DINO, ...withoutSpecKeys(options) };
    const c = this.config;
    if (options.inputDim === undefined) {
      throw new ConfigError(`${ID}: inputDim is required (the backbone embedding width, e.g. 512); received undefined.`);
    }
    for (const key of ['inputDim', 'hiddenDim', 'bottleneckDim', 'outDim', 'numLayers'] as const) {
      checkPositiveInteger(ID, key, c[key]);
    }
    checkPositive(ID, 'studentTemperature', c.studentTemperature);
    validateTemperature(c.teacherTemperature, `${ID}: teacherTemperature`);
    checkMomentum(ID, 'centerMomentum', c.centerMomentum);
    if (c.headInput !== 'class-token' && c.headInput !== 'embedding') {
      throw new ConfigError(
        `${ID}: headInput must be 'class-token' (SVT: the class token before the projection) or 'embedding' (the projected output); received ${JSON.stringify(c.headInput)}.`,
      );
    }
    if (!(Number.isFinite(c.freezeLastLayerEpochs) && c.freezeLastLayerEpochs >= 0)) {
      throw new ConfigError(`${ID}: freezeLastLayerEpochs must be a number >= 0 (epochs); received ${c.freezeLastLayerEpochs}.`);
    }
    // Check before creating anything, so a name clash leaks no half-built head.
    for (const name of ['center', 'student/head/mlp/0/kernel', 'teacher/head/mlp/0/kernel']) {
      assertVariableNameFree(ID, `${c.scope}/${name}`);
    }
    this.studentHead = new DinoHead(c, `${c.scope}/student/head`, true, new SeededRandom(c.seed));
    // DINO: teacher.load_state_dict(student.state_dict()) — the same seed gives the same values.
    this.teacherHead = new DinoHead(c, `${c.scope}/teacher/head`, false, new SeededRandom(c.seed));
    this.center = tf.tidy(() => tf.variable(tf.zeros([1, c.outDim]), false, `${c.scope}/center`));
  }

  /** True with `headInput: 'class-token'`: the trainer passes `studentClassTokens` / `teacherClassTokens`. */
  get needsClassTokens(): boolean {
    return this.config.headInput === 'class-token';
  }

  terms(inputs: ObjectiveInputs): ObjectiveTerms {
    const G = checkNumGlobalViews(ID, inputs.numGlobalViews);
    const [studentKey, teacherKey] = this.inputKeys();
    const student = this.checkFeatures(studentKey, inputs[studentKey]);
    const teacher = this.checkFeatures(teacherKey, inputs[teacherKey], G);
    if (student.length < Math.max(2, G)) {
      throw new ShapeError(
        `${ID}: ${studentKey} has ${student.length} views; expected at least max(2, numGlobalViews = ${G}) (global views first).`,
      );
    }
    const teacherTemperature = scheduleValue(this.config.teacherTemperature, inputs);
    return tf.tidy(() => {
      const studentOut = this.headPerView(this.studentHead, student);
      const teacherOut = this.headPerView(
        this.teacherHead,
        teacher.map((t) => stopGradient(t)),
      );
      const { loss, teacherEntropy } = dinoLossTerms({
        student: studentOut,
        teacher: teacherOut,
        center: this.center,
        studentTemperature: this.config.studentTemperature,
        teacherTemperature,
      });
      return { loss, teacherEntropy } as ObjectiveTerms;
    });
  }

  /**
   * After the optimizer step: centre update from the teacher head's (uncentred) outputs, computed with
   * the teacher head as it was during the loss, then the teacher head's EMA
   * `θ_t ← m θ_t + (1 − m) θ_s` with `m = inputs.teacherMomentum`.
   */
  afterStep(inputs: AfterStepInputs): void {
    const G = checkNumGlobalViews(ID, inputs.numGlobalViews);
    const teacherKey = this.inputKeys()[1];
    const teacher = this.checkFeatures(teacherKey, inputs[teacherKey], G);
    const m = inputs.teacherMomentum;
    checkMomentum(ID, 'teacherMomentum', m);
    tf.tidy(() => {
      const teacherOut = this.teacherHead.apply(tf.concat(teacher as tf.Tensor2D[], 0)); // [G·B, outDim]
      this.center.assign(updateCenter(this.center, [teacherOut], this.config.centerMomentum, inputs.batchMean));
    });
    const studentVariables = this.studentHead.variables();
    this.teacherHead.variables().forEach((t, i) => {
      const s = studentVariables[i] as tf.Variable;
      tf.tidy(() => t.assign(tf.add(tf.mul(t, m), tf.mul(s, 1 - m))));
    });
  }

  variables(): ReadonlyMap<string, tf.Variable> {
    const all = [this.center, ...this.studentHead.variables(), ...this.teacherHead.variables()];
    return new Map(all.map((variable) => [variable.name, variable]));
  }

  loadVariables(values: VariableValues): void {
    assignVariables(ID, this.variables(), values);
  }

  /** The student head's variables, in a stable order. */
  trainableVariables(): readonly tf.Variable[] {
    return this.studentHead.variables();
  }

  /** DINO `cancel_gradients_last_layer`: the student head's last layer is frozen while `epoch < freezeLastLayerEpochs`. */
  frozenVariables(at: { readonly epoch: number }): readonly tf.Variable[] {
    return at.epoch < this.config.freezeLastLayerEpochs ? [this.studentHead.lastKernel] : [];
  }

  dispose(): void {
    for (const variable of this.variables().values()) variable.dispose();
  }

  /**
   * Prototype logits of the student or teacher head (for inspection and tests; `terms` uses the same path).
   * Input: V × [B, inputDim]. Output: V × [B, outDim] (new tensors).
   */
  project(views: readonly tf.Tensor2D[], which: 'student' | 'teacher'): tf.Tensor2D[] {
    const checked = this.checkFeatures(this.inputKeys()[which === 'student' ? 0 : 1], views);
    return tf.tidy(() => this.headPerView(which === 'student' ? this.studentHead : this.teacherHead, checked));
  }

  /** The input names the head reads, from `headInput`. */
  private inputKeys(): ['studentClassTokens', 'teacherClassTokens'] | ['studentFeatures', 'teacherFeatures'] {
    return this.config.headInput === 'class-token' ? ['studentClassTokens', 'teacherClassTokens'] : ['studentFeatures', 'teacherFeatures'];
  }

  /** Head outputs of every view: V × [B, D] → [V·B, D] → head → V × [B, outDim]. */
  private headPerView(head: DinoHead, views: readonly tf.Tensor2D[]): tf.Tensor2D[] {
    const out = head.apply(tf.concat(views as tf.Tensor2D[], 0)); // [V·B, outDim]
    return tf.split(out, views.length, 0) as tf.Tensor2D[];
  }

  private checkFeatures(what: string, views: readonly tf.Tensor2D[] | undefined, count?: number): readonly tf.Tensor2D[] {
    if (views === undefined && this.config.headInput === 'class-token') {
      throw new ConfigError(
        `${ID}: ${what} is missing; headInput 'class-token' reads the class tokens before the projection (the trainer passes them when an objective sets needsClassTokens). Pass ${what}, or set headInput: 'embedding' to read studentFeatures / teacherFeatures.`,
      );
    }
    const [, D] = checkViewList(ID, what, views, count);
    if (D !== this.config.inputDim) {
      const width =
        this.config.headInput === 'class-token' ? 'the tower width (768 for ViT-B)' : "the backbone's embedding width (512 for ViT-B/16)";
      throw new ShapeError(
        `${ID}: ${what} views are [B, ${D}]; expected [B, ${this.config.inputDim}] (inputDim). Set inputDim to ${width}.`,
      );
    }
    return views as readonly tf.Tensor2D[];
  }
}

/** Creates a {@link Dino} objective; `inputDim` is required, other options take SVT's defaults ({@link DEFAULT_DINO}). */
export function createDino(options: Partial<DinoConfig> & { readonly inputDim: number }): Dino {
  return new Dino(options);
}
