#!/usr/bin/env bash
# The harvest benchmark: N generated oai_dc records (100 per page) served by
# the test bed (a separate process), harvested into SQLite by oai-mirror,
# and the same pages fetched by curl, oaipmh-scythe and Sickle in the same run.
#
#   bash bench/run.sh [N ...]        default: 10000 100000
#   BENCH_PYTHON=0 bash bench/run.sh 1000000   (skip the Python clients)
#   BENCH_REPEAT=5 bash bench/run.sh            (curl and oai-mirror runs per size; default 3)
#
# Prints one line per client: seconds, records/s, peak RSS, pages, CPU
# seconds (user+sys) and CPU per record, and the
# ratios the targets are about. curl and oai-mirror run BENCH_REPEAT times,
# one after the other, and the median time is shown (the peak RSS is the
# largest seen): on a shared machine single runs vary by a fifth.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=("$@"); [ ${#SIZES[@]} -gt 0 ] || SIZES=(10000 100000)
PORT=${BENCH_PORT:-8471}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
VENV=${BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/oai-mirror/bench-venv}
if [ "${BENCH_PYTHON:-1}" = 1 ] && ! "$VENV/bin/python" -c 'import oaipmh_scythe, sickle' 2>/dev/null; then
  python3 -m venv "$VENV" && "$VENV/bin/pip" install -q 'oaipmh-scythe==0.16.0' 'sickle==0.7.0'
fi
cargo build -q --release --bin oai-mirror --example serve
BIN=target/release/oai-mirror

REPEAT=${BENCH_REPEAT:-3}
measure() { # command... -> "seconds peak_kb cpu_seconds" (user+sys; stdout of the command in $WORK/out)
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$WORK/time"
}
median() { # lines of "seconds peak_kb cpu" on stdin -> "median_seconds largest_peak_kb cpu_of_that_run"
  sort -n | awk '{ s[NR] = $1; c[NR] = $3; if ($2 > m) m = $2 } END { i = int((NR + 1) / 2); print s[i], m, c[i] }'
}
row() { # client records seconds peak_kb pages cpu
  printf '%-14s %9s %8.2f %11.0f %9.1f %7s %7.2f %12.2f\n' "$1" "$2" "$3" "$(echo "$2 / $3" | bc -l)" "$(echo "$4 / 1024" | bc -l)" "$5" "$6" "$(echo "$6 * 1000000 / $2" | bc -l)"
}

printf '%-14s %9s %8s %11s %9s %7s %7s %12s\n' client records seconds records/s peak_MB pages cpu_s cpu_us/record
for N in "${SIZES[@]}"; do
  target/release/examples/serve "$N" "$PORT" "$WORK/urls" 2>/dev/null & SERVER=$!
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/oai?verb=Identify" >/dev/null && break; sleep 0.1; done
  URL=http://127.0.0.1:$PORT/oai
  PAGES=$(wc -l < "$WORK/urls")
  sed 's/.*/url = "&"\noutput = "\/dev\/null"/' "$WORK/urls" > "$WORK/curl.cfg"

  : > "$WORK/curl.runs"; : > "$WORK/us.runs"
  for _ in $(seq "$REPEAT"); do
    measure curl -s --config "$WORK/curl.cfg" >> "$WORK/curl.runs"
    rm -rf "$WORK/db.sqlite"*
    measure "$BIN" --db "$WORK/db.sqlite" harvest "$URL" >> "$WORK/us.runs"
  done
  read -r t_curl m_curl c_curl < <(median < "$WORK/curl.runs")
  read -r t_us m_us c_us < <(median < "$WORK/us.runs")
  row curl "$N" "$t_curl" "$m_curl" "$PAGES" "$c_curl"
  got=$(grep -o ': [0-9]* records' "$WORK/out" | grep -o '[0-9]*')
  pages=$(grep -o ', [0-9]* pages' "$WORK/out" | grep -o '[0-9]*')
  row oai-mirror "$got" "$t_us" "$m_us" "$pages" "$c_us"
  [ "$got" = "$N" ] || { echo "oai-mirror harvested $got of $N" >&2; exit 1; }
  echo "  seconds per run: curl $(cut -d' ' -f1 "$WORK/curl.runs" | paste -sd' '); oai-mirror $(cut -d' ' -f1 "$WORK/us.runs" | paste -sd' ')"
  # Where oai-mirror's time goes, stage by stage (summed over threads; the
  # stages overlap): one more run, with --json.
  rm -rf "$WORK/db.sqlite"*
  "$BIN" -q --db "$WORK/db.sqlite" harvest "$URL" --json > "$WORK/run.json"
  python3 - "$WORK/run.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
t = s["time"]
print("  stages (s, one run of %.2f s): waiting for pages %.2f, parsing %.2f, packing %.2f, writer waiting for packing %.2f, storing %.2f"
      % (s["seconds"], t["waiting"], t["parsing"], t["packing"], t["writer_waiting"], t["storing"]))
PY
  "$BIN" --db "$WORK/db.sqlite" status --json > "$WORK/status.json"
  received=$(grep -o '"metadata_bytes_received": [0-9]*' "$WORK/status.json" | grep -o '[0-9]*$')
  stored=$(grep -o '"metadata_bytes_stored": [0-9]*' "$WORK/status.json" | grep -o '[0-9]*$')
  db_size=$(find "$WORK" -maxdepth 1 -type f -name "db.sqlite*" -exec cat {} + | wc -c)
  printf '  database: %.1f MB on disk; metadata %.1f MB received, %.1f MB stored\n' \
    "$(echo "$db_size / 1000000" | bc -l)" "$(echo "$received / 1000000" | bc -l)" "$(echo "$stored / 1000000" | bc -l)"

  ratios="oai-mirror time / curl time = $(printf '%.2f' "$(echo "$t_us / $t_curl" | bc -l)")"
  if [ "${BENCH_PYTHON:-1}" = 1 ]; then
    for client in scythe sickle; do
      read -r t m c < <(measure "$VENV/bin/python" "bench/harvest_$client.py" "$URL")
      n=$(grep -o 'records=[0-9]*' "$WORK/out" | cut -d= -f2)
      row "$client" "$n" "$t" "$m" "$PAGES" "$c"
      ratios="$ratios; oai-mirror records/s / $client = $(printf '%.1f' "$(echo "$t / $t_us" | bc -l)")x"
      ratios="$ratios; CPU per record, $client / oai-mirror = $(printf '%.1f' "$(echo "($c / $n) / ($c_us / $got)" | bc -l)")x"
      if [ "$client" = scythe ]; then t_scythe=$t; fi
    done
    # The two speed targets as times, next to curl's own: 15x scythe asks
    # for a harvest about as fast as curl merely fetching the pages.
    printf '  targets: 15x scythe = %.2f s, 1.3x curl = %.2f s; curl alone %.2f s (scythe / curl = %.1fx)\n' \
      "$(echo "$t_scythe / 15" | bc -l)" "$(echo "$t_curl * 1.3" | bc -l)" "$t_curl" "$(echo "$t_scythe / $t_curl" | bc -l)"
  fi
  echo "  N=$N: $ratios"
  kill $SERVER; wait $SERVER 2>/dev/null || true
done
