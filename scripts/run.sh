#!/usr/bin/env bash
# Builds and runs Virtual CSM on SQLite with the demo portfolio: http://127.0.0.1:3000
# Settings (environment): DATABASE_URL, LEPTOS_SITE_ADDR, VCSM_DEMO (default 1) — see README.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"

# Rebuild only when the checkout changed since the last build, so a second run starts at once.
stamp_file="$CARGO_TARGET_DIR/.vcsm-run-stamp"
stamp=$( { git rev-parse HEAD; git status --porcelain; git diff; } 2>/dev/null | sha256sum | cut -d' ' -f1 || true)
if [ ! -x "$CARGO_TARGET_DIR/release/vcsm" ] || [ ! -f target/site/pkg/vcsm.wasm ] || [ -z "$stamp" ] ||
   [ "$(cat "$stamp_file" 2>/dev/null)" != "$stamp" ]; then
  cargo leptos build --release --split
  echo "$stamp" > "$stamp_file"
fi
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-target/site}"
export LEPTOS_SITE_ADDR="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
export LEPTOS_ENV="${LEPTOS_ENV:-PROD}"
export DATABASE_URL="${DATABASE_URL:-sqlite://data/vcsm.db?mode=rwc}"
demo_flag=(); [ "${VCSM_DEMO:-1}" = "1" ] && demo_flag=(--demo)
exec "$CARGO_TARGET_DIR/release/vcsm" serve "${demo_flag[@]}"
