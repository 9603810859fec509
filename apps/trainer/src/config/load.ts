/**
 * Config files and overrides: named JSON or YAML files with `extends`, `--set key=value` overrides
 * checked against the schema and parsed by type, unknown keys rejected with the list of valid ones
 * (nanoGPT `configurator.py`, flax `configs/` overrides). The result is validated by the zod schema.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { totalmem } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, echoValue } from '@lss/core';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { type TrainConfig, trainConfigSchema } from './schema.js';

/** Folder of the shipped named configs (`apps/trainer/configs`), found from source or from `dist/`. */
export const CONFIGS_DIR = findConfigsDir();

function findConfigsDir(): string {
  // src/config/load.ts -> ../../configs; dist/main.js (bundled) -> ../configs.
  const here = dirname(fileURLToPath(import.meta.url));
  for (const rel of ['../../configs', '../configs']) if (existsSync(join(here, rel, 'lss-tiny-synthetic.yaml'))) return resolve(here, rel);
  return resolve(here, '../../configs');
}

const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

/**
 * Keys whose string values are file-system paths. In a config file they are resolved against that
 * file's folder; in `--set` overrides, against the current directory.
 */
const PATH_KEYS: readonly (readonly string[])[] = [
  ['workdir'],
  ['model', 'clip'],
  ['concepts', 'textModel'],
  ['concepts', 'cacheDir'],
  ['concepts', 'world'],
  ['data', 'root'],
  ['data', 'annotations'],
];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Keys that reach an object's prototype when used as property names. No config key has these names;
 * accepting them would let `--set __proto__.x=1` (or a config file) modify `Object.prototype`.
 */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

function forbiddenKeyError(key: string, where: string): ConfigError {
  return new ConfigError(
    `${where}: the key ${JSON.stringify(key)} is not allowed (it names the JavaScript prototype chain, not a config field). ` +
      'Remove it; config keys are the fields listed by the schema (e.g. optimizer.learningRate).',
  );
}

/** Throws a ConfigError if `value` holds a prototype-reaching key at any depth. */
function rejectForbiddenKeys(value: unknown, where: string, path: readonly string[] = []): void {
  if (Array.isArray(value)) {
    value.forEach((v, i) => rejectForbiddenKeys(v, where, [...path, String(i)]));
  } else if (typeof value === 'object' && value !== null) {
    // Own keys only, `__proto__` included (JSON.parse and YAML create it as an own property).
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw forbiddenKeyError(key, `${where}${path.length ? ` at ${path.join('.')}` : ''}`);
      rejectForbiddenKeys((value as Record<string, unknown>)[key], where, [...path, key]);
    }
  }
}

/**
 * Finds a config by name or path: an existing path as given, else `<name>` with a config extension
 * in the current folder, else in the shipped `configs/` folder.
 */
export function resolveConfigPath(nameOrPath: string, fromDir = process.cwd()): string {
  const candidates: string[] = [];
  const bases = isAbsolute(nameOrPath) ? [''] : [fromDir, CONFIGS_DIR];
  for (const base of bases) {
    const p = base ? resolve(base, nameOrPath) : nameOrPath;
    candidates.push(p);
    if (existsSync(p) && CONFIG_EXTENSIONS.includes(extname(p))) return p;
    for (const ext of CONFIG_EXTENSIONS) {
      candidates.push(p + ext);
      if (existsSync(p + ext)) return p + ext;
    }
  }
  throw new ConfigError(
    `Config ${JSON.stringify(nameOrPath)} not found; looked for: ${candidates.join(', ')}. ` +
      `Pass a path to a .yaml/.yml/.json file or the name of a shipped config (${listShippedConfigs().join(', ') || 'none'}).`,
  );
}

/** Names of the configs shipped in `configs/`. */
export function listShippedConfigs(): string[] {
  try {
    return readdirSync(CONFIGS_DIR)
      .filter((f) => CONFIG_EXTENSIONS.includes(extname(f)))
      .map((f) => f.slice(0, -extname(f).length));
  } catch {
    return [];
  }
}

