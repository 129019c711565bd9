#!/usr/bin/env bash
# What rendering costs a mirror: a real MediaWiki (tests/testbeds/mediawiki.sh,
# port 18698) holding PAGES pages (500 by default: a few paragraphs each
# with links, a template, a table and references, imported with
# importTextFiles.php), mirrored through the API into a new store with
# render = false, then into another with render = true; the reference,
# measured in the same run, is curl asking the wiki to render the same
# revisions (action=parse, one request a page, as the mirror asks them).
# Prints pages/s of each.
#
#   bash bench/render.sh [PAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-500}
W=$PWD/target/bench-wikis
WORK=$(mktemp -d)
cleanup() { bash tests/testbeds/mediawiki.sh stop "$W/render"; rm -rf "$WORK"; }
trap cleanup EXIT
rm -rf "$W/render"
bash tests/testbeds/mediawiki.sh start "$W/render" 18698 >/dev/null
cargo build -q --release --bin oai-mirror
mkdir "$WORK/pages"
printf '<includeonly>[[Category:Bench]]<small>(a template: {{{1|}}})</small></includeonly>\n' > "$WORK/pages/Template:Note"
for i in $(seq 1 "$PAGES"); do
  printf "'''Page %s''' of the render benchmark links to [[Page %s]] and [[Page %s]].\n\n== History ==\nSome prose about the subject, with a reference.<ref>A source, %s.</ref> {{Note|%s}}\n\n{| class=\"wikitable\"\n! Year !! Value\n|-\n| 2024 || %s\n|-\n| 2025 || %s\n|}\n\n== Notes ==\n<references />\n" \
    "$i" "$(( i % PAGES + 1 ))" "$(( (i * 7) % PAGES + 1 ))" "$i" "$i" "$i" "$(( i * 2 ))" > "$WORK/pages/Page $i"
done
echo "importing $PAGES pages..."
(cd "$WORK/pages" && MW_INSTALL_PATH="$W/render/w" MW_CONFIG_FILE="$W/render/w/LocalSettings.php" php "$W/render/w/maintenance/importTextFiles.php" --bot --summary import -- * >/dev/null)
config() { # RENDER
  printf 'db = "%s/%s.sqlite"\n[wiki.r]\napi = "http://127.0.0.1:18698/w/api.php"\nfeed = "api"\nnamespaces = [0]\nfiles = false\nrender = %s\n' "$WORK" "$1" "$1" > "$WORK/$1.toml"
}
config false; config true
/usr/bin/time -f '%e %M' -o "$WORK/off" target/release/oai-mirror --config "$WORK/false.toml" mirror r --json > "$WORK/off.json"
/usr/bin/time -f '%e %M' -o "$WORK/on" target/release/oai-mirror --config "$WORK/true.toml" mirror r --json > "$WORK/on.json"
target/release/oai-mirror --config "$WORK/false.toml" pages r --json | python3 -c '
import json, sys
for line in sys.stdin:
    rev = json.loads(line)["rev"]
    print(f"url = \"http://127.0.0.1:18698/w/api.php?action=parse&format=json&formatversion=2&oldid={rev}&prop=text%7Cdisplaytitle%7Ccategories&disableeditsection=1&disablelimitreport=1\"\noutput = \"/dev/null\"")
' > "$WORK/curl.cfg"
/usr/bin/time -f '%e %M' -o "$WORK/curl" curl -s -K "$WORK/curl.cfg"
python3 - "$WORK" "$PAGES" <<'EOP'
import json, sys
work, pages = sys.argv[1], int(sys.argv[2])
t = {n: float(open(f"{work}/{n}").read().split()[0]) for n in ("off", "on", "curl")}
on = json.load(open(f"{work}/on.json"))
print(f"mirror, render = false: {pages} pages in {t['off']:.2f} s ({pages / t['off']:.0f} pages/s)")
print(f"mirror, render = true:  {pages} pages in {t['on']:.2f} s ({pages / t['on']:.0f} pages/s), {on['render']['rendered']} rendered, {on['requests']} requests")
print(f"reference, curl asking the wiki to render the same revisions: {t['curl']:.2f} s; the rendering part of the mirror ({t['on'] - t['off']:.2f} s) / curl = {(t['on'] - t['off']) / t['curl']:.2f}")
EOP
