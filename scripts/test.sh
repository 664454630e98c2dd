#!/usr/bin/env bash
# Runs every test: lints, unit tests, integration tests on SQLite and on Postgres, and the
# Playwright suite in Chromium against the real release binary.
# Postgres: VCSM_TEST_POSTGRES=postgres://user@host:port (a server where the tests may
# create databases). Given by default when CI=true or a server answers on 127.0.0.1:5432.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --e2e
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
export PATH="$HOME/.cargo/bin:$PWD/node_modules/.bin:$PATH"
export CARGO_TERM_COLOR=never
say() { printf '\n\033[1;34m==>\033[0m %s\n' "$*"; }

say "format and lints"
cargo fmt --all -- --check
cargo clippy -p vcsm -p migration -p server --all-targets -- -D warnings
cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings
# Nothing server-only or vendor-specific is compiled for the browser (issue 15, item 6).
wasm_tree=$(cargo tree -p app --features hydrate --target wasm32-unknown-unknown -e normal,no-proc-macro --prefix none)
server_only=$(awk '{print $1}' <<<"$wasm_tree" | grep -xE 'hmac|sha1|sha2|vader-parity|csv|rand|rand_chacha|linfa|sea-orm|tokio|axum|reqwest|lettre|argon2|zxcvbn' | sort -u || true)
if [ -n "$server_only" ]; then
  echo "server-only crates in the wasm build: $server_only" >&2
  exit 1
fi

say "unit tests (domain core and app backend)"
cargo test -p vcsm -p migration --features vcsm/training,vcsm/server
cargo test -p app --features ssr --lib

say "integration tests on SQLite"
VCSM_TEST_POSTGRES= cargo test -p server

# Postgres: the given server, else the local one; on CI install and start it if missing.
pg_url="${VCSM_TEST_POSTGRES:-}"
if [ -z "$pg_url" ] && { [ "${CI:-}" = "true" ] || pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }; then
  pg_url="postgres://postgres@127.0.0.1:5432"
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    say "Postgres is not running: installing and starting it"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql >/dev/null
    $SUDO pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    $SUDO -u postgres psql -qc "ALTER USER postgres PASSWORD NULL" >/dev/null 2>&1 || true
  fi
fi
if [ -n "$pg_url" ]; then
  say "integration tests on Postgres ($pg_url)"
  # Drop databases left by earlier runs.
  for db in $(psql "$pg_url/postgres" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'vcsm_t_%'" 2>/dev/null); do
    psql "$pg_url/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  done
  VCSM_TEST_POSTGRES="$pg_url" cargo test -p server
else
  say "SKIPPED integration tests on Postgres: no server (set VCSM_TEST_POSTGRES)"
fi

# The release build, as users get it: split into lazy routes (--split) and optimised, so the
# browser tests check that every page hydrates from it without console errors.
say "browser tests (Playwright + Chromium) against the release build"
export LEPTOS_SITE_ROOT=target/e2e-site
cargo leptos build --release --split
e2e_dir=$(mktemp -d)
port="${VCSM_E2E_PORT:-3100}"
LEPTOS_ENV=PROD LEPTOS_SITE_ADDR="127.0.0.1:$port" DATABASE_URL="sqlite://$e2e_dir/e2e.db?mode=rwc" \
  "$CARGO_TARGET_DIR/release/vcsm" serve --demo > "$e2e_dir/server.log" 2>&1 &
server_pid=$!
trap 'kill $server_pid 2>/dev/null || true; rm -rf "$e2e_dir"' EXIT
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 1; done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$e2e_dir/server.log"; exit 1; }
VCSM_BASE_URL="http://127.0.0.1:$port" npx playwright test --config end2end/playwright.config.ts || {
  rc=$?
  say "the server's warnings and errors during the browser tests"
  grep -E " (WARN|ERROR) " "$e2e_dir/server.log" | tail -50 || true
  exit $rc
}
