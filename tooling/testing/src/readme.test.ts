/**
 * Runs every shell and TypeScript block of every README (root, apps/*, packages/*), so a README cannot
 * rot (issue 16 item 12). Needs `pnpm build` first (the `pnpm lss-*` root scripts run the built apps;
 * install lines install the packed libraries); `turbo run test` orders that.
 *
 * - TypeScript blocks run with tsx against the workspace sources (`--conditions=@lss/source`), from a
 *   file inside the README's package (the root README's from apps/trainer, which depends on every
 *   library), working directory = repository root.
 * - Shell blocks run with bash from the repository root. Install lines (`pnpm add ...`) run in a fresh
 *   project outside the workspace, with each `@lss/*` name replaced by the tarball `pnpm pack` made of it
 *   (the libraries are not on the registry; everything else comes from it), and must name every package
 *   the same README's TypeScript blocks import.
 * - A block marked `_Not run by CI: <reason>_` right above its fence is reported as skipped with that reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';
import { extractBlocks, INSTALL, importedPackages, installLines, type ReadmeBlock, readmePaths } from './readme-blocks.js';

const tmp = mkdtempSync(join(tmpdir(), 'lss-readme-'));
const tarballs = new Map<string, string>();
const scratch: string[] = [];
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  for (const d of scratch) rmSync(d, { recursive: true, force: true });
});

const blocks = readmePaths(REPO_ROOT).flatMap((f) => extractBlocks(REPO_ROOT, f));
const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

/** Output of a failed run, cut to its end (where the error is). */
const tail = (s: string | null | undefined) => (s ?? '').slice(-3000);

/** The README's own package when it can resolve every package the block imports, else apps/trainer (depends on all libraries). */
function hostDir(block: ReadmeBlock): string {
  const dir = dirname(join(REPO_ROOT, block.readme));
  if (dir === REPO_ROOT) return join(REPO_ROOT, 'apps', 'trainer');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const known = new Set([pkg.name, ...Object.keys({ ...pkg.dependencies, ...pkg.devDependencies, ...pkg.peerDependencies })]);
  return importedPackages(block.code).every((p) => known.has(p)) ? dir : join(REPO_ROOT, 'apps', 'trainer');
}

function runTs(block: ReadmeBlock): void {
  const dir = join(hostDir(block), '.readme-check');
  mkdirSync(dir, { recursive: true });
  if (!scratch.includes(dir)) scratch.push(dir);
  const file = join(dir, `${block.readme.replace(/[^A-Za-z0-9]+/g, '-')}-${block.line}.ts`);
  writeFileSync(file, `${block.code}\nexport {};\n`);
  const r = spawnSync(tsx, ['--conditions=@lss/source', file], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
  expect(r.status, `${block.readme}:${block.line} (ts) failed:\n${tail(r.stderr)}\n${tail(r.stdout)}`).toBe(0);
}

function runInstall(block: ReadmeBlock, args: string[]): void {
  const project = mkdtempSync(join(tmp, 'install-'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-consumer', private: true, type: 'module' }));
  // Dependencies of the tarballs (`@lss/core: 0.1.0`) resolve to the tarballs too, never to the registry.
  writeFileSync(join(project, 'pnpm-workspace.yaml'), `overrides:\n${[...tarballs].map(([n, t]) => `  '${n}': 'file:${t}'`).join('\n')}\n`);
  const env: Record<string, string> = {};
  let words = args.map((a) => tarballs.get(a) ?? a);
  while (words.length > 0 && /^[A-Z_][A-Z0-9_]*=/.test(words[0] as string)) {
    const [k, ...v] = (words[0] as string).split('=');
    env[k as string] = v.join('=');
    words = words.slice(1);
  }
  const [cmd, ...rest] = words;
  expect(cmd, `${block.readme}:${block.line}: only pnpm install lines are run`).toBe('pnpm');
  const r = spawnSync('pnpm', rest, { cwd: project, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } });
  expect(r.status, `${block.readme}:${block.line}: \`${args.join(' ')}\` failed:\n${tail(r.stdout)}\n${tail(r.stderr)}`).toBe(0);
}

beforeAll(() => {
  const named = new Set(blocks.flatMap((b) => (b.lang === 'sh' && !b.skip ? installLines(b.code).flat() : [])));
  for (const name of readdirSync(join(REPO_ROOT, 'packages'))) {
    const pkg = `@lss/${name}`;
    if (!named.has(pkg)) continue;
    const out = execFileSync('pnpm', ['pack', '--pack-destination', tmp], { cwd: join(REPO_ROOT, 'packages', name), encoding: 'utf8' });
    const file = out.trim().split('\n').pop()?.trim() as string;
    tarballs.set(pkg, file);
  }
  // Dependencies among libraries: every packed library's @lss/core must be the packed one.
  if (!tarballs.has('@lss/core') && tarballs.size > 0) {
    const out = execFileSync('pnpm', ['pack', '--pack-destination', tmp], { cwd: join(REPO_ROOT, 'packages', 'core'), encoding: 'utf8' });
    tarballs.set('@lss/core', out.trim().split('\n').pop()?.trim() as string);
  }
}, 300_000);

describe.each([...new Set(blocks.map((b) => b.readme))])('%s', (readme) => {
  const own = blocks.filter((b) => b.readme === readme);
  for (const block of own) {
    const title = `${block.lang} block at line ${block.line}${block.skip ? ` (not run by CI: ${block.skip})` : ''}`;
    if (block.skip) {
      it.skip(title, () => {});
      continue;
    }
    it(title, { timeout: 300_000 }, () => {
      if (block.lang === 'ts') return runTs(block);
      const installs = installLines(block.code);
      for (const args of installs) {
        const named = new Set(args.map((a) => a.replace(/(.)@[^@/]+$/, '$1')));
        const imported = own.filter((b) => b.lang === 'ts' && !b.skip).flatMap((b) => importedPackages(b.code));
        const missing = [...new Set(imported)].filter((p) => !named.has(p));
        expect(missing, `${readme}:${block.line}: the install line does not install what the README's code imports`).toEqual([]);
        runInstall(block, args);
      }
      const rest = block.code
        .split('\n')
        .filter((l) => !INSTALL.test(l.trim()))
        .join('\n');
      if (rest.replace(/#.*$/gm, '').trim() === '') return;
      const r = spawnSync('bash', ['-euo', 'pipefail', '-c', rest], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 240_000 });
      expect(r.status, `${readme}:${block.line} (sh) failed:\n${tail(r.stderr)}\n${tail(r.stdout)}`).toBe(0);
    });
  }
});

it('finds the READMEs and their blocks', () => {
  expect(blocks.length).toBeGreaterThan(20);
});
