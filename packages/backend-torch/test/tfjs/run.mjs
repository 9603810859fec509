#!/usr/bin/env node
/**
 * Runs tfjs-core 4.22's own jasmine op suite against the torch backend and writes test-report.tfjs.json
 * (numPassedTests / numFailedTests / numPendingTests, read by tooling/scripts/test-summary.mjs).
 *   node test/tfjs/run.mjs [--list-failures] [--filter TEXT]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import Jasmine from 'jasmine';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDir = join(here, '../..');
const outfile = join(pkgDir, 'build/tfjs-suite.mjs');
mkdirSync(dirname(outfile), { recursive: true });
await build({
  entryPoints: [join(here, 'suite.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  // one tfjs-core for the backend and the specs: its ESM build, which the specs import relatively
  mainFields: ['module', 'main'],
  logLevel: 'error',
  // tfjs-core declares sideEffects; its spec files are side-effect-only imports that must be kept
  ignoreAnnotations: true,
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

const runner = new Jasmine({ projectBaseDir: pkgDir });
runner.exitOnCompletion = false;
runner.jasmine.DEFAULT_TIMEOUT_INTERVAL = 60_000;
const args = process.argv.slice(2);
const filterAt = args.indexOf('--filter');
const results = { passed: 0, failed: 0, excluded: 0, failures: [] };
runner.env.clearReporters();
runner.env.addReporter({
  suiteDone(suite) {
    for (const e of suite.failedExpectations ?? []) {
      results.failed++;
      results.failures.push({ name: `${suite.fullName} (suite)`, message: e.message.split('\n')[0] });
    }
  },
  jasmineDone(r) {
    for (const e of r.failedExpectations ?? []) {
      results.failed++;
      results.failures.push({ name: '(top level)', message: e.message.split('\n')[0] });
    }
    if (r.incompleteReason) console.log(`incomplete: ${r.incompleteReason}`);
  },
  specDone(spec) {
    if (spec.status === 'passed') results.passed++;
    else if (spec.status === 'failed') {
      results.failed++;
      results.failures.push({ name: spec.fullName, message: spec.failedExpectations[0]?.message?.split('\n')[0] ?? '' });
    } else results.excluded++;
  },
});
await import(pathToFileURL(outfile).href);
await runner.execute(undefined, filterAt >= 0 ? args[filterAt + 1] : undefined);
writeFileSync(
  join(pkgDir, 'test-report.tfjs.json'),
  `${JSON.stringify({ numPassedTests: results.passed, numFailedTests: results.failed, numPendingTests: 0, numExcludedTests: results.excluded, failures: results.failures }, null, 2)}\n`,
);
if (args.includes('--list-failures')) for (const f of results.failures) console.log(`FAIL ${f.name}: ${f.message}`);
console.log(`tfjs op suite on torch: ${results.passed} passed, ${results.failed} failed, ${results.excluded} excluded (filtered out)`);
process.exitCode = results.failed > 0 ? 1 : 0;
