/**
 * The five libraries install as a user would get them (issue 16 item 11): packed with `pnpm pack`, installed
 * with plain npm into a fresh project outside the workspace (everything else from the npm registry), no
 * `@tensorflow/tfjs` umbrella (no core-js), then a tiny program runs a gradient through each library and
 * the installed size is measured. The pnpm form of each README's install line is run by readme.test.ts.
 * Needs `pnpm build` first (turbo orders it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';

const LIBRARIES = ['core', 'backbone', 'concepts', 'objectives', 'data'] as const;
const tmp = mkdtempSync(join(tmpdir(), 'lss-install-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Bytes under `dir` (apparent sizes, like `du -sb`). */
function sizeOf(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

it('npm installs the packed libraries from the registry alone, without the tfjs umbrella, and they run', { timeout: 600_000 }, () => {
  const tarballs: Record<string, string> = {};
  for (const name of LIBRARIES) {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', tmp], { cwd: join(REPO_ROOT, 'packages', name), encoding: 'utf8' });
    tarballs[`@lss/${name}`] = `file:${out.trim().split('\n').pop()?.trim()}`;
  }
  const project = join(tmp, 'consumer');
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'lss-consumer',
      private: true,
      type: 'module',
      dependencies: { ...tarballs, '@tensorflow/tfjs-core': '4.22.0' },
      // The libraries' own `@lss/core: 0.1.0` is the packed core, never a registry package of that name.
      overrides: { '@lss/core': '$@lss/core' },
    }),
  );
  const install = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: project,
    encoding: 'utf8',
    timeout: 500_000,
  });
  expect(install.status, `npm install failed:\n${install.stderr.slice(-3000)}`).toBe(0);
  expect(existsSync(join(project, 'node_modules', '@tensorflow', 'tfjs')), 'the @tensorflow/tfjs umbrella was installed').toBe(false);
  expect(existsSync(join(project, 'node_modules', 'core-js')), 'core-js was installed').toBe(false);

  writeFileSync(
    join(project, 'main.mjs'),
    `
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@lss/core';
import { Scope } from '@lss/backbone';
import { normalizeLabel } from '@lss/concepts';
import { createObjectives } from '@lss/objectives';
import { SVT_VIEW_CONFIG } from '@lss/data';
const { name } = await initBackend('wasm');
const g = tf.grad((x) => tf.sum(tf.square(x)))(tf.tensor1d([1, 2]));
console.log(JSON.stringify({ name, grad: Array.from(g.dataSync()), scope: typeof Scope, label: normalizeLabel('ApplyEyeMakeup'),
  objectives: createObjectives([{ name: 'uniform-prior', weight: 1 }]).length, globalViews: SVT_VIEW_CONFIG.numGlobal }));
`,
  );
  const run = spawnSync(process.execPath, ['main.mjs'], { cwd: project, encoding: 'utf8', timeout: 120_000 });
  expect(run.status, `the program failed:\n${run.stderr.slice(-3000)}`).toBe(0);
  expect(run.stderr).toBe('');
  const out = JSON.parse(run.stdout);
  expect(out).toMatchObject({ name: 'wasm', grad: [2, 4], scope: 'function', label: 'apply eye makeup', objectives: 1 });

  const total = sizeOf(join(project, 'node_modules'));
  const ffmpeg = ['linux-x64', 'darwin-x64', 'darwin-arm64', 'win32-x64']
    .map((p) => join(project, 'node_modules', '@ffmpeg-installer', p))
    .filter((p) => existsSync(p))
    .reduce((a, p) => a + sizeOf(p), 0);
  console.log(
    `npm install of the five libraries: ${(total / 2 ** 20).toFixed(1)} MiB in node_modules, of which the optional static ffmpeg ${(ffmpeg / 2 ** 20).toFixed(1)} MiB`,
  );
  // With the umbrella one library alone weighed 308 MB. tfjs-core + cpu + wasm backends are ~66 MiB.
  expect(total - ffmpeg).toBeLessThan(100 * 2 ** 20);
});
