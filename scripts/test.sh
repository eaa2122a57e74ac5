#!/usr/bin/env bash
# `npm test`: the typecheck, the lint (ESLint and Prettier, as `npm run lint`) and the suite (unit, browser, engine),
# in about five minutes on two cores; the tests at the host's scale are `npm run test:scale`. The typecheck and the
# lint run beside the suite, whose first minutes leave a core mostly idle (the engine tests wait on the engine), and
# their verdicts count as much. It changes no host-wide setting unless the machine is declared disposable
# (PORTLAB_TEST_HOST_SETTINGS=1, which .ci/run sets; CI=true alone is not that), and says so at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
typecheck_output=$(mktemp)
node_modules/.bin/tsc --noEmit > "$typecheck_output" 2>&1 &
typecheck=$!
lint_output=$(mktemp)
(node_modules/.bin/eslint . && node_modules/.bin/prettier --check . --log-level warn) > "$lint_output" 2>&1 &
lint=$!
node_modules/.bin/vitest run --project unit --project browser --project engine-alone --project engine --project engine-last "$@"
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
if [ "${PORTLAB_TEST_HOST_SETTINGS:-}" != 1 ]; then
  echo "not run: the 2 tests that change host-wide settings (net.netfilter.nf_conntrack_max, fs.file-max) for a moment; set PORTLAB_TEST_HOST_SETTINGS=1 on a machine you can spare"
fi
[ "$suite" -eq 0 ] && [ "$typecheck_status" -eq 0 ] && [ "$lint_status" -eq 0 ]
