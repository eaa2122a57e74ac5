#!/usr/bin/env bash
# Bundles each command into one JavaScript file in dist/ (esbuild), which starts faster than compiling the
# TypeScript at every start. Rebuilds only when a source is newer than the last build. Tests and development run
# the TypeScript through tsx; npm's pre-scripts run this before the commands.
set -euo pipefail
cd "$(dirname "$0")/.."
built=dist/.built
if [ ! -f "$built" ] || [ -n "$(find orchestrator package-lock.json -newer "$built" -print -quit)" ]; then
  rm -rf dist
  node_modules/.bin/esbuild orchestrator/cli/portlab.ts orchestrator/cli/main.ts orchestrator/cli/sweep-command.ts \
    orchestrator/cli/report-command.ts --bundle --platform=node --format=esm --packages=external --splitting --outdir=dist \
    --out-extension:.js=.mjs --banner:js='#!/usr/bin/env node' --log-level=warning
  chmod +x dist/portlab.mjs
  touch "$built"
fi
