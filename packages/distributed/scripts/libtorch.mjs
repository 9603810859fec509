#!/usr/bin/env node
// Finds a libtorch to build the c10d binding against, with no download. In order:
//   1. LSS_LIBTORCH=<folder with include/ and lib/> (an unpacked libtorch, or a pip torch's package folder);
//   2. Debian's libtorch-dev (headers in /usr/include/torch, libraries in the multiarch folder);
//   3. the torch package of a Python on PATH (`python3 -c "import torch"`, then /usr/bin/python3).
// Gloo's headers come with libtorch (pip) or Debian's libgloo-dev.
// Usage: node scripts/libtorch.mjs --json | --include | --libdir | --abi
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

function fromFolder(root, source) {
  const include = join(root, 'include');
  const lib = join(root, 'lib');
  if (!existsSync(join(include, 'torch', 'csrc', 'distributed', 'c10d', 'ProcessGroupGloo.hpp'))) return null;
  if (!existsSync(join(lib, 'libtorch_cpu.so'))) return null;
  return { source, include: [include, join(include, 'torch', 'csrc', 'api', 'include')], libdir: lib, abi: null };
}

function fromDebian() {
  const libdirs = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib'];
  const libdir = libdirs.find((d) => existsSync(join(d, 'libtorch_cpu.so')));
  if (!libdir || !existsSync('/usr/include/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp')) return null;
  return { source: 'debian libtorch-dev', include: ['/usr/include', '/usr/include/torch/csrc/api/include'], libdir, abi: 1 };
}

function fromPython(python) {
  try {
    const out = execFileSync(
      python,
      ['-c', 'import os, torch; print(os.path.dirname(torch.__file__)); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 60_000 },
    )
      .trim()
      .split('\n');
    const found = fromFolder(out[0], `${python} torch`);
    if (found) found.abi = Number(out[1]);
    return found;
  } catch {
    return null;
  }
}

export function findLibtorch(env = process.env) {
  if (env.LSS_LIBTORCH) {
    const found = fromFolder(env.LSS_LIBTORCH, `LSS_LIBTORCH=${env.LSS_LIBTORCH}`);
    if (!found) {
      throw new Error(
        `LSS_LIBTORCH=${env.LSS_LIBTORCH} holds no libtorch with c10d: expected include/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp and lib/libtorch_cpu.so under it. Point it at an unpacked libtorch or at a pip torch's package folder (python3 -c "import torch, os; print(os.path.dirname(torch.__file__))").`,
      );
    }
    return found;
  }
  return fromDebian() ?? fromPython('python3') ?? fromPython('/usr/bin/python3');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = findLibtorch();
  const flag = process.argv[2] ?? '--json';
  if (!found) {
    if (flag === '--json') console.log('null');
    process.exit(flag === '--json' ? 0 : 1);
  }
  if (flag === '--include') console.log(found.include.join(' '));
  else if (flag === '--libdir') console.log(found.libdir);
  else if (flag === '--abi') console.log(found.abi ?? 1);
  else console.log(JSON.stringify(found));
}
