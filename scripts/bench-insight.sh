#!/usr/bin/env bash
# Insight speed on Postgres: a fresh database with a synthetic portfolio (100,000 customers
# × 100 events = 10 M by default), then `server/benches/insight.rs` (full recompute,
# scoring per customer, incremental recompute, churn training).
# Usage: scripts/bench-insight.sh [CUSTOMERS] [EVENTS_PER_CUSTOMER]   (Postgres on 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
customers=${1:-100000}; events=${2:-100}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
pg=${VCSM_BENCH_POSTGRES:-postgres://postgres@127.0.0.1:5432}
db=vcsm_bench_insight
psql "$pg/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
RUST_LOG=${RUST_LOG:-warn,app=info} cargo bench -p server --bench insight -- --database-url "$pg/$db" \
  --customers "$customers" --events "$events"
