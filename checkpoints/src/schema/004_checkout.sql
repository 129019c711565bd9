-- Version 4: checkouts, directories of page files edited offline.

-- A file of a checkout. Its id stands in for a page id on the checkout's
-- side of a pair (sync_pair.with_page), so a renamed file stays the same
-- page. `title` is kept because a hashed name cannot be decoded.
CREATE TABLE checkout_file (
    file_id     INTEGER PRIMARY KEY,
    sync        TEXT NOT NULL,
    name        TEXT NOT NULL,
    title       TEXT NOT NULL,
    fingerprint INTEGER NOT NULL,  -- of the content when last read or written
    present     INTEGER NOT NULL DEFAULT 1,  -- 0: gone from the directory, its pair not yet decided
    UNIQUE (sync, name)
);
