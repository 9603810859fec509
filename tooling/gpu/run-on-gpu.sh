#!/usr/bin/env bash
# On the GPU machine (after prepare.sh here): builds the addon against that machine's pip PyTorch (CUDA),
# runs the parity check on cuda against tfjs's cpu backend and times the ViT-B/16 tower on cuda and
# in PyTorch on the same GPU. Prints JSON lines. `LSS_TORCH_DEVICE=cpu` runs the same on CPU.
set -euo pipefail
cd "$(dirname "$0")/payload"
[ -x node ] || xz -dc node.xz > node && chmod +x node
eval "$(python3 - <<'PY'
import os, torch
root = os.path.dirname(torch.__file__)
print(f"TORCH_ROOT={root}; ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}; CUDA={'1' if torch.version.cuda else '0'}")
PY
)"
libs="-ltorch_cpu -lc10"
[ "$CUDA" = 1 ] && libs="$libs -ltorch_cuda -lc10_cuda"
g++ -shared -fPIC -O2 -std=c++17 -fexceptions -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -D_GLIBCXX_USE_CXX11_ABI="$ABI" \
  -I node-include -I node-include/node -I "$TORCH_ROOT/include" -I "$TORCH_ROOT/include/torch/csrc/api/include" \
  addon.cc -o lss_torch.node -L "$TORCH_ROOT/lib" -Wl,--no-as-needed $libs -Wl,--as-needed -Wl,-rpath,"$TORCH_ROOT/lib"
export LSS_TORCH_ADDON="$PWD/lss_torch.node" LSS_TORCH_DEVICE="${LSS_TORCH_DEVICE:-cuda}"
./node check.mjs
# PyTorch on the same device: 12 blocks, B=1, T=8, grid 14, width 768, 12 heads, 3 runs
LSS_BENCH_DEVICE="$LSS_TORCH_DEVICE" python3 torch_bench.py 12 1 8 14 768 12 3 "$(nproc)"