/**
 * Reads one config file and everything it `extends` (a name or a path relative to the file; a list is
 * merged left to right), deep-merging objects (arrays and scalars are replaced). Relative paths in
 * path-valued keys are made absolute against the file that sets them. Returns raw (unvalidated) data.
 */
export function readConfigFile(nameOrPath: string, seen: readonly string[] = []): JsonObject {
  const path = resolveConfigPath(nameOrPath, seen.length > 0 ? dirname(seen[seen.length - 1] as string) : process.cwd());
  if (seen.includes(path)) {
    throw new ConfigError(`Config files extend each other in a cycle: ${[...seen, path].join(' -> ')}. Remove one of the extends.`);
  }
  const text = readFileSync(path, 'utf8');
  let data: unknown;
  try {
    data = extname(path) === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    throw new ConfigError(`Cannot parse config file ${path}: ${(cause as Error).message}. Fix the syntax.`, { cause });
  }
  if (data == null) data = {};
  if (!isObject(data)) {
    throw new ConfigError(`Config file ${path} must hold an object (key: value pairs); received ${describe(data)}.`);
  }
  rejectForbiddenKeys(data, `Config file ${path}`);
  const { extends: parents, ...own } = data;
  absolutizePaths(own, dirname(path));
  let merged: JsonObject = {};
  const parentList = parents == null ? [] : Array.isArray(parents) ? parents : [parents];
  for (const parent of parentList) {
    if (typeof parent !== 'string') {
      throw new ConfigError(`${path}: "extends" must be a config name or path (or a list of them); received ${describe(parent)}.`);
    }
    merged = deepMerge(merged, readConfigFile(parent, [...seen, path]));
  }
  return deepMerge(merged, own);
}

function absolutizePaths(data: JsonObject, baseDir: string): void {
  for (const keyPath of PATH_KEYS) {
    let node: Json | undefined = data;
    for (const key of keyPath.slice(0, -1)) node = isObject(node) ? node[key] : undefined;
    const last = keyPath[keyPath.length - 1] as string;
    if (isObject(node) && typeof node[last] === 'string') node[last] = resolve(baseDir, node[last] as string);
  }
  if (typeof data.concepts === 'object' && isObject(data.concepts)) {
    const t = data.concepts.templates;
    if (typeof t === 'string' && t !== 'default') data.concepts.templates = resolve(baseDir, t);
  }
  if (Array.isArray(data.objectives)) {
    for (const o of data.objectives) if (isObject(o) && typeof o.module === 'string') o.module = resolve(baseDir, o.module);
  }
}

/**
 * Deep merge: objects merge key by key, everything else (arrays included) is replaced by `b`. An
 * object whose discriminator (`kind` or `name`) differs from the one it overrides replaces it whole,
 * so `data: { kind: synthetic, ... }` does not inherit the keys of a `kinetics400` parent.
 */
export function deepMerge(a: JsonObject, b: JsonObject): JsonObject {
  const out: JsonObject = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const prev = out[key];
    out[key] = isObject(prev) && isObject(value) && !discriminatorChanged(prev, value) ? deepMerge(prev, value) : value;
  }
  return out;
}

function discriminatorChanged(a: JsonObject, b: JsonObject): boolean {
  return ['kind', 'name'].some((k) => k in b && k in a && a[k] !== b[k]);
}

// ---------------------------------------------------------------------------------------------
// --set key=value

type Schema = z.ZodType;
interface Def {
  type: string;
  innerType?: Schema;
  shape?: Record<string, Schema>;
  element?: Schema;
  items?: Schema[];
  options?: Schema[];
  /** z.enum's members (zod 4 keeps them here, not in `values`). */
  entries?: Record<string, string | number>;
  values?: unknown[];
  discriminator?: string;
  in?: Schema;
  valueType?: Schema;
}
const defOf = (s: Schema): Def => (s as unknown as { def: Def }).def;

/** Strips default/optional/nullable/pipe wrappers; reports whether null is accepted. */
function unwrap(schema: Schema): { schema: Schema; nullable: boolean } {
  let s = schema;
  let nullable = false;
  for (;;) {
    const def = defOf(s);
    if (def.type === 'default' || def.type === 'optional' || def.type === 'prefault' || def.type === 'readonly')
      s = def.innerType as Schema;
    else if (def.type === 'nullable') {
      nullable = true;
      s = def.innerType as Schema;
    } else if (def.type === 'pipe') s = def.in as Schema;
    else return { schema: s, nullable };
  }
}

