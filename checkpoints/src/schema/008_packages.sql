-- Version 8: MediaWiki XML packages, exported and imported.
--
-- An incremental package holds what changed between two store sequences.
-- Revisions remember the sequence that stored them, and every change of a
-- page (edit, move, deletion, undeletion) leaves its state after the
-- change in `wiki_page_log`, so a page's title and deletion at any earlier
-- sequence can be read back (what a move or a deletion was).
ALTER TABLE wiki_revision ADD COLUMN stored_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX wiki_revision_stored ON wiki_revision (wiki, page_id, stored_seq);

CREATE TABLE wiki_page_log (
    wiki    TEXT NOT NULL,
    page_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL,     -- the store sequence of the change
    ns      INTEGER NOT NULL,
    title   TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    PRIMARY KEY (wiki, page_id, seq)
);
-- What the pages were when this version came: their state at their last change.
INSERT INTO wiki_page_log (wiki, page_id, seq, ns, title, deleted)
    SELECT wiki, page_id, stored_seq, ns, title, deleted FROM wiki_page;

-- The packages this store exported, per wiki: the stream they belong to
-- (made at random on the first export), the last sequence number given
-- and the store sequence that package reached (where the next one starts).
CREATE TABLE package_export (
    wiki          TEXT PRIMARY KEY,
    stream        TEXT NOT NULL,
    last_sequence INTEGER NOT NULL,
    last_end_seq  INTEGER NOT NULL
);

-- The packages this store imported, per local wiki: whose stream, the last
-- package applied and the exporter's store sequence it reached; and, for a
-- sync by packages, which of this store's own packages that one said the
-- other site had applied (its acknowledgement; 0: none yet).
CREATE TABLE package_import (
    wiki           TEXT PRIMARY KEY,
    stream         TEXT NOT NULL,
    origin         TEXT NOT NULL,     -- the exporter's name of the wiki
    sequence       INTEGER NOT NULL,
    end_seq        INTEGER NOT NULL,
    acked_sequence INTEGER NOT NULL DEFAULT 0,
    acked_end      INTEGER NOT NULL DEFAULT 0,
    applied_at     INTEGER NOT NULL
);
