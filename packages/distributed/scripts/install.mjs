#!/usr/bin/env node
// Install step: build the c10d binding when a libtorch is found; otherwise say how to get one and succeed,
// so that installing the package never fails (the API then throws BackendUnavailableError when used).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findLibtorch } from './libtorch.mjs';

/** node-gyp as npm and pnpm provide it to install scripts, else npm's bundled copy. */
function nodeGyp() {
  const onPath = spawnSync('node-gyp', ['--version'], { stdio: 'ignore' });
  if (onPath.status === 0) return ['node-gyp'];
  try {
    const root = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
    const bundled = join(root, 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    if (existsSync(bundled)) return [process.execPath, bundled];
  } catch {}
  return null;
}

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
// Up to date: the binding is newer than its sources and the libtorch it links (a re-install does not rebuild).
const built = new URL('../build/Release/lss_distributed.node', import.meta.url).pathname;
if (existsSync(built) && process.env.LSS_REBUILD !== '1') {
  const sources = ['../native/process_group.cc', '../binding.gyp'].map((f) => new URL(f, import.meta.url).pathname);
  const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs), statSync(join(found.libdir, 'libtorch_cpu.so')).mtimeMs);
  if (statSync(built).mtimeMs > newest) {
    console.log(`[@lss/distributed] c10d binding up to date (${found.source}); LSS_REBUILD=1 forces a rebuild`);
    process.exit(0);
  }
}
console.log(`[@lss/distributed] building the c10d binding against ${found.source} (${found.libdir})`);
const gyp = nodeGyp();
if (!gyp) {
  console.warn('[@lss/distributed] node-gyp not found (it comes with npm): the c10d binding is not built.');
  process.exit(0);
}
// Node's own headers (Debian's nodejs, or the ones npm is configured with): node-gyp must not download them.
const args = ['rebuild'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node.h')) args.push('--nodedir=/usr');
// node-gyp's own log (dozens of `gyp info` lines) is kept back; its last lines are shown when the build fails.
const started = Date.now();
const r = spawnSync(gyp[0], [...gyp.slice(1), ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (r.status !== 0) {
  const tail = `${r.stdout ?? ''}\n${r.stderr ?? r.error?.message ?? ''}`.trim().split('\n').slice(-25).join('\n');
  console.warn(
    `[@lss/distributed] the c10d binding failed to build (exit ${r.status}); distributed training is unavailable. Debian also needs libgloo-dev for Gloo's headers. node-gyp's last lines:\n${tail}`,
  );
} else {
  console.log(`[@lss/distributed] c10d binding built in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
}
process.exit(0);
