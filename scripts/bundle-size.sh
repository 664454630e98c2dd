#!/usr/bin/env bash
# The browser's download per page in the release build (issue 15's budget: the first page a
# user opens, login or dashboard, at most 500 KB of wasm + js gzipped). Builds the release
# site, serves it on a fresh demo database and measures every page in Chromium
# (end2end/tools/bundle-size.mjs); prints one line per page and the first page's figure.
# Usage: scripts/bundle-size.sh [--no-build] [/path ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
if [ "${1:-}" = "--no-build" ]; then shift; else cargo leptos build --release --split >&2; fi
port=3300
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR=127.0.0.1:$port LEPTOS_ENV=PROD RUST_LOG=warn \
  DATABASE_URL="sqlite://$work/bundle.db?mode=rwc" "$CARGO_TARGET_DIR/release/vcsm" serve --demo \
  >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 300); do curl -fs http://127.0.0.1:$port/healthz >/dev/null 2>&1 && break; sleep 1; done
curl -fs http://127.0.0.1:$port/healthz >/dev/null || { cat "$work/server.log"; exit 1; }
# The main files and each lazy route's own file; the shared chunks (code two routes use) summed.
( cd target/site/pkg
  gz() { gzip -9c "$1" | wc -c; }
  for f in vcsm.wasm vcsm.js __wasm_split*.js split_*.wasm; do
    [ -f "$f" ] && printf '%-60s %6s KB gz\n' "$f" $(( $(gz "$f") / 1024 ))
  done
  n=0; total=0
  for f in chunk_*.wasm; do [ -f "$f" ] || continue; n=$((n + 1)); total=$((total + $(gz "$f"))); done
  [ "$n" -gt 0 ] && printf '%-60s %6s KB gz\n' "$n shared chunks" $((total / 1024))
) || true
VCSM_BASE_URL=http://127.0.0.1:$port node end2end/tools/bundle-size.mjs "$@"
