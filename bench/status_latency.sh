#!/usr/bin/env bash
# How long the daemon's control endpoint takes to answer while jobs work:
# `oai-mirror run` harvests N generated records (default 100000, served by
# the test bed in its own process) and mirrors a fake OAI wiki of 3000 pages
# under two names at the same time, while GET /status is asked every 20 ms
# until the harvest has finished. Prints the answer times (median, 99th
# percentile, max), and curl's time for /status of the idle daemon, the
# reference measured in the same run.
#
#   bash bench/status_latency.sh [N]
#   OAI_MIRROR_BIN=/path/to/oai-mirror bash bench/status_latency.sh
#       (another build of the daemon, e.g. an older commit; the test beds
#       always come from this tree)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
PORT_OAI=${BENCH_PORT:-8491}; PORT_WIKI=$((PORT_OAI + 1)); PORT_DAEMON=$((PORT_OAI + 2))
WORK=$(mktemp -d)
cleanup() { kill "${DAEMON:-}" "${REPO:-}" "${WIKI:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
cargo build -q --release --bin oai-mirror --example serve --example fake_wiki
BIN=${OAI_MIRROR_BIN:-target/release/oai-mirror}

target/release/examples/serve "$N" "$PORT_OAI" 2>/dev/null & REPO=$!
target/release/examples/fake_wiki 3000 "$PORT_WIKI" 50 2>/dev/null & WIKI=$!
WIKI_URL="http://127.0.0.1:$PORT_WIKI/wiki/Special:OAIRepository"
for _ in $(seq 300); do
  curl -fs "http://127.0.0.1:$PORT_OAI/oai?verb=Identify" >/dev/null && curl -fs "$WIKI_URL?verb=Identify" >/dev/null && break
  sleep 0.1
done
echo "bench-token-$RANDOM$RANDOM-0123456789" > "$WORK/token"
TOKEN=$(cat "$WORK/token")
cat > "$WORK/config.toml" <<EOC
db = "$WORK/db.sqlite"
[daemon]
listen = "127.0.0.1:$PORT_DAEMON"
token_file = "$WORK/token"
[source.big]
url = "http://127.0.0.1:$PORT_OAI/oai"
[wiki.one]
api = "http://127.0.0.1:9/w/api.php"
oai = "$WIKI_URL"
[wiki.two]
api = "http://127.0.0.1:9/w/api.php"
oai = "$WIKI_URL"
EOC
RUST_LOG=warn "$BIN" --config "$WORK/config.toml" run & DAEMON=$!
STATUS="http://127.0.0.1:$PORT_DAEMON/status"
for _ in $(seq 100); do curl -fs -H "Authorization: Bearer $TOKEN" "$STATUS" >/dev/null && break; sleep 0.1; done
IDLE=$(for _ in $(seq 20); do curl -fs -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$STATUS"; done | sort -n | sed -n 10p)

python3 - "$STATUS" "$TOKEN" "$N" "$IDLE" "http://127.0.0.1:$PORT_DAEMON" <<'EOP'
import json, sys, time, urllib.request
status, token, n, idle, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
def call(url, method="GET"):
    req = urllib.request.Request(url, method=method, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return r.read()
for job in ("source.big", "wiki.one", "wiki.two"):
    call(f"{base}/trigger/{job}", "POST")
start = time.monotonic()
times = []
while True:
    t0 = time.monotonic()
    jobs = {j["job"]: j for j in json.loads(call(status))}
    times.append(time.monotonic() - t0)
    big = jobs["source.big"]
    if big["runs"] >= 1 and not big["running"]:
        break
    time.sleep(0.02)
took = time.monotonic() - start
times.sort()
q = lambda p: times[min(len(times) - 1, int(p * len(times)))] * 1000
print(f"harvest of {n} records (and two mirrors of 3000 pages) took {took:.1f}s, last outcome {big['last_outcome']}")
print(f"/status while working: {len(times)} answers, median {q(0.5):.1f} ms, p99 {q(0.99):.1f} ms, max {times[-1] * 1000:.1f} ms")
print(f"/status idle (curl, median of 20): {idle * 1000:.1f} ms")
EOP
