#!/usr/bin/env bash
# Bundles each command into dist/ (scripts/build-cli.mjs: esbuild, the dependencies bundled in), which starts faster
# than compiling the TypeScript at every start. Rebuilds only when a source is newer than the last build. Tests and development run
# the TypeScript through tsx; npm's pre-scripts run this before the commands.
set -euo pipefail
cd "$(dirname "$0")/.."
built=dist/.built
if [ ! -f "$built" ] || [ -n "$(find orchestrator package-lock.json scripts/build-cli.mjs -newer "$built" -print -quit)" ]; then
  rm -rf dist
  node scripts/build-cli.mjs
  chmod +x dist/portlab.mjs
  touch "$built"
fi
