#!/usr/bin/env bash
# Importing a dump: a generated MediaWiki XML dump of PAGES pages (1,000,000
# by default; one revision of about 600 bytes each, SHA-1s as MediaWiki
# writes them), compressed as Wikimedia's multistream dumps are (bzip2,
# a stream per 100 pages), imported with `oai-mirror import FILE --as w`
# into a new store. Prints pages/s and peak RSS, beside `bzcat FILE >
# /dev/null` in the same run (the time only to decompress it).
#
#   bash bench/dump.sh [PAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-1000000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
command -v bzcat >/dev/null || { apt-get update -qq && apt-get install -y -qq bzip2; }
cargo build -q --release --bin oai-mirror
echo "generating $PAGES pages..."
python3 - "$WORK/dump.xml.bz2" "$PAGES" <<'EOP'
import bz2, hashlib, sys
path, pages = sys.argv[1], int(sys.argv[2])
def base36(hexdigest):
    n, out = int(hexdigest, 16), ""
    while n:
        n, r = divmod(n, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + out
    return out.rjust(31, "0")
words = ["water", "river", "stone", "light", "garden", "winter", "market", "letter", "island", "forest", "[[link]]", "'''bold'''", "{{note}}"]
with open(path, "wb") as f:
    f.write(bz2.compress(b'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">\n<siteinfo><sitename>Gen</sitename><dbname>genwiki</dbname><case>first-letter</case><namespaces><namespace key="0" case="first-letter" /></namespaces></siteinfo>\n'))
    chunk = []
    for p in range(1, pages + 1):
        text = " ".join(words[(p * 7 + i * 3) % len(words)] for i in range(90)) + f" (page {p})"
        sha1 = base36(hashlib.sha1(text.encode()).hexdigest())
        chunk.append(f'<page><title>Generated page {p}</title><ns>0</ns><id>{p}</id><revision><id>{p}</id><timestamp>2026-01-01T00:00:00Z</timestamp>'
                     f'<contributor><username>Editor{p % 97}</username><id>{1 + p % 97}</id></contributor><text bytes="{len(text)}" xml:space="preserve">{text}</text>'
                     f'<sha1>{sha1}</sha1></revision></page>\n')
        if len(chunk) == 100:
            f.write(bz2.compress("".join(chunk).encode()))
            chunk = []
    f.write(bz2.compress(("".join(chunk) + "</mediawiki>\n").encode()))
EOP
ls -l "$WORK/dump.xml.bz2" | awk '{printf "dump: %.1f MB compressed\n", $5 / 1e6}'
/usr/bin/time -f '%e %M' -o "$WORK/bz" sh -c 'bzcat "$1" > /dev/null' sh "$WORK/dump.xml.bz2"
/usr/bin/time -f '%e %M' -o "$WORK/im" target/release/oai-mirror --db "$WORK/m.sqlite" import "$WORK/dump.xml.bz2" --as w --json > "$WORK/import.json"
python3 - "$WORK" "$PAGES" <<'EOP'
import json, os, sys
work, pages = sys.argv[1], int(sys.argv[2])
bz, bzkb = map(float, open(f"{work}/bz").read().split())
im, imkb = map(float, open(f"{work}/im").read().split())
done = json.load(open(f"{work}/import.json"))
assert done["pages"] == pages and done["bad_sha1"] == 0, done
size = os.path.getsize(f"{work}/m.sqlite") / 1e6
print(f"oai-mirror import: {pages:,} pages in {im:.1f} s ({pages / im:,.0f} pages/s), peak RSS {imkb / 1024:.1f} MB, store {size:.0f} MB ({size * 1e6 / pages:.0f} bytes a page)")
print(f"reference, bzcat FILE > /dev/null: {bz:.1f} s, peak RSS {bzkb / 1024:.1f} MB; import / bzcat = {im / bz:.2f}")
EOP
