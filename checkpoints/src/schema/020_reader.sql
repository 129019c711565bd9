-- Version 20: what the reader needs: a full-text index of mirrored pages,
-- and each page's rendering as the wiki made it.
--
-- `wiki_search` indexes one row per live page (not deleted, not moved
-- aside), its rowid the page's `wiki_page` rowid: the title and the text
-- of the current revision. It is written in the same transaction as the
-- page (`WikiWrite::apply`), so it never drifts from the store. It keeps
-- no copy of the text (contentless: the store holds it once, in
-- `wiki_revision`); snippets are cut from the stored text. The unicode61
-- tokenizer folds case and diacritics; wikitext's markup (brackets,
-- pipes, quotes) falls between tokens.
CREATE VIRTUAL TABLE wiki_search USING fts5(
    title,
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO wiki_search (rowid, title, body)
    SELECT p.rowid, p.title, r.text
    FROM wiki_page p JOIN wiki_revision r ON r.wiki = p.wiki AND r.rev_id = p.rev_id
    WHERE p.deleted = 0 AND p.displaced = 0;

-- A page's rendering (`action=parse` of its revision `rev_id`), kept
-- while that revision is the page's current one; shown only then (a
-- page whose revision moved on is rendered again, or shown as text).
CREATE TABLE wiki_render (
    wiki          TEXT NOT NULL,
    page_id       INTEGER NOT NULL,
    rev_id        INTEGER NOT NULL,
    html          BLOB NOT NULL,   -- one zstd frame of the HTML as the wiki rendered it
    display_title TEXT NOT NULL,
    categories    TEXT NOT NULL,   -- category names, without the namespace, one a line
    rendered_at   INTEGER NOT NULL,
    PRIMARY KEY (wiki, page_id)
) WITHOUT ROWID;

-- The reader finds pages by their title alone (namespace prefix included).
CREATE INDEX wiki_page_by_title ON wiki_page (wiki, title);

-- Harvested records' Dublin Core titles, creators, subjects and
-- descriptions, each value on a line; the rowid is the record's id. Written
-- in the transaction that stores the record's version it reads (and
-- removed when the record is deleted), for the sources whose records are
-- indexed (`search`, default on).
CREATE VIRTUAL TABLE record_search USING fts5(
    title,
    creator,
    subject,
    description,
    tokenize = 'unicode61 remove_diacritics 2'
);
