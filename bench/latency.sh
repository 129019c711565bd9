#!/usr/bin/env bash
# Sync latency through the daemon, between two real MediaWikis (started by
# tests/testbeds/mediawiki.sh on ports 18691 and 18692): the time from an
# edit on wiki A to the same text on wiki B, when the edit is followed by a
# trigger and when it is left to a 1-minute schedule.
#
#   bash bench/latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
W=$PWD/target/bench-wikis
WORK=$(mktemp -d)
cleanup() { kill "${DAEMON:-}" 2>/dev/null || true; bash tests/testbeds/mediawiki.sh stop "$W/a"; bash tests/testbeds/mediawiki.sh stop "$W/b"; rm -rf "$WORK"; }
trap cleanup EXIT
bash tests/testbeds/mediawiki.sh start "$W/a" 18691 >/dev/null
bash tests/testbeds/mediawiki.sh start "$W/b" 18692 >/dev/null
. "$W/a/credentials.env"
echo "$MW_BOT_PASSWORD" > "$WORK/secret"
echo "bench-token-$RANDOM$RANDOM-0123456789" > "$WORK/token"
cargo build -q --release --bin oai-mirror --example latency
TITLE="Latency probe $(date +%s)"
cat > "$WORK/config.toml" <<EOC
db = "$WORK/sync.sqlite"
[daemon]
listen = "127.0.0.1:18699"
token_file = "$WORK/token"
[wiki.a]
api = "http://127.0.0.1:18691/w/api.php"
user = "$MW_BOT_USER"
password_file = "$WORK/secret"
feed = "api"
prefixes = ["Latency probe"]
[wiki.b]
api = "http://127.0.0.1:18692/w/api.php"
user = "$MW_BOT_USER"
password_file = "$WORK/secret"
feed = "api"
prefixes = ["Latency probe"]
[sync.ab]
wiki = "a"
with = "b"
schedule = "* * * * *"
EOC
RUST_LOG=warn target/release/oai-mirror --config "$WORK/config.toml" run & DAEMON=$!
for _ in $(seq 100); do curl -fs -H "Authorization: Bearer $(cat "$WORK/token")" http://127.0.0.1:18699/status >/dev/null && break; sleep 0.1; done
target/release/examples/latency http://127.0.0.1:18691/w/api.php http://127.0.0.1:18692/w/api.php "$MW_BOT_USER" "$WORK/secret" http://127.0.0.1:18699 "$(cat "$WORK/token")" "$TITLE"
