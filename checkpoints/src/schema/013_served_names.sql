-- Version 13: what serving promises its harvesters.

-- A served repository's path segment (`/oai/NAME`), given once per origin
-- base URL and kept: a later config never moves a path under the
-- harvesters that use it. Renamed only on request.
CREATE TABLE served_name (
    base_url TEXT PRIMARY KEY,
    name     TEXT NOT NULL UNIQUE
) WITHOUT ROWID;

-- A forgotten source keeps its records' identities as deletions, without
-- metadata, so serving hands the forgetting on (deletedRecord=persistent).
-- Harvesting the source again brings it back.
ALTER TABLE source ADD COLUMN forgotten_at INTEGER;
