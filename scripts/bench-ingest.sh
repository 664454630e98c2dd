#!/usr/bin/env bash
# Ingestion throughput on Postgres: a release server on a fresh database with 1,000 demo
# customers, a source, then `server/benches/ingest.rs` (HTTP API vs raw insert ceiling).
# Usage: scripts/bench-ingest.sh [CLIENTS] [SECONDS]   (Postgres on 127.0.0.1:5432, trust auth)
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-8}; seconds=${2:-20}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
pg=${VCSM_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
db=vcsm_bench
psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
url="$pg/$db"

# One build of both (see bench-load.sh).
cargo build --release -p server --bin vcsm --bench ingest
bin="$CARGO_TARGET_DIR/release/vcsm"
DATABASE_URL=$url "$bin" demo --customers 1000 --days 1 >/dev/null
key=$(DATABASE_URL=$url "$bin" source create bench | awk '/^write key:/ {print $3}')
# Planner statistics for the freshly loaded tables, as autovacuum would have them in service.
psql "$url" -qc "ANALYZE"

DATABASE_URL=$url LEPTOS_SITE_ADDR=127.0.0.1:3200 LEPTOS_OUTPUT_NAME=vcsm RUST_LOG=warn "$bin" serve &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs http://127.0.0.1:3200/healthz >/dev/null && break; sleep 0.2; done

cargo bench --profile release -p server --bench ingest -- --url http://127.0.0.1:3200 --key "$key" \
  --database-url "$url" --clients "$clients" --seconds "$seconds"
