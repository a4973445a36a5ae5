#!/usr/bin/env bash
# The main job: installs what it needs, packages the extension, then starts a PG15 source with a
# Hydra-shaped sample database, an empty PG17 target and VS Code (code-server) with the extension
# installed, and prints the URL and the URIs to paste. Ctrl+C stops everything and removes the data.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
npm run --silent package >/dev/null
exec node --import tsx scripts/demo.ts "$@"
