-- Version 10: what the daemon's console shows.

-- The daemon's runs of each job, the last 100 of each (older ones are
-- removed as new ones are recorded).
CREATE TABLE job_run (
    run_id      INTEGER PRIMARY KEY,
    job         TEXT NOT NULL,      -- the job's id, `TABLE.NAME`
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')),
    items       INTEGER NOT NULL,
    requests    INTEGER,            -- NULL: the run does not count them
    error       TEXT
);
CREATE INDEX job_run_by_job ON job_run (job, run_id);

-- A conflict's base: the text both sides had agreed on before they clashed
-- (NULL for conflicts recorded before version 10).
ALTER TABLE sync_conflict ADD COLUMN base_text TEXT;
