#!/usr/bin/env bash
# Run by npm before portlab's commands (the pre-scripts in package.json): installs the npm dependencies when they
# are missing or older than package-lock.json, and with --engine / --browser makes sure a Docker engine answers and
# Chromium is there (for the test suite). A quick no-op when everything is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

installed=node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ package-lock.json -nt "$installed" ]; then
  echo "installing portlab's npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
# The commands run as one bundled JavaScript file per command (dist/), which starts faster than compiling the
# TypeScript at every start; rebuilt when any source is newer than the last build. Tests and development use tsx.
built=dist/.built
if [ ! -f "$built" ] || [ -n "$(find orchestrator package-lock.json -newer "$built" -print -quit)" ]; then
  rm -rf dist
  node_modules/.bin/esbuild orchestrator/cli/main.ts orchestrator/cli/sweep-command.ts orchestrator/cli/report-command.ts \
    --bundle --platform=node --format=esm --packages=external --splitting --outdir=dist --out-extension:.js=.mjs \
    --log-level=warning
  touch "$built"
fi
for wanted in "$@"; do
  case "$wanted" in
    --engine) bash scripts/start-engine.sh >&2 ;;
    --browser) bash scripts/ensure-test-browser.sh >&2 ;;
    *) echo "ensure-ready.sh: unknown option $wanted" >&2; exit 2 ;;
  esac
done
