#!/usr/bin/env bash
# Chain latency: an origin (the PyPI `oaipmh` server) → mirror 1 → mirror 2 → mirror 3,
# each an `oai-mirror run` without a schedule, each telling the next one
# (`[serve] notify`). A change at the origin and one trigger of mirror 1:
# the time until mirror 3 serves the changed record. ROUNDS changes (5).
#
#   bash bench/chain.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
WORK=$(mktemp -d)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
bash tests/testbeds/pyoai-server.sh --setup
cargo build -q --release --bin oai-mirror
BIN=$PWD/target/release/oai-mirror
export OAI_MIRROR_TOKEN=bench-chain-token
wait_for() { for _ in $(seq 300); do curl -fs -H "Authorization: Bearer $OAI_MIRROR_TOKEN" "$1" >/dev/null && return 0; sleep 0.05; done; echo "no answer from $1" >&2; return 1; }
# mirror N: control port 876N, serve port 877N; it harvests `up` from the one above.
link() { # N UPSTREAM_URL [NOTIFY_URL]
  local dir=$WORK/m$1
  mkdir -p "$dir"
  {
    echo "db = \"$dir/m.sqlite\""
    echo "[daemon]"; echo "token_env = \"OAI_MIRROR_TOKEN\""
    echo "[serve]"; echo "listen = \"127.0.0.1:877$1\""
    if [ -n "${3:-}" ]; then echo "[[serve.notify]]"; echo "url = \"$3\""; echo "token_env = \"OAI_MIRROR_TOKEN\""; fi
    echo "[source.up]"; echo "url = \"$2\""
  } > "$dir/c.toml"
  "$BIN" -q --config "$dir/c.toml" run --listen "127.0.0.1:876$1" 2>"$dir/log" & PIDS+=($!)
  wait_for "http://127.0.0.1:876$1/status"
}
# The origin changes between rounds: each names one more record in its
# changes file, which gives that record a new version dated now.
runs() { curl -fs -H "Authorization: Bearer $OAI_MIRROR_TOKEN" "http://127.0.0.1:876$1/status" | grep -o '"runs":[0-9]*' | head -1 | cut -d: -f2; }
bash tests/testbeds/pyoai-server.sh 8779 1000 --changes "$WORK/changes" >/dev/null 2>&1 & PIDS+=($!)
link 3 http://127.0.0.1:8772/oai/up
link 2 http://127.0.0.1:8771/oai/up http://127.0.0.1:8763/trigger/source.up
link 1 http://127.0.0.1:8779/oai http://127.0.0.1:8762/trigger/source.up
wait_for "http://127.0.0.1:8779/oai?verb=Identify"
printf 'round  at mirror 3  seconds (trigger of mirror 1 → mirror 3 has run)\n'
for round in $(seq 0 "$ROUNDS"); do
  if [ "$round" -gt 0 ]; then
    sleep 2.2   # datestamps are seconds: the change lands in a later one than the last harvest
    echo "$((round * 7))" >> "$WORK/changes"
  fi
  before=$(runs 3)
  start=$(date +%s.%N)
  curl -fs -X POST -H "Authorization: Bearer $OAI_MIRROR_TOKEN" http://127.0.0.1:8761/trigger/source.up >/dev/null
  until [ "$(runs 3)" -gt "$before" ]; do sleep 0.01; done
  end=$(date +%s.%N)
  got=$(curl -fs "http://127.0.0.1:8773/oai/up?verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:pyoai.example:$(printf %07d $((round * 7)))" | grep -o 'version [0-9]' || echo "-")
  printf '%5s %10s %8.2f\n' "$round" "$got" "$(echo "$end - $start" | bc -l)"
done
