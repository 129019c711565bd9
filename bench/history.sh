#!/usr/bin/env bash
# The history benchmark: a real MediaWiki (tests/testbeds/mediawiki.sh, port
# 18695) with one page of REVISIONS revisions (100,000 by default, about
# 600 bytes each, by three users; imported with importDump.php), mirrored
# first without history, then `oai-mirror mirror --history`: every revision
# read, 50 to a request. Prints its time, requests and peak RSS next to curl
# fetching the same history as one full-history Special:Export.
#
#   bash bench/history.sh [REVISIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
W=$PWD/target/bench-wikis
WORK=$(mktemp -d)
cleanup() { bash tests/testbeds/mediawiki.sh stop "$W/h"; rm -rf "$WORK"; }
trap cleanup EXIT
rm -rf "$W/h"
bash tests/testbeds/mediawiki.sh start "$W/h" 18695 >/dev/null
. "$W/h/credentials.env"
echo "$MW_BOT_PASSWORD" > "$WORK/secret"
cargo build -q --release --bin oai-mirror
python3 - "$N" > "$WORK/history.xml" <<'EOP'
import sys
n = int(sys.argv[1])
users = ["<username>Admin</username>", "<username>Otheruser</username>", "<ip>192.0.2.7</ip>"]
out = sys.stdout
out.write('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en"><page><title>Long history</title><ns>0</ns>')
for i in range(n):
    t = 1_600_000_000 + i * 60
    import time
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    text = f"Revision {i}.\n" + "Some [[wikitext]] with {{{{templates}}}} &amp; &lt;ref&gt;references&lt;/ref&gt;.\n" * 8
    out.write(f"<revision><timestamp>{stamp}</timestamp><contributor>{users[i % 3]}</contributor><comment>edit {i}</comment>"
              f"<model>wikitext</model><format>text/x-wiki</format><text xml:space=\"preserve\">{text}</text></revision>")
out.write("</page></mediawiki>")
EOP
echo "importing a page of $N revisions..."
bash tests/testbeds/mediawiki.sh php "$W/h" importDump.php "$WORK/history.xml" >/dev/null 2>&1
cat > "$WORK/config.toml" <<EOC
db = "$WORK/m.sqlite"
[wiki.h]
api = "http://127.0.0.1:18695/w/api.php"
user = "$MW_BOT_USER"
password_file = "$WORK/secret"
feed = "api"
EOC
target/release/oai-mirror --config "$WORK/config.toml" mirror h --json > "$WORK/current.json"
/usr/bin/time -f '%e %M' -o "$WORK/t" target/release/oai-mirror --config "$WORK/config.toml" mirror h --history --json > "$WORK/history.json"
/usr/bin/time -f '%e %M' -o "$WORK/c" curl -s -o "$WORK/export.xml" "http://127.0.0.1:18695/w/index.php?title=Special:Export&pages=Long_history&history=1"
python3 - "$WORK" "$N" <<'EOP'
import json, os, sys
work, n = sys.argv[1], int(sys.argv[2])
h = json.load(open(f"{work}/history.json"))
t, kb = open(f"{work}/t").read().split()
ct, ckb = open(f"{work}/c").read().split()
size = os.path.getsize(f"{work}/export.xml")
print(f"mirror --history: {h['history']['revisions']} revisions added of {n}, {h['requests']} requests, {float(t):.1f}s, peak RSS {int(kb) / 1024:.1f} MB")
print(f"curl (Special:Export, full history, one request): {size / 1e6:.1f} MB in {float(ct):.1f}s, peak RSS {int(ckb) / 1024:.1f} MB")
EOP
