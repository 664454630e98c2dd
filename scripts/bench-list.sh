#!/usr/bin/env bash
# Customer-list latency at scale, against a running server (not a test: timings are noisy).
# Usage: scripts/bench-list.sh BASE_URL EMAIL PASSWORD [REQUESTS]
# Reports the median and p95 of each query shape, and of /healthz as the baseline for the
# machine's HTTP overhead measured in the same run.
set -euo pipefail
base=$1; email=$2; password=$3; n=${4:-50}
jar=$(mktemp); trap 'rm -f "$jar"' EXIT
curl -fs -c "$jar" -o /dev/null -d "email=$email&password=$password" "$base/api/login" || true
measure() { # name, then curl arguments
  local name=$1; shift
  for _ in $(seq "$n"); do curl -s -b "$jar" -o /dev/null -w '%{time_total}\n' "$@"; done | sort -n |
    awk -v name="$name" '{ t[NR] = $1 * 1000 } END { printf "%-34s median %7.2f ms   p95 %7.2f ms\n", name, t[int(NR/2)+1], t[int(NR*0.95)] }'
}
json() { printf '{"query":{"search":"%s","tier":%s,"stage":null,"owner":null,"include_archived":false,"sort":"%s","desc":%s,"page":%s,"per_page":50}}' "$@"; }
measure "baseline: GET /healthz" "$base/healthz"
measure "list: first page by name" -H 'content-type: application/json' -d "$(json '' null Name false 1)" "$base/api/list_customers"
measure "list: search 'labs'" -H 'content-type: application/json' -d "$(json labs null Name false 1)" "$base/api/list_customers"
measure "list: enterprise by MRR desc" -H 'content-type: application/json' -d "$(json '' '"Enterprise"' Mrr true 1)" "$base/api/list_customers"
measure "list: last page by last seen" -H 'content-type: application/json' -d "$(json '' null LastSeen true 200)" "$base/api/list_customers"
measure "page: GET /customers (SSR HTML)" "$base/customers"
measure "dashboard server function" -X POST "$base/api/dashboard"
