-- Version 3: two-way sync.

-- A page pair of a [sync.NAME]: the page id on each side and the base, the
-- last text both sides agreed on with each side's revision then.
CREATE TABLE sync_pair (
    pair_id    INTEGER PRIMARY KEY,
    sync       TEXT NOT NULL,
    wiki_page  INTEGER,           -- page id on `wiki`
    with_page  INTEGER,           -- page id on `with`
    title      TEXT NOT NULL,     -- the title both sides agreed on
    base_text  TEXT NOT NULL,
    wiki_rev   INTEGER NOT NULL,
    with_rev   INTEGER NOT NULL,
    held       INTEGER NOT NULL DEFAULT 0,  -- saved with conflict markers: held back until they are gone
    updated_at INTEGER NOT NULL,
    UNIQUE (sync, wiki_page),
    UNIQUE (sync, with_page)
);

-- The push queue. A job leaves it only when the target's revision has been
-- read back and holds the text. A job marked sent whose outcome is unknown
-- is checked on the target before it is sent again.
CREATE TABLE outbox (
    job_id     INTEGER PRIMARY KEY,
    sync       TEXT NOT NULL,
    pair_id    INTEGER NOT NULL,
    target     TEXT NOT NULL CHECK (target IN ('wiki', 'with')),
    title      TEXT NOT NULL,
    page_id    INTEGER,           -- NULL: the page is to be created
    base_rev   INTEGER NOT NULL,
    text       TEXT NOT NULL,
    md5        TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('pending', 'sent')),
    attempts   INTEGER NOT NULL DEFAULT 0,
    next_try   INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX outbox_by_sync ON outbox (sync, job_id);

-- Conflicts: both texts, kept whole, and who made them.
CREATE TABLE sync_conflict (
    conflict_id   INTEGER PRIMARY KEY,
    sync          TEXT NOT NULL,
    pair_id       INTEGER NOT NULL,
    title         TEXT NOT NULL,
    policy        TEXT NOT NULL,
    wiki_rev      INTEGER NOT NULL,
    with_rev      INTEGER NOT NULL,
    wiki_user     TEXT NOT NULL,
    with_user     TEXT NOT NULL,
    wiki_text     TEXT NOT NULL,
    with_text     TEXT NOT NULL,
    resolved_text TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    resolved_at   INTEGER
);
