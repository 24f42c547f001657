#!/usr/bin/env bash
# Installs what the tests need and the machine may lack: Chromium (browser tests), redis-server
# (ssewire-redis's tests) and the npm packages of the demo page (HTMX, its SSE extension,
# playwright-core). Idempotent: apt-get runs only when there is no `chromium` (no
# `redis-server`), `npm ci` only when node_modules is missing or older than
# package-lock.json (`npm ci` deletes node_modules first, under any test reading it).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
chromium --version
# redis-server for ssewire-redis's tests (they start their own, on a unix socket, without
# persistence); Debian 12 ships 7.0.
if ! command -v redis-server >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
fi
redis-server --version
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
