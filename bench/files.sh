#!/usr/bin/env bash
# The files benchmark: a real MediaWiki (tests/testbeds/mediawiki.sh, port
# 18696) holding SMALL small files (1,000 PNGs of about 10 kB by default)
# and LARGE large ones (10 PDFs of 20 MB), put there by importImages.php.
# The wiki's pages are mirrored first without files; then the files pass
# (`oai-mirror mirror` with files on: imageinfo, download, SHA-1 check,
# fsync) is timed next to curl fetching the same URLs into files in the same
# run, one at a time and two at a time (as the mirror, [files]
# max_downloads = 2); ROUNDS rounds (3), interleaved. Prints the median
# files/s, MB/s and the peak RSS of each.
#
#   bash bench/files.sh [SMALL] [LARGE] [LARGE_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
SMALL=${1:-1000}
LARGE=${2:-10}
LARGE_MB=${3:-20}
ROUNDS=${ROUNDS:-3}
W=$PWD/target/bench-wikis
WORK=$(mktemp -d)
cleanup() { bash tests/testbeds/mediawiki.sh stop "$W/f"; rm -rf "$WORK"; }
trap cleanup EXIT
rm -rf "$W/f"
bash tests/testbeds/mediawiki.sh start "$W/f" 18696 >/dev/null
. "$W/f/credentials.env"
echo "$MW_BOT_PASSWORD" > "$WORK/secret"
cargo build -q --release --bin oai-mirror
mkdir -p "$WORK/upload"
python3 - "$WORK/upload" "$SMALL" "$LARGE" "$LARGE_MB" <<'EOP'
import os, sys
out, small, large, mb = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
# A 1x1 PNG; random bytes after its end make each file unique.
png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000a49444154789c63000100000500010d0a2db40000000049454e44ae426082")
for i in range(small):
    with open(f"{out}/Small-{i:05d}.png", "wb") as f:
        f.write(png + os.urandom(10_000))
for i in range(large):
    with open(f"{out}/Large-{i:02d}.pdf", "wb") as f:
        f.write(b"%PDF-1.4\n%" + os.urandom(mb * 1_000_000) + b"\n%%EOF\n")
EOP
echo "importing $SMALL small and $LARGE large files..."
# Dated in the past: the mirror's change feed, which reads the last two
# minutes again, does not read the uploads' log entries each time.
bash tests/testbeds/mediawiki.sh php "$W/f" importImages.php --extensions=png,pdf --comment=bench --timestamp=20250101000000 "$WORK/upload" >/dev/null 2>&1
write_config() {
  cat > "$2" <<EOC
db = "$3"
[wiki.f]
api = "http://127.0.0.1:18696/w/api.php"
user = "$MW_BOT_USER"
password_file = "$WORK/secret"
feed = "api"
namespaces = [6]
files = $1
EOC
}
write_config false "$WORK/pages.toml" "$WORK/pages.sqlite"
target/release/oai-mirror --config "$WORK/pages.toml" mirror f --json > "$WORK/pages.json"
# Each round: the files pass on a copy of the store holding the pages,
# then curl on the same URLs, each into a directory of its own (nothing
# is deleted between them: on an ext4 without a journal, files made soon
# after others were deleted cost measurably more to create).
for round in $(seq "$ROUNDS"); do
  r=$WORK/round-$round
  mkdir -p "$r/curl1" "$r/curl2" "$r/curl3"
  python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))' "$WORK/pages.sqlite" "$r/m.sqlite"
  write_config true "$r/config.toml" "$r/m.sqlite"
  sync
  /usr/bin/time -f '%e %M' -o "$r/t" target/release/oai-mirror --config "$r/config.toml" mirror f --json > "$r/files.json"
  target/release/oai-mirror --config "$r/config.toml" files f --json > "$r/list.jsonl"
  python3 - "$r" <<'EOP'
import json, sys
r = sys.argv[1]
for n in (1, 2, 3):
    with open(f"{r}/curl{n}.cfg", "w") as cfg:
        for i, line in enumerate(open(f"{r}/list.jsonl")):
            cfg.write(f'url = "{json.loads(line)["url"]}"\noutput = "{r}/curl{n}/{i}"\n')
EOP
  sync
  /usr/bin/time -f '%e %M' -o "$r/c1" curl -s -K "$r/curl1.cfg"
  /usr/bin/time -f '%e %M' -o "$r/c2" curl -s -Z --parallel-max 2 -K "$r/curl2.cfg"
  # The same, flushed to the disk as the mirror flushes what it keeps.
  sync
  /usr/bin/time -f '%e %M' -o "$r/c3" sh -c 'curl -s -Z --parallel-max 2 -K "$1" && sync -f "$2"' sh "$r/curl3.cfg" "$r/curl3"
done
python3 - "$WORK" "$ROUNDS" <<'EOP'
import json, os, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
dirs = [f"{work}/round-{i}" for i in range(1, rounds + 1)]
def timed(name):
    runs = [tuple(map(float, open(f"{d}/{name}").read().split())) for d in dirs]
    return statistics.median(t for t, _ in runs), max(kb for _, kb in runs) / 1024, [t for t, _ in runs]
f = json.load(open(f"{dirs[0]}/files.json"))["files"]
n, mb = f["downloaded"], f["bytes"] / 1e6
t, rss, ts = timed("t")
print(f"median of {rounds} rounds, each: the files pass, then curl on the same URLs")
print(f"oai-mirror files pass: {n} files, {mb:.1f} MB in {t:.2f}s {ts}: {n / t:.0f} files/s, {mb / t:.1f} MB/s, peak RSS {rss:.1f} MB (imageinfo, download, SHA-1 check, fsync)")
size = sum(os.path.getsize(os.path.join(f"{dirs[0]}/curl1", x)) for x in os.listdir(f"{dirs[0]}/curl1")) / 1e6
for name, label in (("c1", "curl, one at a time"), ("c2", "curl -Z --parallel-max 2"), ("c3", "curl -Z --parallel-max 2, then sync -f")):
    ct, crss, cts = timed(name)
    print(f"{label}: {n} files, {size:.1f} MB in {ct:.2f}s {cts}: {n / ct:.0f} files/s, {size / ct:.1f} MB/s, peak RSS {crss:.1f} MB; oai-mirror / curl = {t / ct:.2f}")
EOP
