#!/usr/bin/env bash
# One entry point that sets a fresh machine up (pnpm at the pinned version, dependencies, build) and then
# runs the demo or the test suite. Needs only Node 20 and npm.
#   bash tooling/scripts/run.sh demo   # train the tiny model on the synthetic videos, then evaluate
#   bash tooling/scripts/run.sh test   # lint, type-check and every test, with one closing summary line
set -euo pipefail
cd "$(dirname "$0")/../.."
PNPM_VERSION=12.4.2
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  PNPM=(pnpm)
elif npm install -g "pnpm@$PNPM_VERSION" >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  PNPM=(pnpm)
else
  PNPM=(npx -y "pnpm@$PNPM_VERSION")
fi
echo "[lss] pnpm $("${PNPM[@]}" --version), node $(node --version)"
"${PNPM[@]}" install --frozen-lockfile
"${PNPM[@]}" build
node tooling/scripts/check-packages.mjs
case "${1:-test}" in
  demo)
    shift || true
    "${PNPM[@]}" demo "$@"
    ;;
  test)
    "${PNPM[@]}" lint
    "${PNPM[@]}" type-check
    rm -f packages/*/test-report.json apps/*/test-report.json tooling/*/test-report.json
    status=0
    # one workspace at a time: each vitest run already uses both cores
    "${PNPM[@]}" exec turbo run test --continue --concurrency=1 || status=$?
    node tooling/scripts/test-summary.mjs || status=1
    exit "$status"
    ;;
  *)
    echo "usage: bash tooling/scripts/run.sh demo|test" >&2
    exit 2
    ;;
esac
