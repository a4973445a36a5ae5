#!/usr/bin/env bash
# Benchmarks: measurements and ratios against baselines measured in the same run (never pass/fail).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh >/dev/null
# pgcopydb: an existing engine measured as a peer (Debian has it); skipped in the table when missing.
if ! command -v pgcopydb >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgcopydb >/dev/null 2>&1 || echo "bench: pgcopydb could not be installed; measured without it"
fi
node scripts/build.mjs --production
node scripts/build.mjs --tests
node --import tsx bench/foundation.ts
node --import tsx bench/migration.ts
node --import tsx bench/estimate.ts
node --import tsx bench/validation.ts
node --import tsx bench/webview.ts
