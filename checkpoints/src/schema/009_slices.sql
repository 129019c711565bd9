-- Version 9: a run harvested in slices of its range at once (`--parallel N`).

-- NULL: one window at a time; else the most slices harvested at once.
ALTER TABLE run ADD COLUMN parallel INTEGER;

-- The slices of a parallel run's range, each with its own position. A
-- slice not begun (token NULL, done 0) may still be split in two; once a
-- page of it is stored it is only followed to its end. The run is
-- complete when every slice is done.
CREATE TABLE run_slice (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL REFERENCES run(id),
    slice_from  TEXT,                 -- NULL: open
    slice_until TEXT,                 -- NULL: open
    token       TEXT,                 -- next resumptionToken; NULL: the slice's first page
    done        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX run_slice_by_run ON run_slice (run_id, id);
