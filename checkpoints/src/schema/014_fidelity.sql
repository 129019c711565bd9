-- Version 14: what MediaWiki's own export keeps of a revision and a wiki.

-- The minor-edit flag, and the contributor's user id (0 for an IP, NULL
-- where the source did not say).
ALTER TABLE wiki_revision ADD COLUMN minor INTEGER NOT NULL DEFAULT 0;
ALTER TABLE wiki_revision ADD COLUMN user_id INTEGER;

-- What a wiki says of itself (`<siteinfo>`): read from its API or from an
-- imported package, written into packages and served records.
CREATE TABLE wiki_site (
    wiki       TEXT PRIMARY KEY,
    sitename   TEXT NOT NULL,
    dbname     TEXT NOT NULL,
    base       TEXT NOT NULL,       -- the main page's URL
    generator  TEXT NOT NULL,
    case_rule  TEXT NOT NULL,       -- first-letter or case-sensitive
    namespaces TEXT NOT NULL,       -- one per line: id, case, name, tab-separated
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
