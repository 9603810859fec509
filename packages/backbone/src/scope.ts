/**
 * `Scope`: naming, trainability and seeding of variables.
 *
 * Every variable has a `/`-separated path rooted at a role (`student/blocks/3/temporalAttn/qkv/kernel`,
 * `teacher/...`). All scopes derived from one root share one registry (`Map<path, tf.Variable>`), which
 * gives checkpoints, EMA pairing and `trainableVariables()` in a stable (creation) order.
 *
 * tfjs variable names are process-global: the tfjs name is the path when it is free, else the path
 * plus `#n`. Always address variables by {@link Scope.variables} paths, not by `variable.name`.
 */
import { ConfigError, formatShape, hashString, ShapeError } from '@lss/core';
import * as tf from '@tensorflow/tfjs-core';

interface Registry {
  readonly variables: Map<string, tf.Variable>;
  readonly seed: number;
  disposed: boolean;
  readonly initialValues: ReadonlyMap<string, tf.Tensor> | undefined;
  readonly provided: Set<string>;
}

export interface ScopeOptions {
  /** Whether variables created under this scope are trainable (default true). A frozen teacher: false. */
  readonly trainable?: boolean;
  /** Global seed; each variable's initialiser is seeded by hash(seed, path). Default 0. */
  readonly seed?: number;
  /**
   * Values to use instead of the initialisers, by full path (used by the weight importers so that a
   * large model is never randomly initialised first). Each used tensor is taken over (disposed).
   */
  readonly initialValues?: ReadonlyMap<string, tf.Tensor>;
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

export class Scope {
  /** Full path of this scope (`student/blocks/3`). */
  readonly path: string;
  readonly trainable: boolean;
  private readonly registry: Registry;

  /**
   * @param root Role name of the root (`student`, `teacher`, `clip`). Segments: letters, digits, `_.-`.
   */
  constructor(root: string, options: ScopeOptions = {}) {
    checkSegments(root);
    this.path = root;
    this.trainable = options.trainable ?? true;
    this.registry = {
      variables: new Map(),
      seed: options.seed ?? 0,
      disposed: false,
      initialValues: options.initialValues,
      provided: new Set(),
    };
  }

  /** A child scope `this.path/name`, sharing the registry; `trainable` may be narrowed. */
  child(name: string | number, options: { trainable?: boolean } = {}): Scope {
    const segment = String(name);
    checkSegments(segment);
    const child = Object.create(Scope.prototype) as Scope;
    Object.assign(child, {
      path: `${this.path}/${segment}`,
      trainable: options.trainable ?? this.trainable,
      registry: this.registry,
    });
    return child;
  }

  /** Full path of a name under this scope. */
  pathOf(name: string): string {
    return `${this.path}/${name}`;
  }

  /** A deterministic seed for `name`: hash of (global seed, full path). */
  seedFor(name: string): number {
    return hashString(this.pathOf(name), (this.registry.seed ^ 0x811c9dc5) >>> 0);
  }

  /**
   * Creates a variable `this.path/name` of `shape` from `init` (a tensor, which the variable takes over,
   * or a function making one), unless the root's `initialValues` hold a tensor for this path (it must
   * have `shape`). Throws {@link ConfigError} if the path exists already.
   */
  variable(
    name: string,
    shape: readonly number[],
    init: tf.Tensor | (() => tf.Tensor),
    options: { trainable?: boolean } = {},
  ): tf.Variable {
    if (this.registry.disposed) throw new ConfigError(`Scope ${this.path} was disposed; create a new one.`);
    checkSegments(name);
    const path = this.pathOf(name);
    if (this.registry.variables.has(path)) {
      throw new ConfigError(`Variable ${path} exists already; every path must be unique within a root scope.`);
    }
    const given = this.registry.initialValues?.get(path);
    if (given) {
      assertShape(`Weights for ${path}`, given, shape);
      this.registry.provided.add(path);
      if (typeof init !== 'function') init.dispose();
    }
    const initial = given ?? (typeof init === 'function' ? init() : init);
    assertShape(`Initial value of ${path}`, initial, shape);
    const registered = tf.engine().registeredVariables;
    let tfName = path;
    for (let n = 1; registered[tfName] !== undefined; n++) tfName = `${path}#${n}`;
    const v = tf.variable(initial, options.trainable ?? this.trainable, tfName);
    initial.dispose();
    this.registry.variables.set(path, v);
    return v;
  }

  /** Whether the variable at `path` took its value from `initialValues`. */
  wasProvided(path: string): boolean {
    return this.registry.provided.has(path);
  }

  /** Variables under this scope (all of them for the root), by path, in creation order. */
  variables(): Map<string, tf.Variable> {
    const prefix = `${this.path}/`;
    const out = new Map<string, tf.Variable>();
    for (const [p, v] of this.registry.variables) if (p.startsWith(prefix)) out.set(p, v);
    return out;
  }

  /** Trainable variables under this scope in creation order (stable across runs). */
  trainableVariables(): tf.Variable[] {
    return [...this.variables().values()].filter((v) => v.trainable);
  }

  /** The variable at a full path; throws {@link ConfigError} naming the path if absent. */
  get(path: string): tf.Variable {
    const v = this.registry.variables.get(path);
    if (!v) throw new ConfigError(`No variable ${path} under ${this.path}.`);
    return v;
  }

  /** Disposes every variable under this scope and forgets them. */
  dispose(): void {
    for (const [p, v] of this.variables()) {
      v.dispose();
      this.registry.variables.delete(p);
    }
    if (!this.path.includes('/')) this.registry.disposed = true;
  }
}

function checkSegments(path: string): void {
  for (const s of path.split('/')) {
    if (!SEGMENT.test(s)) {
      throw new ConfigError(`Scope path segment ${JSON.stringify(s)} in ${JSON.stringify(path)} is invalid; use letters, digits, _ . -`);
    }
  }
}

/** Throws {@link ShapeError} unless `tensor` has exactly `expected` shape. */
export function assertShape(what: string, tensor: { shape: readonly number[] }, expected: readonly number[]): void {
  const s = tensor.shape;
  if (s.length !== expected.length || s.some((d, i) => d !== expected[i])) {
    throw new ShapeError(`${what} has shape ${formatShape(s)}; expected ${formatShape(expected)}.`);
  }
}
