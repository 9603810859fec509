#!/usr/bin/env node
// After `pnpm build`: every library export resolves to a built dist/*.js with its .d.ts, and every entry
// imports from plain Node ESM (no custom conditions, no TypeScript loader), run from apps/trainer, which
// depends on all libraries as a consumer would.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const problems = [];
const specifiers = [];
for (const dir of readdirSync(join(root, 'packages'))) {
  const pkgDir = join(root, 'packages', dir);
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  if (pkg.sideEffects !== false) problems.push(`${pkg.name}: sideEffects must be false`);
  // tfjs-core is a peer of every library that imports it (one tfjs in the consumer's tree).
  const usesTfjs = readdirSync(join(pkgDir, 'src'), { recursive: true }).some(
    (f) => /\.ts$/.test(f) && readFileSync(join(pkgDir, 'src', f), 'utf8').includes("from '@tensorflow/tfjs-core'"),
  );
  if (usesTfjs && !pkg.peerDependencies?.['@tensorflow/tfjs-core'])
    problems.push(`${pkg.name}: @tensorflow/tfjs-core must be a peer dependency`);
  for (const [sub, target] of Object.entries(pkg.exports)) {
    if (sub === './package.json') continue;
    for (const key of ['import', 'types']) {
      if (!existsSync(join(pkgDir, target[key]))) problems.push(`${pkg.name} ${sub}: ${target[key]} missing (run pnpm build)`);
    }
    specifiers.push(sub === '.' ? pkg.name : `${pkg.name}/${sub.slice(2)}`);
  }
}
const script = `for (const s of ${JSON.stringify(specifiers)}) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s + ' exports nothing'); }`;
try {
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: join(root, 'apps', 'trainer'), stdio: 'pipe' });
} catch (error) {
  problems.push(
    `plain Node ESM import failed: ${String(error.stderr || error.message)
      .split('\n')
      .slice(0, 6)
      .join('\n')}`,
  );
}
if (problems.length) {
  console.error(`Package checks failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`packages: ${specifiers.length} entry points built with types and importable from plain Node ESM`);
