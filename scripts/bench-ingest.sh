#!/usr/bin/env bash
# Ingestion on Postgres: a release server on a fresh database with 1,000 demo customers and a
# source, then `server/benches/ingest.rs`.
# Usage: scripts/bench-ingest.sh [CLIENTS] [SECONDS]
#          throughput: HTTP API vs the raw-insert ceiling, planner statistics fresh (ANALYZE)
#        scripts/bench-ingest.sh --growth [EVENTS] [CLIENTS]
#          the rate per 100,000 events from an emptied events table, autovacuum off for it and
#          no ANALYZE: the planner never learns the table grew (default 1,000,000 events)
# Postgres on 127.0.0.1:5432, trust auth (VCSM_BENCH_POSTGRES to point elsewhere).
# VCSM_BENCH_EVENT_TRIGGER picks how "event received" domain events are written, to measure
# what they cost (run the modes alternately and compare): `statement` (the schema's, one
# INSERT … SELECT per statement), `row` (the first version's row trigger, one call per
# event), `off` (none).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = --growth ]; then
  growth=1; events=${2:-1000000}; clients=${3:-8}
else
  growth=; clients=${1:-8}; seconds=${2:-20}
fi
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
case "${VCSM_BENCH_EVENT_TRIGGER:-statement}" in
  statement) ;;
  off) psql "$url" -qc "ALTER TABLE usage_events DISABLE TRIGGER de_usage_events" ;;
  row) psql "$url" -q -v ON_ERROR_STOP=1 <<'SQL'
DROP TRIGGER de_usage_events ON usage_events;
CREATE FUNCTION de_usage_events_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
  PERFORM de_record(NEW.customer_id, 'event.received', json_build_object('name', NEW.name,
    'properties', NEW.properties, 'usage_event_id', NEW.id), NEW.occurred_at, NEW.received_at);
  IF NEW.name = 'NPS Submitted' THEN PERFORM de_record(NEW.customer_id, 'nps.answered',
    json_build_object('score', NEW.properties::json -> 'score', 'usage_event_id', NEW.id),
    NEW.occurred_at, NEW.received_at); END IF;
  RETURN NULL; END $$;
CREATE TRIGGER de_usage_events AFTER INSERT ON usage_events FOR EACH ROW
  EXECUTE FUNCTION de_usage_events_row();
SQL
  ;;
  *) echo "VCSM_BENCH_EVENT_TRIGGER: statement, row or off" >&2; exit 2 ;;
esac
echo "domain events for usage events: ${VCSM_BENCH_EVENT_TRIGGER:-statement}"
if [ -n "$growth" ]; then
  psql "$url" -qc "TRUNCATE usage_events" -c "ALTER TABLE usage_events SET (autovacuum_enabled = false)"
  echo "autovacuum: $(psql "$url" -Atc 'SHOW autovacuum') (server), off for usage_events"
  measure=(--events "$events")
else
  # Planner statistics for the freshly loaded tables, as autovacuum would have them in service.
  psql "$url" -qc "ANALYZE"
  measure=(--seconds "$seconds")
fi

DATABASE_URL=$url LEPTOS_SITE_ADDR=127.0.0.1:3200 LEPTOS_OUTPUT_NAME=vcsm RUST_LOG=warn "$bin" serve &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fs http://127.0.0.1:3200/healthz >/dev/null && break; sleep 0.2; done

cargo bench -q --profile release -p server --bench ingest -- --url http://127.0.0.1:3200 --key "$key" \
  --database-url "$url" --clients "$clients" "${measure[@]}"
