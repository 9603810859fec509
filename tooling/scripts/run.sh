#!/usr/bin/env bash
# One entry point that sets a fresh machine up (pnpm at the pinned version, dependencies; the test command builds) and then
# runs the demo or the test suite. Needs only Node 20 and npm.
#   bash tooling/scripts/run.sh demo   # LSS on the synthetic action world: evaluate, train without labels, evaluate (README "The demo")
#   bash tooling/scripts/run.sh test   # lint, type-check and every test, with one closing summary line
# Both: pnpm, the npm dependencies and, as root on Debian without a libtorch, libtorch-dev / libopenblas0-pthread /
# libgloo-dev (apt; the torch backend and @lss/distributed). Only `test` also installs chromium (apt; @lss/web's page test).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODE="${1:-test}"
case "$MODE" in
  demo | test) ;;
  *)
    echo "usage: bash tooling/scripts/run.sh demo|test (received \"$MODE\")" >&2
    exit 2
    ;;
esac
# @lss/web's page test drives a headless Chromium (playwright-core, executablePath); it downloads no browser.
# Only the test command needs it: the demo runs in Node (wasm or torch), never in a browser.
ensure_chromium() {
  local chromium="${LSS_CHROMIUM:-/usr/bin/chromium}"
  if [ -x "$chromium" ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[lss] no Chromium at $chromium: installing Debian's chromium for the @lss/web page test (apt, once)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "[lss] could not install chromium: the @lss/web page test will fail"
  else
    echo "[lss] no Chromium at $chromium and not root with apt: the @lss/web page test will fail; install Debian's chromium or set LSS_CHROMIUM"
  fi
}
PNPM_VERSION=12.4.2
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  PNPM=(pnpm)
elif npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  PNPM=(pnpm)
else
  PNPM=(npx -y "pnpm@$PNPM_VERSION")
fi
echo "[lss] pnpm $("${PNPM[@]}" --version), node $(node --version)"
# @lss/backend-torch (the 'torch' tfjs backend) compiles at install against a local libtorch and downloads
# nothing: Debian's libtorch-dev, a folder in LSS_LIBTORCH, or a pip PyTorch (packages/backend-torch/README.md).
if [ -z "${LSS_LIBTORCH:-}" ] && [ ! -f /usr/include/ATen/ATen.h ] && ! python3 -c 'import torch' >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[lss] no libtorch found: installing Debian's libtorch-dev and libopenblas0-pthread for the torch backend (apt, once)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libtorch-dev libopenblas0-pthread libgloo-dev >/dev/null) \
      || echo "[lss] could not install libtorch-dev: continuing without the torch backend (wasm)"
  else
    echo "[lss] no libtorch found and not root with apt: continuing without the torch backend (wasm); see packages/backend-torch/README.md"
  fi
fi
# @lss/distributed (c10d process groups) also needs Gloo's headers, which Debian ships apart from libtorch-dev.
if [ -f /usr/include/torch/csrc/distributed/c10d/ProcessGroupGloo.hpp ] && [ ! -f /usr/include/gloo/context.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[lss] installing Debian's libgloo-dev for @lss/distributed (apt, once)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgloo-dev >/dev/null) \
      || echo "[lss] could not install libgloo-dev: distributed training stays unavailable"
  else
    echo "[lss] Gloo headers missing (Debian: libgloo-dev): @lss/distributed's c10d binding will not be built"
  fi
fi
"${PNPM[@]}" install --frozen-lockfile
case "$MODE" in
  demo)
    # The demo runs from the TypeScript sources (tsx, the @lss/source export condition): only @lss/core's
    # JavaScript is built (its #tfjs-registrations import resolves to dist/), no type declarations.
    shift || true
    "${PNPM[@]}" demo "$@"
    ;;
  test)
    ensure_chromium
    "${PNPM[@]}" build
    node tooling/scripts/check-packages.mjs
    "${PNPM[@]}" lint
    "${PNPM[@]}" type-check
    rm -f packages/*/test-report.json apps/*/test-report.json tooling/*/test-report.json
    status=0
    # one workspace at a time: each vitest run already uses both cores
    "${PNPM[@]}" exec turbo run test --continue --concurrency=1 || status=$?
    rm -f packages/*/test-report.torch.json apps/*/test-report.torch.json
    if [ -f packages/backend-torch/build/Release/lss_torch.node ]; then
      # The same suites again on the torch backend (fixtures within 1e-4, leak tests count native handles).
      for pkg in @lss/backbone @lss/objectives @lss/trainer @lss/eval; do
        echo "[lss] $pkg on the torch backend"
        # 1 libtorch thread per vitest fork (the forks already fill the cores); the end-to-end trainer tests
        # took ~200 s each on torch on the loaded 2-core machine, above vitest's 120 s default here.
        LSS_TEST_BACKEND=torch LSS_TORCH_THREADS="${LSS_TORCH_THREADS:-1}" "${PNPM[@]}" --filter "$pkg" exec vitest run \
          --testTimeout=600000 --outputFile.json=test-report.torch.json || status=$?
      done
      # tfjs's own op test suite (jasmine, shipped in @tensorflow/tfjs-core) against torch
      "${PNPM[@]}" --filter @lss/backend-torch run test:tfjs || status=$?
    else
      echo "[lss] torch backend not built (packages/backend-torch/build/status.json says why): torch suites not run"
    fi
    node tooling/scripts/test-summary.mjs || status=1
    exit "$status"
    ;;
esac
