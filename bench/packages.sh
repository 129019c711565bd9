#!/usr/bin/env bash
# The packages benchmark: a mirrored wiki of PAGES pages × REVISIONS
# revisions (about 2 KB of wikitext each, written straight into a store by
# examples/wiki_store), exported as a full package with history; then 100
# pages edited and an incremental package. The reference, in the same run:
# MediaWiki's own importDump.php importing the same full package into a
# fresh MediaWiki 1.39 (tests/testbeds/mediawiki.sh; installs it as root).
#
#   bash bench/packages.sh [PAGES REVISIONS]     default: 10000 10
#
# Prints seconds, pages/s, revisions/s and peak RSS of each export, the
# package's size against its XML uncompressed, and importDump.php's time.
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-10000}; REVS=${2:-10}
PORT=${BENCH_PORT:-8473}
WORK=$(mktemp -d)
trap 'bash tests/testbeds/mediawiki.sh stop "$WORK/wiki" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq bc; }
cargo build -q --release --bin oai-mirror --example wiki_store
BIN=target/release/oai-mirror
DB="$WORK/store.sqlite"

measure() { # command... -> "seconds peak_kb"; its stdout in $WORK/out
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || { cat "$WORK/err" >&2; return 1; }
  cat "$WORK/time"
}
field() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$WORK/out"; }

echo "filling a store: $PAGES pages x $REVS revisions"
target/release/examples/wiki_store "$DB" bench "$PAGES" "$REVS"
printf '%-22s %8s %9s %11s %8s %10s %10s %7s\n' what pages seconds pages/s peak_MB package_MB xml_MB ratio
export_row() { # name file args...
  local name=$1 out=$2; shift 2
  read -r t m < <(measure "$BIN" --db "$DB" export bench --out "$out" --history --json "$@")
  local pages bytes xml
  pages=$(field pages); bytes=$(field bytes); xml=$(field xml_bytes)
  printf '%-22s %8s %9.2f %11.0f %8.1f %10.2f %10.2f %7.3f\n' "$name" "$pages" "$t" "$(echo "$pages / ($t + 0.005)" | bc -l)" \
    "$(echo "$m / 1024" | bc -l)" "$(echo "$bytes / 1000000" | bc -l)" "$(echo "$xml / 1000000" | bc -l)" "$(echo "$bytes / $xml" | bc -l)"
  EXPORT_SECONDS=$t
}
export_row "export --full" "$WORK/full.tar" --full
FULL_SECONDS=$EXPORT_SECONDS
target/release/examples/wiki_store "$DB" bench --edit 1 100
export_row "export (100 changed)" "$WORK/incremental.tar"

echo "reference: importDump.php imports the full package into a fresh MediaWiki"
bash tests/testbeds/mediawiki.sh start "$WORK/wiki" "$PORT" >/dev/null 2>&1
mkdir -p "$WORK/x" && tar -xf "$WORK/full.tar" -C "$WORK/x"
read -r t m < <(measure bash tests/testbeds/mediawiki.sh php "$WORK/wiki" importDump.php --no-updates "$WORK/x/pages.xml.gz")
printf '%-22s %8s %9.2f %11.0f %8.1f\n' "importDump.php" "$PAGES" "$t" "$(echo "$PAGES / ($t + 0.005)" | bc -l)" "$(echo "$m / 1024" | bc -l)"
printf 'export is %.1fx faster than importDump.php imports the same package\n' "$(echo "$t / ($FULL_SECONDS + 0.005)" | bc -l)"
