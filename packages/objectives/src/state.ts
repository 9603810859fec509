/**
 * Helpers for the state an objective owns: restoring `tf.Variable`s from saved tensors with shape
 * checks (house style 4.9: update with `assign`, never replace a variable).
 */
import { ConfigError, formatShape, WeightsError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';
import type { VariableValues } from './types.js';

/** The entries of a Map or a plain record of tensors. */
export function valueEntries(values: VariableValues): [string, tf.Tensor][] {
  return values instanceof Map ? [...values.entries()] : Object.entries(values as Record<string, tf.Tensor>);
}

/**
 * Assigns `values` into `variables` (same keys). Every variable must have a value and every value a
 * variable, unless `create` accepts the unknown key and returns a new variable for it.
 */
export function assignVariables(
  owner: string,
  variables: ReadonlyMap<string, tf.Variable>,
  values: VariableValues,
  create?: (key: string, value: tf.Tensor) => tf.Variable | undefined,
): void {
  const entries = valueEntries(values);
  const given = new Set(entries.map(([key]) => key));
  const missing = [...variables.keys()].filter((key) => !given.has(key));
  if (missing.length > 0) {
    throw new WeightsError(
      `${owner}: no saved value for ${missing.join(', ')}. Expected every key of variables(): ${[...variables.keys()].join(', ')}. Was the checkpoint written by a differently configured objective?`,
    );
  }
  for (const [key, value] of entries) {
    const variable = variables.get(key);
    if (variable === undefined) {
      if (create?.(key, value) !== undefined) continue;
      throw new WeightsError(
        `${owner}: unknown saved variable ${JSON.stringify(key)}. Expected keys: ${[...variables.keys()].join(', ') || '(none)'}.`,
      );
    }
    if (!tf.util.arraysEqual(variable.shape, value.shape)) {
      throw new WeightsError(
        `${owner}: saved ${key} has shape ${formatShape(value.shape)}; expected ${formatShape(variable.shape)}. Check the objective's config (e.g. outDim, concept counts).`,
      );
    }
    tf.tidy(() => variable.assign(tf.cast(value, variable.dtype)));
  }
}

/** Throws a clear error when a tf.Variable name is taken (tfjs variable names are process-global). */
export function assertVariableNameFree(owner: string, name: string): void {
  if (tf.engine().registeredVariables[name] !== undefined) {
    throw new ConfigError(
      `${owner}: a tf.Variable named '${name}' already exists. Dispose the previous objective, or give this one another scope (option 'scope').`,
    );
  }
}
