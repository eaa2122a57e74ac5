#!/usr/bin/env bash
# `npm run test:engines`: the scenarios on the engines beside Docker (test/engines/): Podman rootful, and rootless as
# the user PORTLAB_TEST_ROOTLESS_USER names. Where no Podman answers, reported as not run (the suite never installs or
# starts one: scripts/start-podman.sh does). One file at a time. CI runs it after the kernel tests.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/vitest run --project engines --maxWorkers=1 "$@"
