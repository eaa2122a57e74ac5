#!/usr/bin/env bash
# `npm test`: the typecheck and the whole suite (unit, engine, browser). The typecheck runs beside the suite, whose
# first minutes leave a core mostly idle (the engine tests wait on the engine), and its verdict counts as much.
set -uo pipefail
cd "$(dirname "$0")/.."
typecheck_output=$(mktemp)
node_modules/.bin/tsc --noEmit > "$typecheck_output" 2>&1 &
typecheck=$!
node_modules/.bin/vitest run "$@"
suite=$?
wait "$typecheck"
typecheck_status=$?
if [ "$typecheck_status" -ne 0 ]; then
  echo "typecheck (tsc --noEmit) failed:" >&2
  cat "$typecheck_output" >&2
fi
rm -f "$typecheck_output"
[ "$suite" -eq 0 ] && [ "$typecheck_status" -eq 0 ]
