#!/usr/bin/env node
// Reads every workspace's vitest JSON report and prints one closing line, "Tests: N passed, N failed,
// N skipped". Exits non-zero when a test failed, when a package with test files produced no report,
// or when no test ran at all (CI must never be green on an empty run).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
const hasTests = (dir) =>
  readdirSync(dir).some((n) => {
    if (n === 'node_modules' || n === 'dist') return false;
    const p = join(dir, n);
    return statSync(p).isDirectory() ? hasTests(p) : n.endsWith('.test.ts');
  });
for (const group of ['packages', 'apps', 'tooling']) {
  for (const name of readdirSync(join(root, group))) {
    const dir = join(root, group, name);
    if (!existsSync(join(dir, 'package.json'))) continue;
    const report = join(dir, 'test-report.json');
    if (!existsSync(report)) {
      if (hasTests(dir)) problems.push(`${group}/${name}: has test files but wrote no test-report.json`);
      continue;
    }
    // test-report.torch.json: the same suite on the torch backend (tooling/scripts/run.sh);
    // test-report.tfjs.json: tfjs's own op suite against torch (packages/backend-torch).
    for (const [file, label] of [
      ['test-report.json', ''],
      ['test-report.torch.json', ' (torch)'],
      ['test-report.tfjs.json', ' (tfjs ops)'],
    ]) {
      if (!existsSync(join(dir, file))) continue;
      const r = JSON.parse(readFileSync(join(dir, file), 'utf8'));
      passed += r.numPassedTests;
      failed += r.numFailedTests;
      skipped += r.numPendingTests + (r.numTodoTests ?? 0);
      console.log(
        `  ${`${group}/${name}${label}`.padEnd(30)} ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`,
      );
    }
  }
}
for (const p of problems) console.error(`  ${p}`);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
if (failed > 0 || problems.length > 0 || passed === 0) {
  if (passed === 0) console.error('No test ran: failing on purpose.');
  process.exit(1);
}
