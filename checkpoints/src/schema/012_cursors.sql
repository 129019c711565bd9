-- Version 12: named positions in the store's order for `cat --since-last`,
-- so that a hand-off takes only what was stored since the last one.
CREATE TABLE cat_cursor (
    name       TEXT PRIMARY KEY,
    stored_seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
