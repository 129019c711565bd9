-- Version 1: OAI-PMH harvesting.

-- What is harvested: one row per (base URL, metadataPrefix, set).
-- set_spec is '' for the whole repository, so the key stays unique.
CREATE TABLE source (
    id              INTEGER PRIMARY KEY,
    base_url        TEXT NOT NULL,
    metadata_prefix TEXT NOT NULL,
    set_spec        TEXT NOT NULL DEFAULT '',
    granularity     TEXT,             -- Identify's, as last seen
    -- The `from` of the next incremental run: the server's responseDate at
    -- the start of the last completed run. Never the local clock, never
    -- the largest record datestamp.
    next_from       TEXT,
    created_at      INTEGER NOT NULL,
    UNIQUE (base_url, metadata_prefix, set_spec)
);

-- One harvest run. A run that is 'running' when no process is running it
-- was interrupted; its position (window and token) is where it resumes.
CREATE TABLE run (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES source(id),
    state          TEXT NOT NULL CHECK (state IN ('running', 'completed', 'abandoned')),
    started_at     INTEGER NOT NULL,  -- local clock, for people only
    finished_at    INTEGER,
    server_started TEXT,              -- responseDate of the run's first response
    range_from     TEXT,              -- the whole run's range; NULL is open
    range_until    TEXT,
    window         TEXT,              -- day, week, month or NULL
    window_from    TEXT,              -- the window in flight
    window_until   TEXT,
    token          TEXT,              -- next resumptionToken; NULL: the window's first page
    pages          INTEGER NOT NULL DEFAULT 0,
    records        INTEGER NOT NULL DEFAULT 0,
    deleted        INTEGER NOT NULL DEFAULT 0,
    repairs        INTEGER NOT NULL DEFAULT 0,
    requests       INTEGER NOT NULL DEFAULT 0,
    restarts       INTEGER NOT NULL DEFAULT 0,  -- windows restarted after badResumptionToken
    last_error     TEXT
);
CREATE INDEX run_by_source ON run (source_id, id);

-- Harvested records, upserted by (source, identifier); the source fixes
-- the metadataPrefix. A delivery with an older datestamp never overwrites.
CREATE TABLE record (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER NOT NULL REFERENCES source(id),
    identifier     TEXT NOT NULL,
    datestamp      TEXT NOT NULL,     -- as the repository wrote it
    datestamp_unix INTEGER NOT NULL,  -- for comparing day and seconds forms
    deleted        INTEGER NOT NULL,
    sets           TEXT NOT NULL,     -- setSpecs, one per line
    metadata       BLOB,              -- raw bytes inside <metadata>; NULL if deleted
    first_seen     INTEGER NOT NULL,
    last_seen      INTEGER NOT NULL,
    UNIQUE (source_id, identifier)
);
