/**
 * Fenced code blocks of the repository's READMEs, for the README checker (readme.test.ts).
 *
 * A block is run when its fence is `sh`, `bash`, `ts` or `typescript`; other fences (`text`, none) are
 * not programs (output, layouts, usage synopses). A block that cannot run on a CI machine says so,
 * visibly, on the last non-empty line before its fence:
 *
 *     _Not run by CI: needs the real UCF-101 videos and a ViT-B/16 CLIP._
 *
 * and that reason is reported as the skip reason.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface ReadmeBlock {
  /** README path relative to the repository root. */
  readonly readme: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: 'sh' | 'ts';
  readonly code: string;
  /** The stated reason when the block is marked "Not run by CI", else null. */
  readonly skip: string | null;
}

const SKIP_MARK = /^_Not run by CI: (.+)_$/;
const FENCE = /^```(\S*)\s*$/;

/** Every README.md at the root, in apps/* and in packages/*. */
export function readmePaths(root: string): string[] {
  const out = [join(root, 'README.md')];
  for (const group of ['apps', 'packages']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      const p = join(root, group, name, 'README.md');
      if (existsSync(p)) out.push(p);
    }
  }
  return out;
}

export function extractBlocks(root: string, file: string): ReadmeBlock[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const blocks: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] as string);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !(lines[j] as string).startsWith('```')) j++;
    const fence = (open[1] ?? '').toLowerCase();
    const lang = fence === 'sh' || fence === 'bash' ? 'sh' : fence === 'ts' || fence === 'typescript' ? 'ts' : null;
    if (lang) {
      let k = i - 1;
      while (k >= 0 && (lines[k] as string).trim() === '') k--;
      const mark = k >= 0 ? SKIP_MARK.exec((lines[k] as string).trim()) : null;
      blocks.push({
        readme: relative(root, file),
        line: i + 1,
        lang,
        code: lines.slice(i + 1, j).join('\n'),
        skip: mark ? (mark[1] as string) : null,
      });
    }
    i = j;
  }
  return blocks;
}

/** An install command, optionally after environment assignments (`ONNXRUNTIME_NODE_INSTALL=skip pnpm add ...`). */
export const INSTALL = /^(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:pnpm add|npm install|npm i) /;

/** `pnpm add ...` / `npm install ...` lines of a shell block, as argument lists (comments dropped). */
export function installLines(code: string): string[][] {
  return code
    .split('\n')
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => INSTALL.test(l))
    .map((l) => l.split(/\s+/));
}

/** Bare package names a TypeScript block imports (`@scope/name`, `name`), without `node:` built-ins. */
export function importedPackages(code: string): string[] {
  const names = new Set<string>();
  for (const m of code.matchAll(/(?:^|\n)\s*import\s[^'"]*?from\s+['"]([^'"]+)['"]/g)) {
    const spec = m[1] as string;
    if (spec.startsWith('.') || spec.startsWith('node:')) continue;
    const parts = spec.split('/');
    names.add(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
  }
  return [...names];
}
