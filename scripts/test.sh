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
wait "$typecheck"
typecheck_status=$?
if [ "$typecheck_status" -ne 0 ]; then
  echo "typecheck (tsc --noEmit) failed:" >&2
  cat "$typecheck_output" >&2
fi
rm -f "$typecheck_output"
wait "$lint"
lint_status=$?
if [ "$lint_status" -ne 0 ]; then
  echo "lint (npm run lint: eslint, prettier --check) failed:" >&2
  cat "$lint_output" >&2
fi
rm -f "$lint_output"
[ "$suite" -eq 0 ] && [ "$typecheck_status" -eq 0 ] && [ "$lint_status" -eq 0 ]