/** Valid keys of an object schema (for error messages). */
function keysOf(schema: Schema): string[] {
  const def = defOf(unwrap(schema).schema);
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

/**
 * Applies one `key=value` override to raw config data, in place. The key is a dotted path checked
 * against the schema (array elements by index: `objectives.0.weight`); the value is parsed as the
 * type the schema expects there (numbers, booleans, `null`, enums, JSON for arrays and objects).
 */
export function applyOverride(data: JsonObject, assignment: string, schema: Schema = trainConfigSchema): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) {
    throw new ConfigError(`--set expects key=value (e.g. --set optimizer.baseLearningRate=5e-4); received ${echoValue(assignment)}.`);
  }
  const key = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  if (key.length > 200) {
    throw new ConfigError(
      `--set: the key ${echoValue(key)} is ${key.length} characters long; config keys are dotted field names such as optimizer.learningRate.`,
    );
  }
  const parts = key.split('.');
  for (const part of parts) if (FORBIDDEN_KEYS.has(part)) throw forbiddenKeyError(part, `--set ${key}`);
  let node: Schema = schema;
  let target: Json = data;
  const walked: string[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const last = i === parts.length - 1;
    let { schema: inner } = unwrap(node);
    let def = defOf(inner);
    if (def.type === 'union' && def.discriminator) {
      // Pick the arm from the value already there (e.g. objectives.1.name).
      const current = isObject(target) ? target[def.discriminator] : undefined;
      const arm = def.options?.find((o) => {
        const d = defOf(unwrap(o).schema);
        const lit = d.shape?.[def.discriminator as string];
        if (lit === undefined) return false;
        // The discriminator is a z.literal (values) or a z.enum (entries), e.g. data.kind.
        const ld = defOf(unwrap(lit).schema);
        return (ld.values ?? Object.values(ld.entries ?? {})).includes(current);
      });
      if (!arm) {
        throw new ConfigError(
          `--set ${key}: ${walked.join('.') || 'value'} has ${def.discriminator} ${JSON.stringify(current)}, which selects no variant; ` +
            `set the whole entry as JSON instead (--set ${walked.join('.')}='{"${def.discriminator}": ...}').`,
        );
      }
      inner = unwrap(arm).schema;
      def = defOf(inner);
    }
    let childSchema: Schema;
    let childKey: string | number;
    if (def.type === 'object') {
      const shape = def.shape ?? {};
      if (!Object.hasOwn(shape, part)) {
        throw new ConfigError(
          `Unknown config key ${JSON.stringify([...walked, part].join('.'))} in --set ${key}; valid keys${walked.length ? ` under ${walked.join('.')}` : ''}: ${Object.keys(shape).join(', ')}.`,
        );
      }
      childSchema = shape[part] as Schema;
      childKey = part;
    } else if (def.type === 'record') {
      childSchema = def.valueType as Schema;
      childKey = part;
    } else if (def.type === 'array' || def.type === 'tuple') {
      const index = Number(part);
      const length = Array.isArray(target) ? target.length : 0;
      if (!Number.isInteger(index) || index < 0 || (def.type === 'array' && index >= length)) {
        throw new ConfigError(
          `--set ${key}: ${walked.join('.')} is a list of ${length} entries; ${JSON.stringify(part)} is not a valid index (0..${length - 1}). ` +
            `To replace the whole list, pass JSON: --set ${walked.join('.')}='[...]'.`,
        );
      }
      childSchema = def.type === 'array' ? (def.element as Schema) : (def.items?.[index] as Schema);
      if (!childSchema) throw new ConfigError(`--set ${key}: index ${index} is beyond the tuple at ${walked.join('.')}.`);
      childKey = index;
    } else {
      throw new ConfigError(`--set ${key}: ${walked.join('.')} is a ${def.type}, which has no key ${JSON.stringify(part)}.`);
    }
    walked.push(part);
    if (last) {
      const value = parseValue(raw, childSchema, key);
      rejectForbiddenKeys(value, `--set ${key}`);
      const finalValue = isPathKey(walked) && typeof value === 'string' ? resolve(value) : value;
      setChild(target, childKey, finalValue);
      return;
    }
    let child = getChild(target, childKey);
    if (child === undefined || child === null) {
      // Start from the schema's default (e.g. the default objectives list) so `objectives.1.weight` works unset.
      child = defaultOf(childSchema) ?? {};
      setChild(target, childKey, child);
    }
    target = child;
    node = childSchema;
  }
}

