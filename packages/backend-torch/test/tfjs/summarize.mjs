#!/usr/bin/env node
// Prints the op-suite summary for the README: counts from test-report.tfjs.json and exclusions by reason.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const report = JSON.parse(readFileSync(join(here, '../../test-report.tfjs.json'), 'utf8'));
const excl = JSON.parse(readFileSync(join(here, 'exclusions.json'), 'utf8'));
const byReason = new Map();
for (const reason of Object.values(excl)) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
console.log(
  `- passed ${report.numPassedTests}, failed ${report.numFailedTests}, excluded ${report.numExcludedTests} (listed exclusions ${Object.keys(excl).length}; the rest are specs tfjs itself marks pending)`,
);
for (const [reason, n] of [...byReason].sort((a, b) => b[1] - a[1])) console.log(`- ${n} excluded: ${reason}`);
