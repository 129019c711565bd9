-- Version 19: the files a mirrored wiki's pages use (`used_files = true`).
--
-- Each page's uses as read at a revision: the File: titles it shows
-- (`prop=images`). A used file is mirrored even when its File: page is
-- outside the wiki's selection.
CREATE TABLE wiki_file_use (
    wiki    TEXT NOT NULL,
    page_id INTEGER NOT NULL,
    title   TEXT NOT NULL,
    PRIMARY KEY (wiki, page_id, title)
) WITHOUT ROWID;
CREATE INDEX wiki_file_use_title ON wiki_file_use (wiki, title);

CREATE TABLE wiki_use_point (
    wiki    TEXT NOT NULL,
    page_id INTEGER NOT NULL,
    rev_id  INTEGER NOT NULL,
    PRIMARY KEY (wiki, page_id)
) WITHOUT ROWID;