function defaultOf(schema: Schema): Json | undefined {
  const def = defOf(schema) as Def & { defaultValue?: unknown };
  if (def.type === 'default') return structuredClone(def.defaultValue) as Json;
  return undefined;
}

function isPathKey(walked: string[]): boolean {
  if (PATH_KEYS.some((p) => p.length === walked.length && p.every((k, i) => k === walked[i]))) return true;
  return walked.length === 3 && walked[0] === 'objectives' && walked[2] === 'module';
}

function getChild(target: Json, key: string | number): Json | undefined {
  if (Array.isArray(target)) return target[key as number];
  if (isObject(target)) return target[key as string];
  return undefined;
}

function setChild(target: Json, key: string | number, value: Json): void {
  if (Array.isArray(target)) target[key as number] = value;
  else if (isObject(target)) target[key as string] = value;
}

/** Parses a `--set` value as the type the schema expects at that key. */
function parseValue(raw: string, schema: Schema, key: string): Json {
  const { schema: inner, nullable } = unwrap(schema);
  const def = defOf(inner);
  const text = raw.trim();
  if (nullable && (text === 'null' || text === '~')) return null;
  const fail = (expected: string): never => {
    throw new ConfigError(`--set ${key}: expected ${expected}${nullable ? ' or null' : ''}; received ${echoValue(raw)}.`);
  };
  switch (def.type) {
    case 'number': {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) fail('a number');
      return n;
    }
    case 'boolean':
      if (['true', 'yes', 'on', '1'].includes(text.toLowerCase())) return true;
      if (['false', 'no', 'off', '0'].includes(text.toLowerCase())) return false;
      return fail('true or false');
    case 'string':
      return raw;
    case 'enum': {
      const values = Object.values(def.entries ?? {}).map(String);
      if (!values.includes(text)) fail(`one of ${values.join(', ')}`);
      return text;
    }
    case 'literal':
      return text;
    case 'array':
    case 'tuple':
    case 'object':
    case 'record':
    case 'union': {
      try {
        return parseYaml(text) as Json; // JSON is YAML; YAML flow style ([1, 2], {a: 1}) works too.
      } catch {
        return fail(`a ${def.type} written as JSON or YAML`);
      }
    }
    default:
      try {
        return parseYaml(text) as Json;
      } catch {
        return raw;
      }
  }
}

// ---------------------------------------------------------------------------------------------

/** Validates raw config data with the schema; errors list every problem with its key path. */
export function validateConfig(data: unknown, source = 'config'): TrainConfig {
  const result = trainConfigSchema.safeParse(data);
  if (result.success) {
    checkStepInputMemory(result.data);
    return result.data;
  }
  const lines = result.error.issues.map((issue) => {
    const path = issue.path.map(String).join('.') || '(root)';
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map((k) => JSON.stringify(k)).join(', ');
      const valid = keysAt(issue.path as (string | number)[], data);
      return `  - unknown key${issue.keys.length > 1 ? 's' : ''} ${keys} at ${path}; valid keys: ${valid.join(', ')}`;
    }
    if (issue.code === 'invalid_union' && 'discriminator' in issue) {
      const options = (issue as unknown as { options?: unknown[] }).options ?? [];
      return `  - ${path}: unknown value; expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}`;
    }
    return `  - ${path}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid ${source}:\n${lines.join('\n')}\nFix these keys in the config file or with --set key=value.`);
}

