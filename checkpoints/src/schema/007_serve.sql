-- Version 7: serving what the store holds over OAI-PMH.
--
-- A served record's datestamp is when this store stored that version, not
-- the origin's: `stored_seq` orders versions as they were stored (a list
-- walks it), `stored_at` is the Unix second of that store, never smaller
-- than an earlier version's (so a downstream `from` never misses one).
-- Both move only when a record's content changes (datestamp, deleted,
-- sets or metadata), not when a harvest sees it again unchanged.
ALTER TABLE record ADD COLUMN stored_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE record ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;
-- The origin's provenance container, when the origin is itself a mirror.
ALTER TABLE record ADD COLUMN provenance BLOB;
UPDATE record SET stored_seq = id, stored_at = last_seen;
CREATE INDEX record_served ON record (source_id, stored_seq);

-- The last sequence number and store time given out, read and written
-- once per write transaction (which holds the write lock).
CREATE TABLE store_clock (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    last_seq   INTEGER NOT NULL,
    last_at    INTEGER NOT NULL
);
INSERT INTO store_clock (id, last_seq, last_at) SELECT 1, COALESCE(MAX(stored_seq), 0), COALESCE(MAX(stored_at), 0) FROM record;

-- What an origin declared about itself, for serving it again as it said.
CREATE TABLE origin_format (
    base_url  TEXT NOT NULL,
    prefix    TEXT NOT NULL,
    schema    TEXT NOT NULL,
    namespace TEXT NOT NULL,
    PRIMARY KEY (base_url, prefix)
);
CREATE TABLE origin_set (
    base_url TEXT NOT NULL,
    spec     TEXT NOT NULL,
    name     TEXT NOT NULL,
    PRIMARY KEY (base_url, spec)
);

-- Wiki pages are served too: each change of a page (an edit, a move, a
-- deletion, an undeletion) gives it the next store sequence and time.
ALTER TABLE wiki_page ADD COLUMN stored_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE wiki_page ADD COLUMN stored_at INTEGER NOT NULL DEFAULT 0;
UPDATE wiki_page SET stored_seq = (SELECT last_seq FROM store_clock) + rowid, stored_at = updated_at;
UPDATE store_clock SET last_seq = COALESCE((SELECT MAX(stored_seq) FROM wiki_page), last_seq),
                       last_at = MAX(last_at, COALESCE((SELECT MAX(stored_at) FROM wiki_page), 0));
CREATE INDEX wiki_page_served ON wiki_page (wiki, stored_seq);
