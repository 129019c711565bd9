#!/usr/bin/env bash
# One big, slow repository: a sequential harvest against `--parallel N`,
# on an even repository and on one where half the records share one day
# (as after a migration). examples/serve generates it; its own count says
# how many requests it answered at once.
#
#   bash bench/parallel.sh [RECORDS [MS_PER_PAGE [PAGE_SIZE [N]]]]
#
# Defaults: 1,000,000 records, 200 ms per page, 1,000 records per page, 4.
# Targets: --parallel 4 at least 3.2x faster than sequential (2.5x with the
# crowded day), never more than 4 requests at once to the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
RECORDS=${1:-1000000}; MS=${2:-200}; PAGE=${3:-1000}; N=${4:-4}
PORT=${BENCH_PORT:-8476}
WORK=$(mktemp -d)
SERVER=
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc; }
cargo build -q --release --bin oai-mirror --example serve
BIN=target/release/oai-mirror
URL="http://127.0.0.1:$PORT/oai"

serve() { # crowded share
  [ -z "$SERVER" ] || { kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; }
  # A minute between datestamps: a million records span two years.
  SERVE_PAGE_SIZE=$PAGE SERVE_LATENCY_MS=$MS SERVE_STEP_SECS=60 SERVE_CROWDED=$1 \
    target/release/examples/serve "$RECORDS" "$PORT" 2>"$WORK/server.log" & SERVER=$!
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$PORT/stats" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "the test bed did not start" >&2; cat "$WORK/server.log" >&2; exit 1
}
measure() { # db, args... -> "seconds cpu_seconds"
  local db=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$WORK/time" "$BIN" -q --db "$WORK/$db.sqlite" harvest "$URL" "$@" >"$WORK/out" 2>"$WORK/err" \
    || { tail -5 "$WORK/err" >&2; return 1; }
  local n; n=$(grep -o '[0-9]* records' "$WORK/out" | head -1 | cut -d' ' -f1)
  [ "$n" = "$RECORDS" ] || { echo "harvested $n records, not $RECORDS: $(cat "$WORK/out")" >&2; return 1; }
  awk '{printf "%s %.1f\n", $1, $2 + $3}' "$WORK/time"
}

printf 'one repository: %s records, %s per page, %s ms per page\n' "$RECORDS" "$PAGE" "$MS"
printf '%-28s %10s %10s %10s %8s %14s\n' repository sequential "parallel$N" speedup target most_at_once
for shape in even crowded; do
  crowded=0; target=3.2
  [ $shape = crowded ] && { crowded=0.5; target=2.5; }
  serve $crowded
  read -r seq _ < <(measure "$shape-seq")
  read -r par _ < <(measure "$shape-par" --parallel "$N")
  most=$(curl -fs "http://127.0.0.1:$PORT/stats" | awk '/^most_in_flight/ {print $2}')
  label=$shape; [ $shape = crowded ] && label="half on one day"
  printf '%-28s %9.1fs %9.1fs %9.2fx %7sx %14s\n' "$label" "$seq" "$par" "$(echo "$seq / $par" | bc -l)" ">= $target" "$most (<= $N)"
done
