#!/usr/bin/env bash
# The sync benchmark: two real MediaWikis (tests/testbeds/mediawiki.sh, ports
# 18691 and 18692) holding the same UNCHANGED pages (10,000 by default,
# imported with MediaWiki's importTextFiles.php), then CHANGED of them (100)
# edited on wiki A through the API, and one `oai-mirror sync`. Prints the
# time, the requests per changed page and the pages the sync looked at.
#
#   bash bench/sync.sh [UNCHANGED] [CHANGED]
set -euo pipefail
cd "$(dirname "$0")/.."
UNCHANGED=${1:-10000}; CHANGED=${2:-100}; TOTAL=$((UNCHANGED + CHANGED))
W=$PWD/target/bench-wikis
WORK=$(mktemp -d)
cleanup() { bash tests/testbeds/mediawiki.sh stop "$W/sa"; bash tests/testbeds/mediawiki.sh stop "$W/sb"; rm -rf "$WORK"; }
trap cleanup EXIT
# Fresh wikis each time: the page counts must be exact.
rm -rf "$W/sa" "$W/sb"
bash tests/testbeds/mediawiki.sh start "$W/sa" 18691 >/dev/null
bash tests/testbeds/mediawiki.sh start "$W/sb" 18692 >/dev/null
. "$W/sa/credentials.env"
echo "$MW_BOT_PASSWORD" > "$WORK/secret"
cargo build -q --release --bin oai-mirror --example edit_pages
mkdir "$WORK/pages"
for i in $(seq 1 "$TOTAL"); do printf 'Page %s of the sync benchmark.\n\n== Section ==\nSome [[wikitext]] with {{templates}} & <ref>references</ref>.\n' "$i" > "$WORK/pages/Bench page $i"; done
echo "importing $TOTAL pages into each wiki..."
for w in sa sb; do
  (cd "$WORK/pages" && MW_INSTALL_PATH="$W/$w/w" MW_CONFIG_FILE="$W/$w/w/LocalSettings.php" php "$W/$w/w/maintenance/importTextFiles.php" --bot --summary import -- * >/dev/null)
done
cat > "$WORK/config.toml" <<EOC
db = "$WORK/sync.sqlite"
[wiki.a]
api = "http://127.0.0.1:18691/w/api.php"
user = "$MW_BOT_USER"
password_file = "$WORK/secret"
feed = "api"
[wiki.b]
api = "http://127.0.0.1:18692/w/api.php"
user = "$MW_BOT_USER"
password_file = "$WORK/secret"
feed = "api"
[sync.ab]
wiki = "a"
with = "b"
EOC
echo "first sync (pairs $TOTAL pages by title; their texts agree)..."
/usr/bin/time -f '%e' -o "$WORK/t0" target/release/oai-mirror --config "$WORK/config.toml" sync ab --json > "$WORK/first.json"
echo "editing $CHANGED pages on wiki A..."
target/release/examples/edit_pages http://127.0.0.1:18691/w/api.php "$MW_BOT_USER" "$WORK/secret" "Bench page " 1 "$CHANGED"
/usr/bin/time -f '%e %M' -o "$WORK/t1" target/release/oai-mirror --config "$WORK/config.toml" sync ab --json > "$WORK/second.json"
python3 - "$WORK" "$UNCHANGED" "$CHANGED" <<'EOP'
import json, sys
work, unchanged, changed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
first, second = json.load(open(f"{work}/first.json")), json.load(open(f"{work}/second.json"))
t0 = float(open(f"{work}/t0").read().split()[0]); t1, kb = open(f"{work}/t1").read().split()
t1 = float(t1)
print(f"first sync:  {unchanged + changed} pages paired, {first['pushes']} pushes, {first['requests']} requests, {t0:.1f}s")
print(f"second sync: {changed} changed among {unchanged + changed}: {t1:.2f}s, {second['requests']} requests "
      f"({second['requests'] / changed:.2f} per changed page), {second['pushes']} pushes, "
      f"{second['pages_examined']} pages examined, so {max(0, second['pages_examined'] - changed)} unchanged pages cost a request; peak RSS {int(kb) / 1024:.1f} MB")
EOP
