#!/usr/bin/env node
// Puts the shipped model folder in place (a build output, ignored by git; onnxruntime-web's wasm binary needs no step:
// Vite copies it into dist/assets, since the library names it with `new URL(..., import.meta.url)`).
// public/model/: the shipped model folder, exported by `lss-eval export-onnx` from apps/trainer/models/clip-world-tiny
//   (the demo world's small CLIP, pretrained on the action world's captioned stills; frozen image CLIP, frames averaged).
//   Set LSS_WEB_MODEL=PATH to export another model (a trainer checkpoint, a video tower or a CLIP folder) instead,
//   LSS_WEB_FRAMES to change the frame count (default 8). Re-exported when the source or frames change.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const app = resolve(here, '..');
const repo = resolve(app, '../..');

const source = resolve(process.env.LSS_WEB_MODEL ?? join(repo, 'apps', 'trainer', 'models', 'clip-world-tiny'));
const frames = process.env.LSS_WEB_FRAMES ?? '8';
const out = join(app, 'public', 'model');
const stampFile = join(out, '.export-stamp.json');
const stamp = JSON.stringify({ source, frames });
if (existsSync(join(out, 'lss_video.json')) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
  console.log(`[web] model folder up to date: ${out} (from ${source})`);
} else {
  const cli = join(repo, 'apps', 'eval', 'dist', 'main.js');
  if (!existsSync(cli)) {
    console.error(`[web] ${cli} is missing: build @lss/eval first (pnpm --filter @lss/eval... build, or pnpm build).`);
    process.exit(1);
  }
  rmSync(out, { recursive: true, force: true });
  console.log(`[web] exporting ${source} -> ${out} (${frames} frames)`);
  execFileSync(process.execPath, [cli, 'export-onnx', '--model', source, '--out', out, '--frames', frames], {
    stdio: 'inherit',
  });
  writeFileSync(stampFile, stamp);
}
