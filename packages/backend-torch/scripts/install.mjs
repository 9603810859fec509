#!/usr/bin/env node
/**
 * Install step of @lss/backend-torch: builds the N-API addon against the libtorch found by
 * find-libtorch.mjs, downloading nothing. The install always succeeds; when no libtorch is found or the
 * build fails, build/status.json says why and `initBackend('torch')` repeats it with the way to fix it.
 *
 * Node's headers: the local ones (`/usr/include/node`, Debian's nodejs package, or `<prefix>/include/node`
 * next to the running node) when their version matches, else node-gyp's own cache. `LSS_NODEDIR` overrides.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch, HOW_TO_GET } from './find-libtorch.mjs';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(pkgDir, 'build');
const statusFile = join(buildDir, 'status.json');

function writeStatus(status) {
  mkdirSync(buildDir, { recursive: true });
  writeFileSync(statusFile, `${JSON.stringify(status, null, 2)}\n`);
}

function nodeDir() {
  if (process.env.LSS_NODEDIR) return process.env.LSS_NODEDIR;
  const prefix = join(dirname(process.execPath), '..');
  for (const dir of [prefix, '/usr', '/usr/local']) {
    const versionHeader = join(dir, 'include/node/node_version.h');
    if (!existsSync(versionHeader) || !existsSync(join(dir, 'include/node/common.gypi'))) continue;
    const text = readFileSync(versionHeader, 'utf8');
    const v = ['MAJOR', 'MINOR', 'PATCH'].map((k) => text.match(new RegExp(`#define NODE_${k}_VERSION (\\d+)`))?.[1]);
    if (`v${v.join('.')}` === process.version) return dir;
  }
  return undefined;
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const require = createRequire(import.meta.url);
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    // not a dependency here: use the copy bundled with npm
  }
  const npmBundled = join(dirname(process.execPath), '../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js');
  return existsSync(npmBundled) ? npmBundled : undefined;
}

const force = process.argv.includes('--force');
if (process.env.LSS_TORCH_SKIP_BUILD === '1' && !force) {
  writeStatus({ built: false, reason: 'LSS_TORCH_SKIP_BUILD=1 was set at install.' });
  console.log('@lss/backend-torch: LSS_TORCH_SKIP_BUILD=1, addon not built.');
  process.exit(0);
}
const libtorch = findLibtorch();
// Skip the 20-120 s compile when the addon was built from these sources, for this node and this libtorch.
const hash = createHash('sha256');
for (const f of ['src/native/addon.cc', 'binding.gyp', 'scripts/find-libtorch.mjs']) hash.update(readFileSync(join(pkgDir, f)));
const fingerprint = `${hash.digest('hex').slice(0, 16)} ${process.version} ${JSON.stringify(libtorch)}`;
if (!force && libtorch && existsSync(join(buildDir, 'Release/lss_torch.node')) && existsSync(statusFile)) {
  try {
    if (JSON.parse(readFileSync(statusFile, 'utf8')).fingerprint === fingerprint) {
      console.log('@lss/backend-torch: addon up to date.');
      process.exit(0);
    }
  } catch {
    // rebuild
  }
}
if (!libtorch) {
  writeStatus({ built: false, reason: HOW_TO_GET });
  console.log(`@lss/backend-torch: ${HOW_TO_GET.split('\n')[0]} (the install continues; the wasm backend works).`);
  process.exit(0);
}
const gyp = nodeGyp();
if (!gyp) {
  writeStatus({ built: false, reason: 'node-gyp was not found (npm ships it; or `pnpm add -D node-gyp`).' });
  console.log('@lss/backend-torch: node-gyp not found, addon not built.');
  process.exit(0);
}
const dir = nodeDir();
const args = [gyp, 'rebuild', '--release', ...(dir ? [`--nodedir=${dir}`] : [])];
if (process.env.LSS_TORCH_JOBS) args.push(`--jobs=${process.env.LSS_TORCH_JOBS}`);
console.log(`@lss/backend-torch: building the addon against ${libtorch.source} (${libtorch.cuda ? 'CUDA' : 'CPU'}), 20-60 s...`);
const started = Date.now();
const res = spawnSync(process.execPath, args, { cwd: pkgDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
if (res.status !== 0) {
  const tail = `${res.stdout}\n${res.stderr}`.trim().split('\n').slice(-25).join('\n');
  writeStatus({ built: false, libtorch, reason: `The addon failed to compile against ${libtorch.source}:\n${tail}` });
  console.log(`@lss/backend-torch: build FAILED against ${libtorch.source} (see ${statusFile}); the wasm backend still works.`);
  console.log(tail);
  process.exit(0);
}
let nodeVersion = process.version;
try {
  nodeVersion = execFileSync(process.execPath, ['--version'], { encoding: 'utf8' }).trim();
} catch {}
writeStatus({ built: true, fingerprint, libtorch, node: nodeVersion, seconds: (Date.now() - started) / 1000 });
console.log(`@lss/backend-torch: built in ${((Date.now() - started) / 1000).toFixed(0)} s.`);
