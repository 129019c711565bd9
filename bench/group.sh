#!/usr/bin/env bash
# The group benchmark: three real MediaWikis (tests/testbeds/mediawiki.sh,
# ports 18691 to 18693) holding the same UNCHANGED pages in Category:Bench
# (10,000 by default, imported with MediaWiki's importTextFiles.php), one
# `oai-mirror sync` of the group to pair them, then CHANGED of them (100)
# edited on a spoke, wiki B, and one more sync: its time and requests per
# changed page (two targets, A and C). Then the edit hook: a daemon with no
# schedule, the hook on B, and the time from an edit on B to the same text
# on A and C.
#
#   bash bench/group.sh [UNCHANGED] [CHANGED]
set -euo pipefail
cd "$(dirname "$0")/.."
UNCHANGED=${1:-10000}; CHANGED=${2:-100}; TOTAL=$((UNCHANGED + CHANGED))
W=$PWD/target/bench-wikis
WORK=$(mktemp -d)
cleanup() {
  kill "${DAEMON:-}" 2>/dev/null || true
  for w in ga gb gc; do bash tests/testbeds/mediawiki.sh stop "$W/$w"; done
  rm -rf "$WORK"
}
trap cleanup EXIT
# Fresh wikis each time: the page counts must be exact.
rm -rf "$W/ga" "$W/gb" "$W/gc"
PORTS=(18691 18692 18693)
i=0
for w in ga gb gc; do bash tests/testbeds/mediawiki.sh start "$W/$w" "${PORTS[$i]}" >/dev/null; i=$((i + 1)); done
. "$W/ga/credentials.env"
echo "$MW_BOT_PASSWORD" > "$WORK/secret"
echo "bench-token-$RANDOM$RANDOM-0123456789" > "$WORK/token"
cargo build -q --release --bin oai-mirror --example edit_pages --example group_latency
mkdir "$WORK/pages"
for i in $(seq 1 "$TOTAL"); do printf 'Page %s of the group benchmark.\n\n== Section ==\nSome [[wikitext]] with {{templates}} & <ref>references</ref>.\n\n[[Category:Bench]]\n' "$i" > "$WORK/pages/Bench page $i"; done
echo "importing $TOTAL pages into wiki A, then copying its database to B and C..."
(cd "$WORK/pages" && bash "$OLDPWD/tests/testbeds/mediawiki.sh" php "$W/ga" importTextFiles.php --bot --summary import -- * >/dev/null)
bash tests/testbeds/mediawiki.sh php "$W/ga" runJobs.php >/dev/null
# Three wikis with the same pages: B and C get copies of A's database
# (the test bed's accounts and secrets are the same in every wiki).
bash tests/testbeds/mediawiki.sh stop "$W/ga" >/dev/null
for w in gb gc; do
  bash tests/testbeds/mediawiki.sh stop "$W/$w" >/dev/null
  rm -f "$W/$w"/data/*.sqlite*
  cp "$W/ga/data/"*.sqlite* "$W/$w/data/"
done
i=0
for w in ga gb gc; do bash tests/testbeds/mediawiki.sh start "$W/$w" "${PORTS[$i]}" >/dev/null; i=$((i + 1)); done
table() { printf '[wiki.%s]\napi = "http://127.0.0.1:%s/w/api.php"\nuser = "%s"\npassword_file = "%s"\nfeed = "api"\n' "$1" "$2" "$MW_BOT_USER" "$WORK/secret"; }
{
  printf 'db = "%s"\n[daemon]\nlisten = "127.0.0.1:18699"\ntoken_file = "%s"\n' "$WORK/group.sqlite" "$WORK/token"
  table a 18691; table b 18692; table c 18693
  printf '[group.g]\nwikis = ["a", "b", "c"]\ncategories = ["Category:Bench"]\n'
} > "$WORK/config.toml"
BIN=target/release/oai-mirror
echo "first sync (pairs $TOTAL pages by title in each of two pairs; their texts agree)..."
/usr/bin/time -f '%e' -o "$WORK/t0" $BIN --config "$WORK/config.toml" sync g --json > "$WORK/first.json"
echo "editing $CHANGED pages on wiki B..."
target/release/examples/edit_pages http://127.0.0.1:18692/w/api.php "$MW_BOT_USER" "$WORK/secret" "Bench page " 1 "$CHANGED"
/usr/bin/time -f '%e %M' -o "$WORK/t1" $BIN --config "$WORK/config.toml" sync g --json > "$WORK/second.json"
python3 - "$WORK" "$UNCHANGED" "$CHANGED" <<'EOP'
import json, sys
work, unchanged, changed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first, second = json.load(open(f"{work}/first.json")), json.load(open(f"{work}/second.json"))
t0 = float(open(f"{work}/t0").read().split()[0]); t1, kb = open(f"{work}/t1").read().split()
print(f"first sync:  {unchanged + changed} pages in the category, {first['pushes']} pushes, {first['requests']} requests, {t0:.1f}s")
print(f"second sync: {changed} changed on B among {unchanged + changed}: {float(t1):.2f}s, {second['requests']} requests "
      f"({second['requests'] / changed:.2f} per changed page, two targets: target 2.5), {second['pushes']} pushes, "
      f"{second['pages_examined']} pages examined; peak RSS {int(kb) / 1024:.1f} MB")
EOP
# The hook: B tells the daemon of every save, and nothing else does.
printf "<?php\n\$wgOaiMirrorTriggers = [ 'http://127.0.0.1:18699/trigger/group.g' ];\n\$wgOaiMirrorTokenFile = '%s';\n" "$WORK/token" > "$W/gb/trigger.php"
RUST_LOG=warn $BIN --config "$WORK/config.toml" run & DAEMON=$!
for _ in $(seq 100); do curl -fs -H "Authorization: Bearer $(cat "$WORK/token")" http://127.0.0.1:18699/status >/dev/null && break; sleep 0.1; done
target/release/examples/group_latency http://127.0.0.1:18692/w/api.php http://127.0.0.1:18691/w/api.php,http://127.0.0.1:18693/w/api.php \
  "$MW_BOT_USER" "$WORK/secret" "Latency probe" "[[Category:Bench]]" 6
