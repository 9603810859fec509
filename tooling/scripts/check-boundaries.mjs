#!/usr/bin/env node
// Fails when a package.json or a source import crosses the module boundaries of STYLE.md 4.2:
// the four libraries depend on @lss/core only (never on each other), apps/eval does not use
// @lss/objectives, and nobody deep-imports another package's src/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
// @lss/backend-torch (the native tfjs backend) depends on no @lss package; core reaches it only through a
// dynamic import (an optional peer, so that pnpm links it when an app installs it); apps may depend on it.
const allowed = {
  '@lss/backend-torch': [],
  '@lss/core': ['@lss/backend-torch'],
  '@lss/backbone': ['@lss/core'],
  '@lss/concepts': ['@lss/core'],
  '@lss/objectives': ['@lss/core'],
  '@lss/data': ['@lss/core'],
  '@lss/distributed': ['@lss/core'],
  '@lss/onnx': ['@lss/core'],
  '@lss/eval': ['@lss/core', '@lss/backbone', '@lss/concepts', '@lss/data', '@lss/distributed', '@lss/backend-torch', '@lss/onnx'],
  // The page uses the browser-safe libraries; @lss/eval is a devDependency (model export at build, the test's reference).
  '@lss/web': ['@lss/core', '@lss/concepts', '@lss/data', '@lss/eval'],
  '@lss/trainer': [
    '@lss/core',
    '@lss/backbone',
    '@lss/concepts',
    '@lss/objectives',
    '@lss/data',
    '@lss/eval',
    '@lss/distributed',
    '@lss/backend-torch',
    '@lss/onnx',
  ],
};
const problems = [];
const walk = (dir) =>
  readdirSync(dir).flatMap((n) => {
    if (n === 'node_modules' || n === 'dist') return [];
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : /\.(ts|mts|js|mjs)$/.test(n) ? [p] : [];
  });
for (const group of ['packages', 'apps']) {
  for (const dir of readdirSync(join(root, group))) {
    const pkgPath = join(root, group, dir, 'package.json');
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
    const ok = allowed[pkg.name];
    if (!ok) {
      problems.push(`${pkgPath}: ${pkg.name} has no entry in the boundary table (tooling/scripts/check-boundaries.mjs)`);
      continue;
    }
    const runtime = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.optionalDependencies };
    if (pkg.name === '@lss/core' && pkg.dependencies?.['@lss/backend-torch'])
      problems.push('@lss/core must not depend on @lss/backend-torch statically (optional peer + dynamic import only)');
    for (const dep of Object.keys(runtime)) {
      if (dep.startsWith('@lss/') && !ok.includes(dep)) problems.push(`${pkg.name} depends on ${dep}; allowed: ${ok.join(', ') || 'none'}`);
    }
    for (const file of walk(join(root, group, dir))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from\s+['"](@lss\/[^'"]+)['"]|import\(\s*['"](@lss\/[^'"]+)['"]/g)) {
        const spec = m[1] ?? m[2];
        const name = spec.split('/').slice(0, 2).join('/');
        if (/\/src(\/|$)/.test(spec)) problems.push(`${file}: deep import ${spec}; import from the package's exports instead`);
        if (name !== pkg.name && name !== '@lss/testing' && !ok.includes(name))
          problems.push(`${file}: imports ${spec}, which ${pkg.name} may not use`);
      }
    }
  }
}
if (problems.length) {
  console.error(`Module boundary violations:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log('module boundaries: ok');
