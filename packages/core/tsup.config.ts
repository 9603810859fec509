import { defineConfig } from 'tsup';
import { tfjsRegistrationsPlugin } from './build/tfjs-registrations-plugin.js';

export default defineConfig([
  {
    entry: { index: 'src/index.ts', 'node/index': 'src/node/index.ts', 'testing/index': 'src/testing/index.ts' },
    format: ['esm'],
    // LSS_BUILD_JS_ONLY=1 (the demo: it runs from sources and needs only dist/tfjs-registrations.js): no type
    // declarations, which take minutes on a loaded 2-core machine.
    dts: process.env.LSS_BUILD_JS_ONLY !== '1',
    sourcemap: true,
    // No `clean`: the two configs build in parallel into one dist/ (the build script empties it first).
    target: 'node20',
    // Built by the second config below; resolved at run time through package.json "imports".
    external: ['#tfjs-registrations'],
  },
  {
    // tfjs-core's gradient and chained-op registrations, bundled with imports mapped to its public API (see the plugin).
    entry: { 'tfjs-registrations': 'src/tfjs-registrations.ts' },
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    external: [/^@tensorflow\/tfjs-core$/],
    noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
    esbuildPlugins: [tfjsRegistrationsPlugin()],
  },
]);
