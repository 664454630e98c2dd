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
echo "files: $(cd target/site/pkg && for f in *.wasm *.js; do printf '%s %s KB gz; ' "$f" $(( $(gzip -9c "$f" | wc -c) / 1024 )); done)"
VCSM_BASE_URL=http://127.0.0.1:$port node end2end/tools/bundle-size.mjs "$@"
