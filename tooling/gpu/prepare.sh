#!/usr/bin/env bash
# Prepares tooling/gpu/payload/ (ignored by git, < 64 MiB) for a GPU machine that has a CUDA PyTorch, nvcc,
# g++ and python3 but no Node and no network:
#   node.xz          this machine's node binary, xz-compressed (99 MB -> ~24 MB), made here at run time
#   node-include/    Node's N-API headers (from /usr/include/node) and node-addon-api's
#   addon.cc         the addon source (packages/backend-torch/src/native/addon.cc)
#   check.mjs        tooling/gpu/check.ts bundled with esbuild (tfjs-core, cpu backend, backbone, backend-torch)
#   torch_bench.py   the PyTorch side of the tower timing (packages/backbone/bench/torch_bench.py)
# Then carry the payload to the GPU machine and run `bash tooling/gpu/run-on-gpu.sh` there.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=tooling/gpu/payload
rm -rf "$out" && mkdir -p "$out/node-include"
xz -9 -T2 -c "$(command -v node)" > "$out/node.xz"
# only the N-API headers (all of /usr/include/node, with V8 and OpenSSL, is 55 MB)
mkdir -p "$out/node-include/node"
cp /usr/include/node/{node_api.h,node_api_types.h,js_native_api.h,js_native_api_types.h,node_version.h} "$out/node-include/node/"
cp packages/backend-torch/node_modules/node-addon-api/*.h "$out/node-include/"
cp packages/backend-torch/src/native/addon.cc packages/backbone/bench/torch_bench.py "$out/"
packages/backend-torch/node_modules/.bin/esbuild tooling/gpu/check.ts --bundle --platform=node --format=esm \
  --target=node20 --main-fields=module,main --conditions=@lss/source --ignore-annotations \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" \
  --outfile="$out/check.mjs" --log-level=error
du -sh "$out"
