#!/usr/bin/env bash
# The reader's search: a store of PAGES mirrored pages (100,000 by default,
# about 2 KB of wikitext each, filled by examples/wiki_store.rs through the
# store's own writing path, so the full-text index is written as a mirror
# writes it), then 1,000 searches of one or two words taken from random
# pages, each asked of a running `oai-mirror read` over HTTP (one
# connection, kept alive). Prints the answer times (median, 99th
# percentile, max), the index's share of the store, and, measured in the
# same run, the references: the same FTS5 queries in Python's sqlite3
# alone, and the reader's static stylesheet over the same connection.
#
#   bash bench/search.sh [PAGES]
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-100000}
PORT=${BENCH_PORT:-18697}
WORK=$(mktemp -d)
cleanup() { kill "${READER:-}" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
cargo build -q --release --bin oai-mirror --example wiki_store
start=$(date +%s.%N)
target/release/examples/wiki_store "$WORK/m.sqlite" w "$PAGES" 1
filled=$(echo "$(date +%s.%N) - $start" | bc)
target/release/oai-mirror --db "$WORK/m.sqlite" read --listen "127.0.0.1:$PORT" 2>/dev/null & READER=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/read/" >/dev/null && break; sleep 0.1; done
python3 - "$WORK/m.sqlite" "$PORT" "$PAGES" "$filled" <<'EOP'
import http.client, random, re, sqlite3, statistics, sys, time, urllib.parse
db, port, pages, filled = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
con = sqlite3.connect(db)
random.seed(7)
queries = []
for pageid in random.sample(range(1, pages + 1), 1000):
    text = con.execute("SELECT r.text FROM wiki_revision r JOIN wiki_page p ON p.wiki = r.wiki AND p.rev_id = r.rev_id WHERE p.page_id = ?", (pageid,)).fetchone()[0]
    words = [w for w in re.findall(r"[a-z]{3,}", text)]
    queries.append(" ".join(random.sample(words, random.choice((1, 2)))))

def pct(xs):
    xs = sorted(xs)
    return statistics.median(xs) * 1000, xs[int(len(xs) * 0.99) - 1] * 1000, xs[-1] * 1000

c = http.client.HTTPConnection("127.0.0.1", port)
def get(path):
    t = time.perf_counter()
    c.request("GET", path)
    r = c.getresponse()
    body = r.read()
    assert r.status == 200, (path, r.status)
    return time.perf_counter() - t, body
get("/read/static/reader.css")
reader, found = [], 0
for q in queries:
    t, body = get("/read/search?q=" + urllib.parse.quote(q))
    reader.append(t)
    found += b'class="title"' in body
css = [get("/read/static/reader.css")[0] for _ in range(1000)]
suggest = [get("/read/suggest?q=" + urllib.parse.quote(q[:4]))[0] for q in queries]

# The same queries in SQLite alone (Python's sqlite3, when it has FTS5).
alone = None
try:
    for q in queries:
        fts = " ".join('"%s"' % w for w in q.split())
        t = time.perf_counter()
        con.execute("SELECT s.wiki, p.page_id, p.title, snippet(wiki_search, 1, '[', ']', '…', 24) FROM wiki_search s JOIN wiki_page p ON p.rowid = s.rowid "
                    "WHERE wiki_search MATCH ? ORDER BY bm25(wiki_search, 10.0, 1.0) LIMIT 21", (fts,)).fetchall()
        alone = (alone or []) + [time.perf_counter() - t]
except sqlite3.OperationalError as e:
    alone = None
    print(f"(Python's sqlite3 has no FTS5 here: {e})")

size = sum(r[0] for r in con.execute("SELECT pgsize FROM dbstat"))
index = sum(r[0] for r in con.execute("SELECT pgsize FROM dbstat WHERE name LIKE 'wiki_search%'"))
print(f"store: {pages:,} pages, filled in {filled:.1f} s ({pages / filled:,.0f} pages/s, index written with them); {size / 1e6:.1f} MB, "
      f"of which the search index {index / 1e6:.1f} MB ({100 * index / size:.0f}%)")
print(f"searches over HTTP (1,000, one or two words, {found} with results): median {pct(reader)[0]:.2f} ms, p99 {pct(reader)[1]:.2f} ms, max {pct(reader)[2]:.2f} ms")
print(f"title suggestions over HTTP (1,000): median {pct(suggest)[0]:.2f} ms, p99 {pct(suggest)[1]:.2f} ms, max {pct(suggest)[2]:.2f} ms")
if alone:
    print(f"reference, the same queries in Python's sqlite3 alone: median {pct(alone)[0]:.2f} ms, p99 {pct(alone)[1]:.2f} ms, max {pct(alone)[2]:.2f} ms")
print(f"reference, the static stylesheet over the same connection: median {pct(css)[0]:.2f} ms, p99 {pct(css)[1]:.2f} ms")
EOP
