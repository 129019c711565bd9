#!/usr/bin/env bash
# The `cat` benchmark: N generated oai_dc records (100 per page) served by the
# test bed, harvested into SQLite, then streamed out by `oai-mirror cat` in
# each format. The reference, measured in the same run: curl fetching the
# same records from the server (what it costs to merely receive them).
#
#   bash bench/cat.sh [N ...]        default: 10000 100000
#
# Prints per format: seconds, records/s, bytes written and peak RSS (flat
# memory: the same at every N), and `| head -1` (a closed pipe ends it at once).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
PORT=${BENCH_PORT:-8472}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
cargo build -q --release --bin oai-mirror --example serve
BIN=target/release/oai-mirror

measure() { # command... -> "seconds peak_kb"; its stdout in $WORK/out
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  cat "$WORK/time"
}
row() { # name records seconds peak_kb bytes
  printf '%-16s %9s %8.2f %11.0f %9.1f %10.1f\n' "$1" "$2" "$3" "$(echo "$2 / ($3 + 0.005)" | bc -l)" "$(echo "$4 / 1024" | bc -l)" "$(echo "$5 / 1000000" | bc -l)"
}

printf '%-16s %9s %8s %11s %9s %10s\n' what records seconds records/s peak_MB out_MB
for N in "${SIZES[@]}"; do
  target/release/examples/serve "$N" "$PORT" "$WORK/urls" 2>/dev/null & SERVER=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/oai?verb=Identify" >/dev/null && break; sleep 0.1; done
  sed 's/.*/url = "&"/' "$WORK/urls" > "$WORK/curl.cfg"
  read -r t m < <(measure curl -s --config "$WORK/curl.cfg")
  row "curl (fetch)" "$N" "$t" "$m" "$(wc -c < "$WORK/out")"
  rm -rf "$WORK/db.sqlite"*
  "$BIN" -q --db "$WORK/db.sqlite" harvest "http://127.0.0.1:$PORT/oai" >/dev/null
  for format in xml jsonl payload; do
    read -r t m < <(measure "$BIN" --db "$WORK/db.sqlite" cat --format "$format")
    row "cat $format" "$N" "$t" "$m" "$(wc -c < "$WORK/out")"
  done
  start=$(date +%s.%N)
  "$BIN" --db "$WORK/db.sqlite" cat --format jsonl | head -1 >/dev/null
  printf '%-16s %9s %8.2f\n' "cat | head -1" 1 "$(echo "$(date +%s.%N) - $start" | bc -l)"
  kill $SERVER; wait $SERVER 2>/dev/null || true
done
