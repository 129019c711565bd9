-- Version 15: each revision's text size in bytes, so that a reader can
-- tell a large text before reading it (and then read it a part at a time).
-- NULL on rows from before this version: read whole.
ALTER TABLE wiki_revision ADD COLUMN bytes INTEGER;
