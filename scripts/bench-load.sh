#!/usr/bin/env bash
# Pages under ingestion (issue 14), on SQLite and then Postgres: for each, a release server on
# a fresh database holding the demo portfolio, a signed-in user and a source, then
# `server/benches/load.rs` (readers alone, ingestion alone, both; each phase SECONDS long).
# Usage: scripts/bench-load.sh [SECONDS] [CUSTOMERS] [DAYS] [DATABASES]
#   defaults: 60 s, the demo's 300 customers × 365 days, "sqlite postgres"
#   (Postgres on 127.0.0.1:5432, trust auth; VCSM_BENCH_POSTGRES to point elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}; customers=${2:-300}; days=${3:-365}; databases=${4:-sqlite postgres}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
pg=${VCSM_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
email=bench@example.com
password='four readers, eight writers, one minute'
port=3201

# One build of both: the bench's dev-dependencies change the server's features, so two
# separate builds would each rebuild it.
cargo build --release -p server --bin vcsm --bench load
bin="$CARGO_TARGET_DIR/release/vcsm"
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT

for database in $databases; do
  case $database in
    sqlite) url="sqlite://$work/bench.db?mode=rwc" ;;
    postgres)
      psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS vcsm_bench_load" -c "CREATE DATABASE vcsm_bench_load"
      url="$pg/vcsm_bench_load" ;;
    *) echo "unknown database $database (sqlite or postgres)" >&2; exit 2 ;;
  esac
  echo "== $database: demo portfolio of $customers customers × $days days"
  DATABASE_URL=$url "$bin" demo --customers "$customers" --days "$days" | tail -1
  DATABASE_URL=$url "$bin" create-user --email "$email" --password "$password" --role manager >/dev/null
  key=$(DATABASE_URL=$url "$bin" source create bench | awk '/^write key:/ {print $3}')
  # Planner statistics for the freshly loaded tables, as autovacuum would have them in service.
  [ "$database" = postgres ] && psql "$url" -qc "ANALYZE"

  DATABASE_URL=$url LEPTOS_SITE_ADDR=127.0.0.1:$port LEPTOS_OUTPUT_NAME=vcsm RUST_LOG=${RUST_LOG:-warn} \
    "$bin" serve >"$work/server-$database.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do curl -fs http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
  cargo bench -q --profile release -p server --bench load -- --url http://127.0.0.1:$port --key "$key" \
    --database-url "$url" --email "$email" --password "$password" --seconds "$seconds"
  kill $server; wait $server 2>/dev/null || true; server=
  errors=$(grep -c ' ERROR ' "$work/server-$database.log" || true)
  echo "server log: $errors errors"
  cp "$work/server-$database.log" "${TMPDIR:-/tmp}/vcsm-bench-load-$database.log"
done
