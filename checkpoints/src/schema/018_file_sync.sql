-- Version 18: files in two-way sync.
--
-- The file both sides of a pair last agreed on (its SHA-1), beside the
-- pair's text base; NULL while they have agreed on none.
ALTER TABLE sync_pair ADD COLUMN base_file TEXT;

-- Uploads to carry out. A row leaves only once the target's current file
-- has been read back with the row's SHA-1. A row marked sent whose outcome
-- is unknown (the run died) is checked on the target before it is sent again.
CREATE TABLE file_outbox (
    push_id   INTEGER PRIMARY KEY,
    sync      TEXT NOT NULL,
    pair_id   INTEGER NOT NULL,
    target    TEXT NOT NULL CHECK (target IN ('wiki', 'with')),
    title     TEXT NOT NULL,    -- the File: page it goes to on the target
    sha1      TEXT NOT NULL,
    size      INTEGER NOT NULL,
    comment   TEXT NOT NULL,
    text      TEXT NOT NULL,    -- the description page, for a file new on the target
    conflict  INTEGER NOT NULL DEFAULT 0,  -- the other side's version kept under a conflict name: moves no base
    sent      INTEGER NOT NULL DEFAULT 0,
    attempts  INTEGER NOT NULL DEFAULT 0,
    next_try  INTEGER NOT NULL DEFAULT 0,
    error     TEXT,
    UNIQUE (sync, pair_id, target, title, sha1)
);
