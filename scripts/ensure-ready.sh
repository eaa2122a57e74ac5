#!/usr/bin/env bash
# Run by npm before portlab's commands (the pre-scripts in package.json): installs the npm dependencies when they
# were never installed from this package-lock.json, builds the bundled commands, and with --engine / --browser makes
# sure a Docker engine answers and Chromium is there (for the test suite). A quick no-op when all is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

# Written after a successful `npm ci`: the lock file it installed from is older than it.
installed=node_modules/.portlab-installed
if [ ! -f "$installed" ] || [ package-lock.json -nt "$installed" ]; then
  echo "installing portlab's npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  touch "$installed"
fi
bash scripts/build-cli.sh
for wanted in "$@"; do
  case "$wanted" in
    --engine) bash scripts/start-engine.sh >&2 ;;
    --browser) bash scripts/ensure-test-browser.sh >&2 ;;
    *) echo "ensure-ready.sh: unknown option $wanted" >&2; exit 2 ;;
  esac
done
