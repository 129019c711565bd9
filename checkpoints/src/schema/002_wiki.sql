-- Version 2: mirrored wiki pages, keyed by page id.

-- A page as the mirror holds it. Deleted pages are marked, never erased,
-- so an undeletion brings them back under the same id. A page moved aside
-- (its title taken by an incoming page before its own update arrived) has
-- a placeholder title and displaced = 1.
CREATE TABLE wiki_page (
    wiki       TEXT NOT NULL,
    page_id    INTEGER NOT NULL,
    ns         INTEGER NOT NULL,
    title      TEXT NOT NULL,
    redirect   TEXT,              -- the target, for a redirect page
    deleted    INTEGER NOT NULL DEFAULT 0,
    displaced  INTEGER NOT NULL DEFAULT 0,
    rev_id     INTEGER,           -- the current revision
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (wiki, page_id)
);
-- Two live pages never share a title.
CREATE UNIQUE INDEX wiki_page_title ON wiki_page (wiki, ns, title) WHERE deleted = 0;

CREATE TABLE wiki_revision (
    wiki      TEXT NOT NULL,
    rev_id    INTEGER NOT NULL,
    page_id   INTEGER NOT NULL,
    parent_id INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    user      TEXT NOT NULL,
    comment   TEXT NOT NULL,
    sha1      TEXT NOT NULL,      -- hex SHA-1 of text
    text      TEXT NOT NULL,
    PRIMARY KEY (wiki, rev_id)
);
CREATE INDEX wiki_revision_by_page ON wiki_revision (wiki, page_id, rev_id);

-- The titles a page id has had, in order: what moves did.
CREATE TABLE wiki_title (
    wiki    TEXT NOT NULL,
    page_id INTEGER NOT NULL,
    seq     INTEGER NOT NULL,     -- 1, 2, … per page
    ns      INTEGER NOT NULL,
    title   TEXT NOT NULL,
    since   TEXT NOT NULL,        -- the timestamp of the revision that showed it
    PRIMARY KEY (wiki, page_id, seq)
);

-- Where each feed of a wiki goes on from. Written in the same transaction
-- as the pages of the batch it follows.
CREATE TABLE wiki_feed (
    wiki       TEXT NOT NULL,
    feed       TEXT NOT NULL,     -- 'oai' or 'api'
    next_from  TEXT,              -- the server's clock at the start of the last completed pull
    token      TEXT,              -- an interrupted pull's next resumptionToken
    run_start  TEXT,              -- that pull's server clock at its start
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (wiki, feed)
);
