/**
 * `@ffmpeg-installer/ffmpeg` installed but its binary not executable (its install script, `chmod u+x ffmpeg`, did
 * not run and the file lost its mode): resolveFfmpeg falls back to PATH and says why, and with nothing on PATH the
 * ConfigError names the binary and the fix instead of claiming the package is not installed. The binary's mode
 * cannot be changed here (pnpm hard-links it from the shared store), so `accessSync` reports it not executable.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '@lss/core';
import { describe, expect, it, vi } from 'vitest';
import { describeFfmpeg, installerFfmpegPath, resolveFfmpeg } from './ffmpeg.js';

const makeTempDir = (name: string) => mkdtempSync(join(tmpdir(), `lss-${name}-`));
const bundled = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const { createRequire: requireFrom } = await import('node:module'); // vi.mock runs before the imports above
  const notExecutable = (requireFrom(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
  return {
    ...fs,
    accessSync: (path: import('node:fs').PathLike, mode?: number) => {
      if (path === notExecutable && mode !== undefined && mode & fs.constants.X_OK) {
        throw Object.assign(new Error(`EACCES: permission denied, access '${path}'`), { code: 'EACCES' });
      }
      fs.accessSync(path, mode);
    },
  };
});

describe('resolveFfmpeg with a non-executable bundled binary', () => {
  it('takes ffmpeg from PATH and says the bundled binary is not executable', () => {
    expect(installerFfmpegPath()).toBeUndefined();
    const dir = makeTempDir('installer-mode');
    const onPath = join(dir, 'ffmpeg');
    writeFileSync(onPath, '#!/bin/sh\n');
    chmodSync(onPath, 0o755);
    const binary = resolveFfmpeg({ env: { PATH: dir } });
    expect(binary).toEqual({ path: onPath, source: 'PATH' });
    expect(describeFfmpeg(binary)).toContain(
      `(the first ffmpeg on PATH (@ffmpeg-installer/ffmpeg is installed but its binary ${bundled} is not executable); set LSS_FFMPEG to choose)`,
    );
  });

  it('with no ffmpeg on PATH, the ConfigError names the binary and how to make it executable', () => {
    const empty = makeTempDir('installer-mode-empty');
    const pkg = `@ffmpeg-installer/${process.platform}-${process.arch}`;
    expect(() => resolveFfmpeg({ env: { PATH: empty } })).toThrow(ConfigError);
    expect(() => resolveFfmpeg({ env: { PATH: empty } })).toThrow(
      `No ffmpeg found: LSS_FFMPEG is unset, @ffmpeg-installer/ffmpeg is installed but its binary ${bundled} is not executable and no ffmpeg is on PATH. ` +
        `Run chmod u+x ${bundled} (or let ${pkg}'s install script run: npm approve-scripts ${pkg} && npm rebuild ${pkg}), install ffmpeg, or set LSS_FFMPEG.`,
    );
  });
});
