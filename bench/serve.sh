#!/usr/bin/env bash
# The serve benchmark: N generated oai_dc records harvested into a store, then
# served by `oai-mirror serve` and fetched page by page over loopback
# (examples/fetch_pages: records/s, time per page median and p99), with the
# same N served by the PyPI `oaipmh` server (tests/testbeds/pyoai-server.sh)
# fetched the same way in the same run, and 16 harvesters at once.
#
#   bash bench/serve.sh [N ...]        default: 10000 100000
#   BENCH_PYOAI_MAX=10000 bash bench/serve.sh 10000 100000 1000000
#
# The `oaipmh` server builds its whole list for every page (572 s for 100k
# records on the 2-core machine), so BENCH_PYOAI_MAX (default 100000) skips
# it above that size; likewise the 16 harvesters at once above
# BENCH_CONCURRENT_MAX (default 100000).
#
# Prints per server: records, seconds, records/s, page median and p99 (ms),
# the server's peak RSS, and errors.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
bash tests/testbeds/pyoai-server.sh --setup
cargo build -q --release --bin oai-mirror --example serve --example fetch_pages
BIN=target/release/oai-mirror
FETCH=target/release/examples/fetch_pages
wait_for() { for _ in $(seq 300); do curl -fs "$1" >/dev/null && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
peak_kb() { grep VmHWM "/proc/$1/status" | awk '{print $2}'; }
row() { # name fetch-output peak_kb
  eval "$(echo "$2" | tr ' ' '\n' | sed 's/^/local /')"
  printf '%-22s %9s %8s %11s %9s %9s %9.1f %6s\n' "$1" "$records" "$seconds" "$rate" "$median_ms" "$p99_ms" "$(echo "$3 / 1024" | bc -l)" "$errors"
}

printf '%-22s %9s %8s %11s %9s %9s %9s %6s\n' server records seconds records/s median_ms p99_ms peak_MB errors
for N in "${SIZES[@]}"; do
  target/release/examples/serve "$N" 8481 2>/dev/null & PIDS+=($!)
  wait_for "http://127.0.0.1:8481/oai?verb=Identify"
  rm -rf "$WORK/db.sqlite"*
  "$BIN" -q --db "$WORK/db.sqlite" harvest http://127.0.0.1:8481/oai >/dev/null
  kill "${PIDS[-1]}"
  "$BIN" -q --db "$WORK/db.sqlite" serve --listen 127.0.0.1:8482 & SERVE=$!; PIDS+=($SERVE)
  URL=http://127.0.0.1:8482/oai/127.0.0.1-8481-oai
  wait_for "$URL?verb=Identify"
  row "oai-mirror serve" "$("$FETCH" "$URL")" "$(peak_kb $SERVE)"
  if [ "$N" -le "${BENCH_CONCURRENT_MAX:-100000}" ]; then
    row "oai-mirror serve x16" "$("$FETCH" "$URL" 16)" "$(peak_kb $SERVE)"
  fi
  kill $SERVE
  [ "$N" -le "${BENCH_PYOAI_MAX:-100000}" ] || continue
  bash tests/testbeds/pyoai-server.sh 8483 "$N" >/dev/null 2>&1 & PY=$!; PIDS+=($PY)
  wait_for "http://127.0.0.1:8483/oai?verb=Identify"
  PYPID=$(pgrep -P $PY python || echo $PY)
  row "oaipmh (PyPI) server" "$("$FETCH" http://127.0.0.1:8483/oai)" "$(peak_kb "$PYPID")"
  kill $PY 2>/dev/null || true
done
