/**
 * Entry of the tfjs op-suite bundle (built by run.mjs with esbuild): registers the torch backend as the
 * only test environment, excludes the specs listed (with reasons) in exclusions.json, then loads the jasmine
 * specs that @tensorflow/tfjs-core 4.22 ships (dist/tests.js), as tfjs-backend-wasm's setup_test does.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { setTestEnvs } from '@tensorflow/tfjs-core/dist/jasmine_util';
import { registerTorchBackend } from '../../src/index.js';
import { EXCLUDED } from './exclusions.js';

registerTorchBackend({ threads: Number(process.env.LSS_TORCH_THREADS ?? 2) });
setTestEnvs([{ name: 'torch', backendName: 'torch', isDataSync: true }]);
// Exact-name exclusions (tfjs's setupTestFilters matches substrings, which would exclude more than listed).
declare const jasmine: { getEnv(): { configure(c: { specFilter: (spec: { getFullName(): string }) => boolean }): void } };
jasmine.getEnv().configure({ specFilter: (spec) => !EXCLUDED.has(spec.getFullName()) });

// tests.js must load after the environment is set (dynamic import keeps the order under bundling).
await import('@tensorflow/tfjs-core/dist/tests');
