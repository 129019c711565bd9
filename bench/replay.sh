#!/usr/bin/env bash
# The replay benchmark: two real MediaWikis (tests/testbeds/mediawiki.sh, ports
# 18693 and 18694) holding the same UNCHANGED + CHANGED pages (1,000 + 100 by
# default, imported with MediaWiki's importTextFiles.php); then, three times,
# REVISIONS edits (5) of each of the CHANGED pages on wiki A through the API
# and one `oai-mirror sync`: replayed through the API's import (wiki B's
# account has the import grant), replayed as attributed edits (it has not),
# and, for reference, squashed into one edit per page (history = "squash").
# Prints the requests per replayed revision of each, with the read-back and
# both wikis' change feeds counted, and what a sync with nothing changed costs.
#
#   bash bench/replay.sh [UNCHANGED] [CHANGED] [REVISIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
UNCHANGED=${1:-1000}; CHANGED=${2:-100}; REVISIONS=${3:-5}; TOTAL=$((UNCHANGED + CHANGED))
W=$PWD/target/bench-wikis
WORK=$(mktemp -d)
cleanup() { bash tests/testbeds/mediawiki.sh stop "$W/ra"; bash tests/testbeds/mediawiki.sh stop "$W/rb"; rm -rf "$WORK"; }
trap cleanup EXIT
# Fresh wikis each time: the page counts must be exact.
rm -rf "$W/ra" "$W/rb"
bash tests/testbeds/mediawiki.sh start "$W/ra" 18693 >/dev/null
bash tests/testbeds/mediawiki.sh start "$W/rb" 18694 >/dev/null
. "$W/rb/credentials.env"
echo "$MW_BOT_PASSWORD" > "$WORK/bot"
echo "$MW_IMPORT_PASSWORD" > "$WORK/importer"
cargo build -q --release --bin oai-mirror --example edit_pages
mkdir "$WORK/pages"
for i in $(seq 1 "$TOTAL"); do printf 'Page %s of the replay benchmark.\n\n== Section ==\nSome [[wikitext]] with {{templates}} & <ref>references</ref>.\n' "$i" > "$WORK/pages/Bench page $i"; done
echo "importing $TOTAL pages into each wiki..."
for w in ra rb; do
  (cd "$WORK/pages" && MW_INSTALL_PATH="$W/$w/w" MW_CONFIG_FILE="$W/$w/w/LocalSettings.php" php "$W/$w/w/maintenance/importTextFiles.php" --bot --summary import -- * >/dev/null)
done
# One database; three configs that differ only in B's account and the history mode.
config() { # NAME B_USER B_SECRET HISTORY
  cat > "$WORK/$1.toml" <<EOC
db = "$WORK/sync.sqlite"
[wiki.a]
api = "http://127.0.0.1:18693/w/api.php"
user = "$MW_BOT_USER"
password_file = "$WORK/bot"
feed = "api"
[wiki.b]
api = "http://127.0.0.1:18694/w/api.php"
user = "$2"
password_file = "$WORK/$3"
feed = "api"
[sync.ab]
wiki = "a"
with = "b"
history = "$4"
EOC
}
config import "$MW_IMPORT_USER" importer replay
config edits "$MW_BOT_USER" bot replay
config squash "$MW_BOT_USER" bot squash
sync() { target/release/oai-mirror --config "$WORK/$1.toml" sync ab --json > "$WORK/$2.json"; }
echo "first sync (pairs $TOTAL pages by title, reads every page's history)..."
sync import first
sync import idle
for mode in import edits squash; do
  echo "editing $CHANGED pages $REVISIONS times on wiki A, then a sync ($mode)..."
  for r in $(seq 1 "$REVISIONS"); do
    target/release/examples/edit_pages http://127.0.0.1:18693/w/api.php "$MW_BOT_USER" "$WORK/bot" "Bench page " 1 "$CHANGED"
  done
  /usr/bin/time -f '%e' -o "$WORK/$mode.time" target/release/oai-mirror --config "$WORK/$mode.toml" sync ab --json > "$WORK/$mode.json"
done
python3 - "$WORK" "$TOTAL" "$CHANGED" "$REVISIONS" <<'EOP'
import json, sys
work, total, changed, revisions = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
idle = json.load(open(f"{work}/idle.json"))
print(f"nothing changed: {total} pages, {idle['requests']} requests, {idle['pages_examined']} pages examined, {idle['pushes']} pushes")
print(f"{'mode':<8} {'revisions':>9} {'replayed':>8} {'pushes':>6} {'requests':>8} {'per revision':>12} {'seconds':>7}")
for mode in ["import", "edits", "squash"]:
    r = json.load(open(f"{work}/{mode}.json"))
    t = float(open(f"{work}/{mode}.time").read().split()[0])
    n = changed * revisions
    print(f"{mode:<8} {n:>9} {r['replayed']:>8} {r['pushes']:>6} {r['requests']:>8} {r['requests'] / n:>12.2f} {t:>7.2f}")
EOP
