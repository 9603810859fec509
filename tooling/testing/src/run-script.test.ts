/**
 * tooling/scripts/run.sh, the README's "Two commands": what each command installs. The script runs in a copy of the
 * repository layout with stand-ins for `id` (root), `apt-get`, `pnpm` and `node` that only record their arguments,
 * so nothing is installed, built or deleted here.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'lss-run-sh-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runs = 0;

/** Writes the stand-in commands; returns the folder to put first on PATH. */
function standIns(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const scripts: Record<string, string> = {
    id: 'if [ "$1" = "-u" ]; then echo 0; else /usr/bin/id "$@"; fi',
    'apt-get': 'echo "apt-get $*" >> "$RUN_LOG"',
    pnpm: 'if [ "$1" = "--version" ]; then echo 12.4.2; else echo "pnpm $*" >> "$RUN_LOG"; fi',
    node: 'if [ "$1" = "--version" ]; then echo v20.0.0; else echo "node $*" >> "$RUN_LOG"; fi',
  };
  for (const [name, body] of Object.entries(scripts)) {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  }
  return bin;
}

/** Runs a copy of run.sh with `args`; returns its exit code, stderr and the commands the stand-ins recorded. */
function runScript(args: string[], chromium: 'missing' | 'present') {
  const dir = join(tmp, String(runs++));
  mkdirSync(join(dir, 'tooling', 'scripts'), { recursive: true });
  copyFileSync(join(REPO_ROOT, 'tooling', 'scripts', 'run.sh'), join(dir, 'tooling', 'scripts', 'run.sh'));
  const bin = standIns(dir);
  const log = join(dir, 'commands.log');
  writeFileSync(log, '');
  const chromiumPath = join(dir, 'chromium');
  if (chromium === 'present') {
    writeFileSync(chromiumPath, '#!/bin/sh\n');
    chmodSync(chromiumPath, 0o755);
  }
  const r = spawnSync('bash', [join(dir, 'tooling', 'scripts', 'run.sh'), ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      PATH: `${bin}:/usr/bin:/bin`,
      HOME: dir,
      RUN_LOG: log,
      // A libtorch "found", so the libtorch block installs nothing whatever this machine has.
      LSS_LIBTORCH: dir,
      LSS_CHROMIUM: chromiumPath,
    },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, commands: readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

describe('tooling/scripts/run.sh', () => {
  it('demo installs the dependencies and runs the demo, without installing chromium', () => {
    const r = runScript(['demo', '--seeds', '1'], 'missing');
    expect(r.code, r.stderr).toBe(0);
    expect(r.commands.filter((c) => c.includes('chromium'))).toEqual([]);
    expect(r.stdout).not.toMatch(/chromium/i);
    expect(r.commands).toContain('pnpm install --frozen-lockfile');
    expect(r.commands.at(-1)).toBe('pnpm demo --seeds 1');
  });

  it('test installs chromium (for the @lss/web page test) when missing, then builds and tests', () => {
    const r = runScript(['test'], 'missing');
    expect(r.code, r.stderr).toBe(0);
    expect(r.commands).toContain('apt-get install -y -qq chromium');
    expect(r.commands).toContain('pnpm build');
    expect(r.commands).toContain('pnpm exec turbo run test --continue --concurrency=1');
    const present = runScript(['test'], 'present');
    expect(present.code, present.stderr).toBe(0);
    expect(present.commands.filter((c) => c.includes('chromium'))).toEqual([]);
  });

  it('an unknown command is refused before anything is installed', () => {
    const r = runScript(['frob'], 'missing');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('usage: bash tooling/scripts/run.sh demo|test (received "frob")\n');
    expect(r.commands).toEqual([]);
  });

  it('the README lists what each command installs as run.sh does', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Two commands'), readme.indexOf('## The demo'));
    expect(section).toMatch(/only the test command installs Debian's `chromium`/i);
  });
});
