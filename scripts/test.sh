#!/usr/bin/env bash
# `npm test`: the typecheck, the lint (ESLint and Prettier, as `npm run lint`) and the whole suite (unit, engine,
# browser). The typecheck and the lint run beside the suite, whose first minutes leave a core mostly idle (the engine
# tests wait on the engine), and their verdicts count as much.
set -uo pipefail
cd "$(dirname "$0")/.."
typecheck_output=$(mktemp)
node_modules/.bin/tsc --noEmit > "$typecheck_output" 2>&1 &
typecheck=$!
lint_output=$(mktemp)
(node_modules/.bin/eslint . && node_modules/.bin/prettier --check . --log-level warn) > "$lint_output" 2>&1 &
lint=$!
node_modules/.bin/vitest run "$@"
suite=$?

# Waits for a check run beside the suite; prints its output when it failed. Returns its status.
finish() {
  local pid=$1 name=$2 output=$3 status
  wait "$pid"
  status=$?
  if [ "$status" -ne 0 ]; then
    echo "$name failed:" >&2
    cat "$output" >&2
  fi
  rm -f "$output"
  return "$status"
}
finish "$typecheck" "typecheck (tsc --noEmit)" "$typecheck_output"
typecheck_status=$?
finish "$lint" "lint (npm run lint: eslint, prettier --check)" "$lint_output"
lint_status=$?
[ "$suite" -eq 0 ] && [ "$typecheck_status" -eq 0 ] && [ "$lint_status" -eq 0 ]
