#!/usr/bin/env bash
# The mirror benchmark: a fake wiki with the OAI extension (its own process,
# 50 records per response as the extension's default) serving N pages, and
# one `oai-mirror mirror` of it into SQLite. Prints pages/s, requests and
# peak RSS, then the same for an idle second pull.
#
#   bash bench/mirror.sh [N]      default 10000
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}; PORT=${BENCH_PORT:-8481}
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
cargo build -q --release --bin oai-mirror --example fake_wiki
target/release/examples/fake_wiki "$N" "$PORT" 50 2>/dev/null & SERVER=$!
URL="http://127.0.0.1:$PORT/wiki/Special:OAIRepository"
for _ in $(seq 300); do curl -fs "$URL?verb=Identify" >/dev/null && break; sleep 0.1; done
cat > "$WORK/config.toml" <<EOC
db = "$WORK/mirror.sqlite"
[wiki.bench]
api = "http://127.0.0.1:9/w/api.php"
oai = "$URL"
EOC
for pull in first idle; do
  /usr/bin/time -f '%e %M' -o "$WORK/time" target/release/oai-mirror --config "$WORK/config.toml" mirror bench --json >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; exit 1; }
  read -r secs kb < "$WORK/time"
  python3 - "$pull" "$secs" "$kb" "$WORK/out" <<'EOP'
import json, sys
pull, secs, kb, out = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = json.load(open(out))
rate = s["pages_seen"] / secs if secs else 0
print(f"{pull:5} pull: {s['pages_seen']} pages in {secs:.2f}s ({rate:.0f} pages/s), {s['requests']} requests, peak RSS {kb/1024:.1f} MB, created {s['created']}, wrote {s['wrote']}")
EOP
done
