/**
 * Selecting and combining objectives (house style 4.7): a registry of factories keyed by id, so a
 * config can name objectives and weights; `registerObjective` to add one; `sumLossTerms` to combine
 * any objects implementing {@link Objective} (built-in or injected) into the total loss with named terms.
 */
import { ConfigError, ShapeError, WeightsError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import { ConceptAlignment, createConceptAlignment } from './concept-alignment.js';
import { ConceptDistillation, createConceptDistillation } from './concept-distillation.js';
import { createDino } from './dino.js';
import { valueEntries } from './state.js';
import type {
  ConceptAlignmentSpec,
  ConceptDistillationSpec,
  DinoSpec,
  Objective,
  ObjectiveFactory,
  ObjectiveInputs,
  ObjectiveSpec,
  UniformPriorSpec,
  VariableValues,
  WeightedObjective,
} from './types.js';
import { createUniformPrior } from './uniform-prior.js';

/** The built-in objectives by registry id. */
export const objectiveFactories = {
  'concept-distillation': (spec: ConceptDistillationSpec) => createConceptDistillation(spec),
  'uniform-prior': (spec: UniformPriorSpec) => createUniformPrior(spec),
  'concept-alignment': (spec: ConceptAlignmentSpec) => createConceptAlignment(spec),
  dino: (spec: DinoSpec) => createDino(spec), // baseline, for ablations
} as const;

// biome-ignore lint/suspicious/noExplicitAny: factories take their own spec types; createObjective checks the name.
const registry = new Map<string, ObjectiveFactory<any>>(Object.entries(objectiveFactories));

/** Registry ids that `createObjective` accepts (built-in and registered), sorted. */
export function registeredObjectiveNames(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Adds an objective to the registry so configs can name it. Ids are kebab-case; registering an
 * existing id throws unless `{ replace: true }`.
 *
 * @example
 * registerObjective('my-entropy', (spec) => createMyEntropy(spec));
 * createObjectives([{ name: 'my-entropy', weight: 0.1 }]);
 */
// biome-ignore lint/suspicious/noExplicitAny: a factory validates its own spec.
export function registerObjective(id: string, factory: ObjectiveFactory<any>, options: { replace?: boolean } = {}): void {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(id)) {
    throw new ConfigError(`registerObjective: id ${JSON.stringify(id)} is not kebab-case; expected e.g. 'my-objective'.`);
  }
  if (typeof factory !== 'function') {
    throw new ConfigError(`registerObjective('${id}'): factory must be a function (spec) => Objective; received ${typeof factory}.`);
  }
  if (registry.has(id) && options.replace !== true) {
    throw new ConfigError(
      `registerObjective: ${JSON.stringify(id)} is already registered. Pick another id, or pass { replace: true } to override it.`,
    );
  }
  registry.set(id, factory);
}

/** Builds one objective from a config entry `{ name, ...options }` (its `weight` is ignored here). */
export function createObjective(spec: ObjectiveSpec): Objective {
  const name = (spec as { name?: unknown } | undefined)?.name;
  const factory = typeof name === 'string' ? registry.get(name) : undefined;
  if (factory === undefined) {
    throw new ConfigError(
      `Unknown objective ${JSON.stringify(name)}; registered objectives: ${registeredObjectiveNames().join(', ')}. Fix the name, or add it with registerObjective(id, factory).`,
    );
  }
  const objective = factory(spec);
  checkObjective(objective, `the factory of '${name}'`);
  return objective;
}

/** Builds weighted objectives from config entries; `weight` defaults to 1 (SPEC: λ_CA = λ_U = 1). */
export function createObjectives(specs: readonly ObjectiveSpec[]): WeightedObjective[] {
  const built: WeightedObjective[] = [];
  try {
    for (const spec of specs) {
      const weight = spec.weight ?? 1;
      if (!(typeof weight === 'number' && Number.isFinite(weight) && weight >= 0)) {
        throw new ConfigError(`Objective '${spec.name}': weight must be a finite number >= 0; received ${weight}.`);
      }
      built.push({ objective: createObjective(spec), weight });
    }
    linkTeacherDistributions(built);
  } catch (error) {
    for (const { objective } of built) objective.dispose(); // release variables of the ones already built
    throw error;
  }
  return built;
}

/** Checks that an object implements the required part of {@link Objective}. */
function checkObjective(objective: unknown, source: string): asserts objective is Objective {
  const o = objective as Partial<Objective> | null;
  if (o === null || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.terms !== 'function' || typeof o.dispose !== 'function') {
    throw new ConfigError(
      `${source} returned something that is not an Objective; expected an object with id (string), terms(inputs) and dispose().`,
    );
  }
}

/**
 * SPEC section 3 has one teacher distribution `p_t` per view and space: concept alignment is made to
 * consume concept distillation's (same temperature, same centre). `createObjectives` calls this; call
 * it yourself on a list you assembled from separately created objectives. Returns the list.
 */
export function linkTeacherDistributions<T extends WeightedObjective | Objective>(objectives: readonly T[]): readonly T[] {
  const list = objectives.map((o) => asWeighted(o).objective);
  const distillation = list.find((o): o is ConceptDistillation => o instanceof ConceptDistillation);
  if (distillation) {
    for (const o of list) if (o instanceof ConceptAlignment) o.useTeacherDistribution(distillation.teacherDistribution);
  }
  return objectives;
}

/** An objective with its weight; a bare objective gets weight 1. */
export function asWeighted(entry: WeightedObjective | Objective): WeightedObjective {
  return 'objective' in entry && typeof (entry as WeightedObjective).weight === 'number'
    ? (entry as WeightedObjective)
    : { objective: entry as Objective, weight: 1 };
}

/** Options of {@link sumLossTerms}. */
export interface SumLossTermsOptions {
  /**
   * `tf.keep` the returned terms so they survive an enclosing `tf.tidy` (e.g. the forward pass of
   * `tf.variableGrads`, which disposes everything but the returned loss). The caller disposes them.
   */
  readonly keepTerms?: boolean;
}

/**
 * The total loss `Σ_i weight_i · terms_i.loss` and every objective's terms (unweighted), named
 * `<id>/<term>` (e.g. `concept-distillation/loss`, `concept-distillation/category`, `uniform-prior/loss`).
 * Objectives may be bare (weight 1) or weighted. Runs inside the gradient tape; all returned scalars are
 * new (the caller disposes them).
 *
 * @example
 * const { value, grads } = tf.variableGrads(() => {
 *   const { total, terms } = sumLossTerms(objectives, inputs, { keepTerms: true });
 *   logged = terms; // disposed by the caller after logging
 *   return total;
 * }, trainableVariables);
 */
export function sumLossTerms(
  objectives: readonly (WeightedObjective | Objective)[],
  inputs: ObjectiveInputs,
  options: SumLossTermsOptions = {},
): { total: tf.Scalar; terms: Record<string, tf.Scalar> } {
  const weighted = objectives.map(asWeighted);
  if (weighted.length === 0) {
    throw new ConfigError('sumLossTerms: received no objectives; expected at least one (e.g. concept-distillation).');
  }
  const ids = new Set<string>();
  for (const { objective, weight } of weighted) {
    checkObjective(objective, 'sumLossTerms: an entry');
    if (ids.has(objective.id)) {
      throw new ConfigError(
        `sumLossTerms: two objectives have id '${objective.id}'; their terms would share names. Give each objective a distinct id.`,
      );
    }
    ids.add(objective.id);
    if (!(Number.isFinite(weight) && weight >= 0)) {
      throw new ConfigError(`sumLossTerms: weight of '${objective.id}' must be a finite number >= 0; received ${weight}.`);
    }
  }
  const result = tf.tidy(() => {
    const terms: Record<string, tf.Scalar> = {};
    const contributions: tf.Scalar[] = [];
    for (const { objective, weight } of weighted) {
      const own = objective.terms(inputs);
      if (!(own?.loss instanceof tf.Tensor) || own.loss.rank !== 0) {
        throw new ShapeError(
          `Objective '${objective.id}' returned terms without a scalar 'loss' (keys: ${Object.keys(own ?? {}).join(', ') || 'none'}). terms() must return { loss: tf.Scalar, ...diagnostics }.`,
        );
      }
      for (const [key, value] of Object.entries(own)) terms[`${objective.id}/${key}`] = value;
      contributions.push(tf.mul(own.loss, weight));
    }
    return { total: tf.addN(contributions) as tf.Scalar, terms };
  });
  if (options.keepTerms) for (const value of Object.values(result.terms)) tf.keep(value);
  return result;
}

/** Every objective's checkpoint variables, keyed by path (the tf.Variable names). */
export function objectiveVariables(objectives: readonly (WeightedObjective | Objective)[]): Map<string, tf.Variable> {
  const all = new Map<string, tf.Variable>();
  for (const { objective } of objectives.map(asWeighted)) {
    for (const [key, variable] of objective.variables?.() ?? []) {
      if (all.has(key)) throw new ConfigError(`objectiveVariables: two objectives own a variable named '${key}'.`);
      all.set(key, variable);
    }
  }
  return all;
}

/**
 * Restores what {@link objectiveVariables} saved. A key goes to the objective that owns it, or (for
 * state created lazily, like concept-distillation's centres) to the objective whose scope
 * (`config.scope`, else `objectives/<id>`) prefixes it. Unclaimed keys throw.
 */
export function loadObjectiveVariables(objectives: readonly (WeightedObjective | Objective)[], values: VariableValues): void {
  const list = objectives.map(asWeighted).map(({ objective }) => objective);
  const routed = new Map<Objective, Map<string, tf.Tensor>>(list.map((o) => [o, new Map()]));
  for (const [key, value] of valueEntries(values)) {
    const owner =
      list.find((o) => o.variables?.().has(key)) ??
      list.find((o) => {
        const scope = (o as { config?: { scope?: unknown } }).config?.scope;
        return key.startsWith(`${typeof scope === 'string' ? scope : `objectives/${o.id}`}/`);
      });
    if (owner === undefined) {
      throw new WeightsError(
        `loadObjectiveVariables: no objective owns '${key}'. Objectives: ${list.map((o) => o.id).join(', ')}. Was the checkpoint made with other objectives?`,
      );
    }
    routed.get(owner)?.set(key, value);
  }
  for (const [objective, own] of routed) {
    if (objective.loadVariables !== undefined) objective.loadVariables(own);
    else if (own.size > 0) {
      throw new WeightsError(
        `loadObjectiveVariables: '${objective.id}' has no loadVariables() but the checkpoint has ${[...own.keys()].join(', ')}.`,
      );
    }
  }
}
