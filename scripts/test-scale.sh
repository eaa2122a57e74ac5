#!/usr/bin/env bash
# `npm run test:scale`: the tests at the host's scale (test/scale/): the shipped scenarios that fill tens of thousands
# of ports (default-range, server-beyond-65535, wide-range, four-wide-range), every shipped sweep, the swarm on a lab
# of three engines, every shipped application scenario with a wrong expectation, the fault trial on an engine of its
# own, and the README's install block on a fresh clone. One file at a time: each needs a large share of the host's
# conntrack table and cores. 30 to 40 minutes on two cores. CI runs it after `npm test`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec node_modules/.bin/vitest run --project scale --maxWorkers=1 "$@"
