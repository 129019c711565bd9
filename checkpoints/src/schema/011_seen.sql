-- Version 11: which run last saw each record, so that a complete full
-- harvest can mark deleted what the repository no longer lists (the only
-- way to learn of deletions from a repository that does not report them).
ALTER TABLE record ADD COLUMN seen_run INTEGER;
