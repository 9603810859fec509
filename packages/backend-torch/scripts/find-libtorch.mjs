#!/usr/bin/env node
/**
 * Finds a libtorch to build the addon against, downloading nothing. Order:
 *   1. `LSS_LIBTORCH=<folder>` (a libtorch folder with include/ and lib/), or `LSS_LIBTORCH=python` to force (3);
 *   2. Debian's `libtorch-dev` (headers under /usr/include, libraries in the multiarch folder);
 *   3. the libtorch inside a pip PyTorch, found through `python3 -c "import torch"` (its include/ and lib/,
 *      its `_GLIBCXX_USE_CXX11_ABI`, CUDA when that torch was built with it).
 *
 * Usage: `node find-libtorch.mjs` prints the JSON description; `node find-libtorch.mjs <field>` prints one
 * field space-separated for binding.gyp (`include`, `libdirs`, `libs`, `defines`, `ldflags`).
 * Reusable by any addon that links libtorch (see the package README, "Building against libtorch").
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function fromFolder(root, source) {
  const include = [join(root, 'include'), join(root, 'include/torch/csrc/api/include')];
  const libDir = join(root, 'lib');
  if (!existsSync(join(include[0], 'ATen/ATen.h')) || !existsSync(libDir)) return null;
  const files = readdirSync(libDir);
  const cuda = files.some((f) => f.startsWith('libtorch_cuda.so'));
  const abi = process.env.LSS_TORCH_CXX11_ABI ?? '1';
  return { source, root, include, libDirs: [libDir], cuda, abi, rpath: true };
}

function debian() {
  if (!existsSync('/usr/include/ATen/ATen.h')) return null;
  const multiarch = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'].find((d) =>
    existsSync(join(d, 'libtorch_cpu.so')),
  );
  if (!multiarch) return null;
  return {
    source: 'debian libtorch-dev',
    root: '/usr',
    include: ['/usr/include', '/usr/include/torch/csrc/api/include'],
    libDirs: [multiarch],
    cuda: existsSync(join(multiarch, 'libtorch_cuda.so')),
    abi: '1',
    rpath: false,
  };
}

function python() {
  const code = [
    'import json, os, torch',
    'root = os.path.dirname(torch.__file__)',
    'print(json.dumps({"root": root, "abi": int(torch._C._GLIBCXX_USE_CXX11_ABI), "cuda": torch.version.cuda, "version": torch.__version__}))',
  ].join('\n');
  for (const py of [process.env.LSS_PYTHON, 'python3', 'python'].filter(Boolean)) {
    try {
      const out = execFileSync(py, ['-c', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const info = JSON.parse(out.trim().split('\n').pop());
      const found = fromFolder(info.root, `pip torch ${info.version} (${py})`);
      if (!found) continue;
      return { ...found, abi: String(info.abi), cuda: Boolean(info.cuda) && found.cuda };
    } catch {
      // not importable with this interpreter
    }
  }
  return null;
}

export function findLibtorch() {
  const forced = process.env.LSS_LIBTORCH;
  if (forced === 'python') return python();
  if (forced) return fromFolder(forced, `LSS_LIBTORCH=${forced}`);
  return debian() ?? python();
}

export const HOW_TO_GET = [
  'No libtorch was found, so the torch backend was not built. Any one of these provides it (nothing is downloaded by LSS.js):',
  '  - Debian/Ubuntu: `sudo apt-get install libtorch-dev libopenblas0-pthread`, then `pnpm rebuild @lss/backend-torch`;',
  '  - a pip PyTorch (CPU or CUDA): `pip install torch`, then `pnpm rebuild @lss/backend-torch` (found through `python3 -c "import torch"`);',
  '  - an unpacked libtorch folder: `LSS_LIBTORCH=/path/to/libtorch pnpm rebuild @lss/backend-torch`.',
].join('\n');

const isMain = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const found = findLibtorch();
  const field = process.argv[2];
  if (!field) {
    console.log(JSON.stringify(found, null, 2));
    process.exit(found ? 0 : 1);
  }
  if (!found) {
    console.error(HOW_TO_GET);
    process.exit(1);
  }
  const libs = ['-ltorch_cpu', '-lc10', ...(found.cuda ? ['-ltorch_cuda', '-lc10_cuda'] : [])];
  const out = {
    include: found.include,
    libdirs: found.libDirs.map((d) => `-L${d}`),
    libs: ['-Wl,--no-as-needed', ...libs, '-Wl,--as-needed'],
    defines: [`_GLIBCXX_USE_CXX11_ABI=${found.abi}`, ...(found.cuda ? ['LSS_TORCH_CUDA=1'] : [])],
    ldflags: found.rpath ? found.libDirs.map((d) => `-Wl,-rpath,${d}`) : [],
  }[field];
  if (!out) {
    console.error(`unknown field ${field}`);
    process.exit(2);
  }
  console.log(out.join(' '));
}
