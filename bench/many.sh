#!/usr/bin/env bash
# The aggregator benchmark: N repositories (default 200) served at once by
# examples/serve_many, each a host of its own (127.0.X.Y, one port), with
# 1,000 to 20,000 records and 50 to 300 ms per request, drawn from SEED.
# Measured in the same run: the slowest repository harvested alone, then
# all of them at once (`harvest --jobs N`, one request in flight per host).
#
#   bash bench/many.sh [N [SEED]]
#
# Targets: all at once within 1.2x the slowest alone; peak RSS <= 100 MB;
# the test bed's own count: never two requests at once to one repository.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-200}; SEED=${2:-19}
PORT=${BENCH_PORT:-8474}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc; }
cargo build -q --release --bin oai-mirror --example serve_many
BIN=target/release/oai-mirror

target/release/examples/serve_many "$N" "$SEED" "$PORT" "$WORK/sources.toml" 2>"$WORK/server.log" & SERVER=$!
for _ in $(seq 300); do curl -fs "http://127.0.0.1:$PORT/stats" >"$WORK/stats" 2>/dev/null && break; sleep 0.2; done
cat "$WORK/server.log"
{ printf '[harvest]\njobs = %s\nmax_requests = 1\n' "$N"; cat "$WORK/sources.toml"; } >"$WORK/config.toml"
read -r _ slowest records latency < <(grep '^slowest' "$WORK/stats")
sequential=$(awk '/^sequential_ms/ {print $2 / 1000}' "$WORK/stats")

measure() { # command... -> "seconds peak_kb cpu_seconds"
  /usr/bin/time -f '%e %M %U %S' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { tail -5 "$WORK/err" >&2; return 1; }
  awk '{ printf "%s %s %.1f\n", $1, $2, $3 + $4 }' "$WORK/time"
}
server_cpu() { # the test bed's CPU seconds so far
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.1f\n", ($14 + $15) / hz }' "/proc/$SERVER/stat"
}
read -r alone alone_kb _ < <(measure "$BIN" -q --config "$WORK/config.toml" --db "$WORK/alone.sqlite" harvest "$slowest")
server_before=$(server_cpu)
read -r all all_kb all_cpu < <(measure "$BIN" -q --config "$WORK/config.toml" --db "$WORK/all.sqlite" harvest --jobs "$N")
server_used=$(echo "$(server_cpu) - $server_before" | bc -l)
harvested=$(grep -c ' records' "$WORK/out" || true)
most=$(curl -fs "http://127.0.0.1:$PORT/stats" | awk '/^most_in_flight/ {print $2}')
printf '%-44s %9s %9s\n' what seconds peak_MB
printf '%-44s %9.1f %9.1f\n' "slowest alone ($slowest: $records records, $latency ms)" "$alone" "$(echo "$alone_kb / 1024" | bc -l)"
printf '%-44s %9.1f %9.1f\n' "all $N at once ($harvested summaries)" "$all" "$(echo "$all_kb / 1024" | bc -l)"
printf '%-44s %9.1f\n' "one after the other (their waits alone)" "$sequential"
printf 'all at once / slowest alone: %.2f (target <= 1.2); most requests at once to one repository: %s (target 1)\n' "$(echo "$all / $alone" | bc -l)" "$most"
# On a small machine the CPU, not the repositories' waits, may set the pace:
# then parsed pages queue for the writer up to their bound, and memory with them.
printf 'CPU during all at once: oai-mirror %.1f s, test bed %.1f s, in %.1f s on %s cores\n' "$all_cpu" "$server_used" "$all" "$(nproc)"