/** The valid keys of the object schema found at `path` (following discriminators through `data`). */
function keysAt(path: (string | number)[], data: unknown): string[] {
  let node: Schema = trainConfigSchema;
  let value: unknown = data;
  for (const part of path) {
    let inner = unwrap(node).schema;
    let def = defOf(inner);
    if (def.type === 'union' && def.discriminator) {
      const current = isObject(value as Json) ? (value as JsonObject)[def.discriminator] : undefined;
      const arm = def.options?.find((o) =>
        (defOf(defOf(unwrap(o).schema).shape?.[def.discriminator as string] as Schema)?.values ?? []).includes(current),
      );
      if (!arm) return [];
      inner = unwrap(arm).schema;
      def = defOf(inner);
    }
    if (def.type === 'object') node = def.shape?.[part as string] as Schema;
    else if (def.type === 'array') node = def.element as Schema;
    else return [];
    if (!node) return [];
    value = (value as Record<string | number, unknown> | undefined)?.[part];
  }
  let inner = unwrap(node).schema;
  const def = defOf(inner);
  if (def.type === 'union' && def.discriminator) {
    const current = isObject(value as Json) ? (value as JsonObject)[def.discriminator] : undefined;
    const arm = def.options?.find((o) =>
      (defOf(defOf(unwrap(o).schema).shape?.[def.discriminator as string] as Schema)?.values ?? []).includes(current),
    );
    if (arm) inner = unwrap(arm).schema;
  }
  return keysOf(inner);
}

/**
 * Host bytes of the input views of one training step, the step being trained plus the prefetched next
 * one: `2 × batchSize × numFrames × 3 × 4 × (numGlobal × globalSize² + numLocal × localSize²)`
 * (float32, channels-last). Activations come on top; this is the product of settings that can explode.
 */
export function estimateStepInputBytes(config: Pick<TrainConfig, 'views' | 'training'>): number {
  const v = config.views;
  const pixels = v.numGlobal * v.globalSize * v.globalSize + v.numLocal * v.localSize * v.localSize;
  return 2 * config.training.batchSize * v.numFrames * 3 * 4 * pixels;
}

const GiB = 1024 ** 3;

/** Throws a ConfigError naming the fields when one step's input views cannot fit in this machine's memory. */
function checkStepInputMemory(config: TrainConfig, totalBytes: number = totalmem()): void {
  const need = estimateStepInputBytes(config);
  if (need <= totalBytes / 2) return;
  const v = config.views;
  throw new ConfigError(
    `The input views of one training step need ${(need / GiB).toFixed(1)} GiB of host memory ` +
      `(2 steps in flight × training.batchSize ${config.training.batchSize} × views.numFrames ${v.numFrames} × 3 × 4 bytes × ` +
      `(views.numGlobal ${v.numGlobal} × views.globalSize ${v.globalSize}² + views.numLocal ${v.numLocal} × views.localSize ${v.localSize}²)); ` +
      `this machine has ${(totalBytes / GiB).toFixed(1)} GiB and at most half of it may go to inputs. ` +
      'Lower training.batchSize (use optimizer.accumulationSteps for the same effective batch), views.globalSize, views.localSize, views.numFrames or views.numLocal.',
  );
}

export interface LoadConfigOptions {
  /** `key=value` overrides, applied in order after the files. */
  readonly overrides?: readonly string[];
}

/**
 * Loads and validates a config: a name (`lss-tiny-synthetic`) or path, plus `--set` overrides.
 *
 * @example
 * const config = loadConfig('lss-tiny-synthetic', { overrides: ['training.maxSteps=4'] });
 */
export function loadConfig(nameOrPath: string, options: LoadConfigOptions = {}): TrainConfig {
  const data = readConfigFile(nameOrPath);
  return configFromData(data, options, nameOrPath);
}

/** Validates an in-memory config object (same overrides and errors as files). */
export function configFromData(data: Record<string, unknown>, options: LoadConfigOptions = {}, source = 'config'): TrainConfig {
  rejectForbiddenKeys(data, source);
  const copy = structuredClone(data) as JsonObject;
  for (const assignment of options.overrides ?? []) applyOverride(copy, assignment);
  return validateConfig(copy, source);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return `${typeof v} ${JSON.stringify(v)}`;
}
