#!/usr/bin/env bash
# `npm run test:scale`: the tests at the host's scale (test/scale/): the shipped scenarios that fill tens of thousands
# of ports (default-range, server-beyond-65535, wide-range, four-wide-range), every shipped sweep, and the swarm on a
# lab of three engines. One file at a time: each needs a large share of the host's conntrack table and cores.
# 23 to 35 minutes on two cores. CI runs it after `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/vitest run --project scale --maxWorkers=1 "$@"
