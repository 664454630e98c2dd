#!/usr/bin/env bash
# Memory under a pile of CSV imports (issue 14): a release server on a fresh SQLite database,
# one signed-in user who sends UPLOADS imports of MEGABYTES each at once, the server's resident
# memory sampled every 100 ms; prints its peak before and during, and what each upload was told.
# Usage: scripts/bench-imports.sh [UPLOADS] [MEGABYTES]   (defaults: 30 uploads of 19 MB)
set -euo pipefail
cd "$(dirname "$0")/.."
uploads=${1:-30}; megabytes=${2:-19}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/vcsm-target}"
email=imports@example.com
password='thirty files of nineteen megabytes'
port=3202
base=http://127.0.0.1:$port

cargo build --release -p server --bin vcsm
bin="$CARGO_TARGET_DIR/release/vcsm"
work=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill $server 2>/dev/null; rm -rf "$work"' EXIT
url="sqlite://$work/imports.db?mode=rwc"

DATABASE_URL=$url "$bin" create-user --email "$email" --password "$password" --role admin >/dev/null
# A customers file of about MEGABYTES, as the body of `start_import` (JSON).
python3 - "$megabytes" >"$work/body.json" <<'EOF'
import json, sys
target = int(sys.argv[1]) * 1024 * 1024
rows, size, i = ["external_id,name,mrr,seats"], 0, 0
while size < target:
    row = f"acct_{i:08d},Customer number {i} of a large import,{i % 5000}.00,{i % 200}"
    rows.append(row); size += len(row) + 1; i += 1
print(json.dumps({"kind": "Customers", "csv": "\n".join(rows) + "\n"}))
EOF
echo "body: $(du -m "$work/body.json" | cut -f1) MB, $uploads uploads at once"

DATABASE_URL=$url LEPTOS_SITE_ADDR=127.0.0.1:$port LEPTOS_OUTPUT_NAME=vcsm RUST_LOG=warn \
  "$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 100); do curl -fs $base/healthz >/dev/null && break; sleep 0.2; done
curl -fs -c "$work/jar" -o /dev/null -d "email=$email" --data-urlencode "password=$password" $base/api/login
curl -fs -b "$work/jar" -o /dev/null $base/customers
rss() { awk '/^VmRSS/ {print int($2/1024)}' /proc/$server/status; }
hwm() { awk '/^VmHWM/ {print int($2/1024)}' /proc/$server/status; }
echo "resident before: $(rss) MB (peak so far $(hwm) MB)"

( while kill -0 $server 2>/dev/null; do r=$(rss); echo "$r"; sleep 0.1; done ) >"$work/rss" &
sampler=$!
senders=()
for i in $(seq "$uploads"); do
  curl -s -b "$work/jar" -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' \
    --data-binary @"$work/body.json" $base/api/start_import >"$work/status.$i" &
  senders+=($!)
done
wait "${senders[@]}" || true
# The import that was accepted runs on in the background: keep sampling while it does.
sleep "${VCSM_BENCH_SETTLE:-30}"
kill $sampler 2>/dev/null || true
peak=$(sort -n "$work/rss" | tail -1)
echo "answers: $(cat "$work"/status.* | sort | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
echo "resident during: peak $peak MB (sampled), VmHWM $(hwm) MB"
