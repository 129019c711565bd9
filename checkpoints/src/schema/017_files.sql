-- Version 17: files.
--
-- Each version of a file a mirrored wiki holds, by the page id of its File:
-- page (so a moved file keeps its versions) and its upload time. The bytes
-- live outside the database, content-addressed by SHA-1 in the files
-- directory beside it: one copy per content, however many versions share it.
--   state: 'pending'     to download (attempts and the last error say how it went)
--          'stored'      downloaded, its size and SHA-1 checked: the bytes are in the files directory
--          'quarantined' every attempt brought other bytes than the wiki states (kept aside, never stored as good)
--          'foreign'     kept by a shared repository (Commons…): recorded by name, copied only when asked
--          'hidden'      the wiki hides this version's file (revision-deleted)
--          'too_large'   over [files] max_file_mb
CREATE TABLE wiki_file (
    wiki       TEXT NOT NULL,
    page_id    INTEGER NOT NULL,
    timestamp  TEXT NOT NULL,
    sha1       TEXT NOT NULL,
    size       INTEGER NOT NULL,
    mime       TEXT NOT NULL,
    user       TEXT NOT NULL,
    comment    TEXT NOT NULL,
    url        TEXT NOT NULL,
    state      TEXT NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    bad        INTEGER NOT NULL DEFAULT 0,
    error      TEXT,
    stored_at  INTEGER,
    PRIMARY KEY (wiki, page_id, timestamp, sha1)
) WITHOUT ROWID;
CREATE INDEX wiki_file_pending ON wiki_file (wiki, state, page_id) WHERE state = 'pending';
CREATE INDEX wiki_file_sha1 ON wiki_file (sha1);

-- The revision of each File: page at which its file versions were last
-- read: a page whose current revision differs (an upload, a re-upload, a
-- revert, a move all make one) is read again.
CREATE TABLE wiki_file_point (
    wiki    TEXT NOT NULL,
    page_id INTEGER NOT NULL,
    rev_id  INTEGER NOT NULL,
    PRIMARY KEY (wiki, page_id)
) WITHOUT ROWID;
