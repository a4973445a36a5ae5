#!/usr/bin/env bash
# The whole test suite, as the README gives it: installs what it needs (scripts/setup.sh), type-checks,
# lints, builds and packages the extension, then runs with node's test runner:
#   test/unit         core logic, no servers
#   test/integration  core + CLI against real PG15 and PG17 servers and the real pg tools
#   test/vscode       suites inside a real extension host (code-server) against real servers
#   test/e2e          the packaged .vsix in a real workbench, driven by Playwright
# Ends with a line "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
set -e
npm run --silent package   # type-check, lint, production build, .vsix
node scripts/build.mjs --tests
set +e

mkdir -p test-results
log=test-results/test-output.txt
files=(test/unit/*.test.ts test/integration/*.test.ts test/vscode/run.test.ts test/e2e/*.test.ts test/setup/*.test.ts)
if [ -n "${HM_TEST_FILES:-}" ]; then read -r -a files <<<"$HM_TEST_FILES"; fi
node --import tsx --test --test-reporter=spec --test-timeout=900000 "${files[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

pass=$(grep -E '^ℹ pass [0-9]+' "$log" | tail -1 | awk '{print $3}')
fail=$(grep -E '^ℹ fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
skipped=$(grep -E '^ℹ skipped [0-9]+' "$log" | tail -1 | awk '{print $3}')
pass=${pass:-0}; fail=${fail:-0}; skipped=${skipped:-0}
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "${pass} passed, ${fail} failed, ${skipped} skipped"
exit "$status"
