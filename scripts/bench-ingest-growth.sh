#!/usr/bin/env bash
# Ingestion rate as the events table grows (issue 14), on Postgres: a release server on a fresh
# database with 1,000 demo customers whose events table is then emptied, autovacuum off for it
# and no ANALYZE — the planner never learns the table grew. `server/benches/ingest.rs --events`
# posts until EVENTS are stored and reports the rate of each 100,000.
# Usage: scripts/bench-ingest-growth.sh [EVENTS] [CLIENTS]   (Postgres on 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1000000}; clients=${2:-8}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
pg=${VCSM_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
db=vcsm_bench_growth
psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
url="$pg/$db"

# One build of both: the bench's dev-dependencies change the server's features, so two
# separate builds would each rebuild it.
cargo build --release -p server --bin vcsm --bench ingest
bin="$CARGO_TARGET_DIR/release/vcsm"
DATABASE_URL=$url "$bin" demo --customers 1000 --days 1 >/dev/null
key=$(DATABASE_URL=$url "$bin" source create bench | awk '/^write key:/ {print $3}')
psql "$url" -qc "TRUNCATE usage_events" -c "ALTER TABLE usage_events SET (autovacuum_enabled = false)"
echo "autovacuum: $(psql "$url" -Atc 'SHOW autovacuum') (server), off for usage_events"

DATABASE_URL=$url LEPTOS_SITE_ADDR=127.0.0.1:3202 LEPTOS_OUTPUT_NAME=vcsm RUST_LOG=warn "$bin" serve &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs http://127.0.0.1:3202/healthz >/dev/null && break; sleep 0.2; done

cargo bench -q --profile release -p server --bench ingest -- --url http://127.0.0.1:3202 --key "$key" \
  --database-url "$url" --clients "$clients" --events "$events"
