#!/usr/bin/env bash
# Benchmarks: measurements and ratios against baselines measured in the same run (never pass/fail).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh >/dev/null
node scripts/build.mjs --production
node scripts/build.mjs --tests
node --import tsx bench/foundation.ts
node --import tsx bench/migration.ts
node --import tsx bench/validation.ts
node --import tsx bench/webview.ts
