/**
 * esbuild plugin (used by tsup.config.ts) that bundles tfjs-core's own registrations, the ones the
 * `@tensorflow/tfjs` umbrella performs on import, into `dist/tfjs-registrations.js`:
 * `dist/register_all_gradients.js` (every gradient, so `tf.grad` works) and
 * `dist/public/chained_ops/register_all_chained_ops.js` (tensor methods such as `x.abs()`), from
 * tfjs-core 4.22.0. Consumers of `@lss/core` then need only `@tensorflow/tfjs-core`, not the umbrella
 * (which pulls core-js, layers, converter, data and webgl: 308 MB installed).
 *
 * Why a bundle: tfjs-core's ESM files use extension-less relative imports (`'../ops/mul'`), which
 * Node's ESM loader refuses, and its Node entry (`tf-core.node.js`) contains neither registration.
 *
 * How: the registration files (`dist/gradients/*.js`, `dist/public/chained_ops/*.js`) are bundled as
 * they are; every module they import
 * from the rest of tfjs-core is replaced by a small generated module that re-exports the same names
 * from tfjs-core's PUBLIC API (`import * as tf from '@tensorflow/tfjs-core'`), so the bundle holds no
 * second copy of the engine, the Tensor class or the ops. A handful of op wrappers that tfjs-core does
 * not export publicly (the backprop ops of pooling and convolutions) are bundled from their files.
 * Any name that cannot be mapped fails the build (esbuild: "No matching export"), so a tfjs upgrade
 * cannot silently produce a broken bundle.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import type { Options } from 'tsup';

type Plugin = NonNullable<Options['esbuildPlugins']>[number];

const require = createRequire(import.meta.url);
/** tfjs-core's `dist/` folder. */
const CORE_DIST = dirname(require.resolve('@tensorflow/tfjs-core'));
const PUBLIC = require('@tensorflow/tfjs-core') as Record<string, unknown>;

/** Modules bundled from their own files (paths relative to tfjs-core's dist/, without `.js`). */
const BUNDLED = [
  /^register_all_gradients$/,
  /^gradients\/[A-Za-z0-9_]+$/,
  /^public\/chained_ops\/[A-Za-z0-9_]+$/,
  /^ops\/(avg_pool_grad|avg_pool_3d_grad|max_pool_grad|max_pool_3d_grad)$/,
  /^ops\/(conv2d_backprop_filter|conv2d_backprop_input|conv3d_backprop_filter|conv3d_backprop_input)$/,
  /^ops\/(depthwise_conv2d_native_backprop_filter|depthwise_conv2d_native_backprop_input)$/,
  /^ops\/local_response_normalization_backprop$/,
];

/** Internal modules whose exports live in a public namespace of tfjs-core rather than at its top level. */
const NAMESPACE: Record<string, string> = {
  util: 'util',
  util_base: 'util',
  'ops/broadcast_util': 'broadcast_util',
  'ops/slice_util': 'slice_util',
  'ops/axis_util': 'backend_util',
  'ops/conv_util': 'backend_util',
  'ops/selu_util': 'backend_util',
  'ops/reduce_util': 'backend_util',
  'ops/image/resize_bilinear': 'image',
  'ops/image/resize_nearest_neighbor': 'image',
};

/** Hand-written stand-ins for internal names the bundled files import and tfjs-core does not export. */
const SPECIAL: Record<string, string> = {
  // `ENGINE` is the singleton that the public `engine()` returns.
  engine: 'export const ENGINE = tf.engine();',
  // With one tfjs-core in the tree the public `Tensor` is the class tfjs registers globally.
  tensor: 'export const Tensor = tf.Tensor;\nexport function getGlobalTensorClass() { return tf.Tensor; }',
  // The bundled op wrappers pass tensors they received from the tape; anything else is converted the
  // way tfjs's ops convert tensor-likes.
  tensor_util_env: [
    'export function convertToTensor(x, argName, functionName, parseAsDtype) {',
    '  if (x instanceof tf.Tensor) return x;',
    "  if (x == null) throw new Error('Argument ' + argName + ' passed to ' + functionName + ' must be a Tensor or TensorLike, but got ' + x);",
    "  return tf.tensor(x, undefined, parseAsDtype === 'string_or_numeric' ? undefined : parseAsDtype);",
    '}',
  ].join('\n'),
};

/** Value names a module exports, read from its `.d.ts` (type-only names are skipped). */
function exportedNames(module: string, seen = new Set<string>()): string[] {
  if (seen.has(module)) return [];
  seen.add(module);
  const dts = join(CORE_DIST, `${module}.d.ts`);
  if (!existsSync(dts)) return [];
  const text = readFileSync(dts, 'utf8');
  const names: string[] = [];
  for (const m of text.matchAll(/^export declare (?:abstract )?(?:function|const|let|var|class|enum) ([A-Za-z_$][\w$]*)/gm))
    names.push(m[1] as string);
  for (const m of text.matchAll(/^export \{([^}]*)\}/gm)) {
    for (const part of (m[1] as string).split(',')) {
      const name = part
        .trim()
        .split(/\s+as\s+/)
        .pop()
        ?.trim();
      if (name && !part.trim().startsWith('type ')) names.push(name);
    }
  }
  for (const m of text.matchAll(/^export \* from '([^']+)'/gm)) {
    names.push(...exportedNames(join(dirname(module), m[1] as string), seen));
  }
  return names;
}

/** The generated module standing in for tfjs-core's internal `module`. */
function publicShim(module: string): string {
  if (SPECIAL[module]) return `import * as tf from '@tensorflow/tfjs-core';\n${SPECIAL[module]}\n`;
  const namespace = NAMESPACE[module] ?? (module.endsWith('_util') ? 'backend_util' : undefined);
  const lines = ["import * as tf from '@tensorflow/tfjs-core';"];
  for (const name of new Set(exportedNames(module))) {
    const ns = namespace ? (PUBLIC[namespace] as Record<string, unknown>) : PUBLIC;
    if (ns?.[name] !== undefined) lines.push(`export const ${name} = tf${namespace ? `.${namespace}` : ''}.${name};`);
    else if (namespace && PUBLIC[name] !== undefined) lines.push(`export const ${name} = tf.${name};`);
  }
  return `${lines.join('\n')}\n`;
}

export function tfjsRegistrationsPlugin(): Plugin {
  return {
    name: 'lss-tfjs-registrations',
    setup(build) {
      build.onResolve(
        { filter: /^@tensorflow\/tfjs-core\/dist\/(register_all_gradients|public\/chained_ops\/register_all_chained_ops)(\.js)?$/ },
        (args) => ({ path: join(CORE_DIST, `${args.path.replace(/^@tensorflow\/tfjs-core\/dist\//, '').replace(/\.js$/, '')}.js`) }),
      );
      // Relative imports made by tfjs-core's own files.
      build.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (!args.importer.startsWith(CORE_DIST)) return undefined;
        const module = relative(CORE_DIST, resolve(dirname(args.importer), args.path)).replace(/\.js$/, '');
        if (BUNDLED.some((re) => re.test(module))) return { path: join(CORE_DIST, `${module}.js`) };
        return { path: module, namespace: 'tfjs-core-public', sideEffects: false };
      });
      build.onLoad({ filter: /.*/, namespace: 'tfjs-core-public' }, (args) => ({
        contents: publicShim(args.path),
        loader: 'js',
        resolveDir: CORE_DIST,
      }));
    },
  };
}
