-- Version 16: full history.
--
-- How far each page's history is in the store: every revision of the page
-- up to (through_ts, through_rev), in the wiki's order (timestamp, then
-- id), is stored. A page is complete when through_rev is its current
-- revision; the history pass reads on from through_ts.
CREATE TABLE wiki_history (
    wiki        TEXT NOT NULL,
    page_id     INTEGER NOT NULL,
    through_ts  TEXT NOT NULL,
    through_rev INTEGER NOT NULL,
    PRIMARY KEY (wiki, page_id)
) WITHOUT ROWID;

-- A push that replays a revision: the source side's revision it carries
-- (NULL for any other push), and, once the target answered, the target's
-- revision it saved (so a run that died before reading it back checks that
-- revision, not the page's current text, which later replays changed).
ALTER TABLE outbox ADD COLUMN source_rev INTEGER;
ALTER TABLE outbox ADD COLUMN landed_rev INTEGER;
