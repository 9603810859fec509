#!/usr/bin/env node
// Install step: build the c10d binding when a libtorch is found; otherwise say how to get one and succeed,
// so that installing the package never fails (the API then throws BackendUnavailableError when used).
import { spawnSync } from 'node:child_process';
import { findLibtorch } from './libtorch.mjs';

let found = null;
try {
  found = findLibtorch();
} catch (e) {
  console.warn(`[@lss/distributed] ${e.message}`);
}
if (!found) {
  console.warn(
    '[@lss/distributed] no libtorch found: the c10d binding is not built. Install one (Debian: apt-get install libtorch-dev libgloo-dev; or pip install torch) and run `npm rebuild @lss/distributed`.',
  );
  process.exit(0);
}
console.log(`[@lss/distributed] building the c10d binding against ${found.source} (${found.libdir})`);
const r = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit', shell: process.platform === 'win32' });
if (r.status !== 0) {
  console.warn(
    `[@lss/distributed] the c10d binding failed to build (exit ${r.status}); distributed training is unavailable. Debian also needs libgloo-dev for Gloo's headers.`,
  );
}
process.exit(0);
