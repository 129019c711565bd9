//! The full-text index of mirrored pages (schema 20): one row per live
//! page, written with the page in the same transaction, so that a search
//! never finds a deleted page, an old title or a word the page no longer
//! holds. Queries are built from the words a person typed: each word is
//! quoted, so nothing typed is read as FTS5's own syntax.

use rusqlite::params;

use crate::error::{Doing, Result};
use crate::store::Store;

/// One page found.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    pub wiki: String,
    pub pageid: u64,
    pub title: String,
    /// Words around the matches, each match between [`MARK_START`] and
    /// [`MARK_END`] (characters that never stand in text shown as HTML).
    pub snippet: String,
}

pub const MARK_START: char = '\u{2}';
pub const MARK_END: char = '\u{3}';

/// A title matched by its beginning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub wiki: String,
    pub title: String,
}

/// Writes the index row of one page as the page now is: none for a
/// deleted page or one moved aside, else its title and current text.
pub(crate) fn index_page(tx: &rusqlite::Transaction<'_>, wiki: &str, pageid: u64) -> Result<()> {
    let doing = "indexing a page for search";
    tx.prepare_cached("DELETE FROM wiki_search WHERE rowid = (SELECT rowid FROM wiki_page WHERE wiki = ?1 AND page_id = ?2)")
        .doing(doing)?
        .execute(params![wiki, pageid as i64])
        .doing(doing)?;
    tx.prepare_cached(
        "INSERT INTO wiki_search (rowid, title, body, wiki)
         SELECT p.rowid, p.title, r.text, p.wiki FROM wiki_page p JOIN wiki_revision r ON r.wiki = p.wiki AND r.rev_id = p.rev_id
         WHERE p.wiki = ?1 AND p.page_id = ?2 AND p.deleted = 0 AND p.displaced = 0",
    )
    .doing(doing)?
    .execute(params![wiki, pageid as i64])
    .doing(doing)?;
    Ok(())
}

/// The FTS5 query for what a person typed: every word must be there (in
/// any order), each quoted; `prefix`: the last may be a word's beginning.
/// `None` when nothing searchable was typed. Pure.
pub fn fts_query(typed: &str, prefix: bool) -> Option<String> {
    let words: Vec<String> =
        typed.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).take(32).map(|w| format!("\"{}\"", w.replace('"', "\"\""))).collect();
    let last = words.len().checked_sub(1)?;
    Some(words.iter().enumerate().map(|(i, w)| if prefix && i == last { format!("{w}*") } else { w.clone() }).collect::<Vec<_>>().join(" "))
}

impl Store {
    /// Pages whose title or text hold every word of `typed`, best first
    /// (a word in the title counts ten times one in the text), in `wiki`
    /// or in all wikis; at most `limit`, after skipping `offset`.
    pub fn search_pages(&self, typed: &str, wiki: Option<&str>, limit: usize, offset: usize) -> Result<Vec<Hit>> {
        let doing = "searching pages";
        let Some(query) = fts_query(typed, false) else { return Ok(Vec::new()) };
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT s.wiki, p.page_id, p.title, snippet(wiki_search, 1, '{MARK_START}', '{MARK_END}', '…', 24)
                 FROM wiki_search s JOIN wiki_page p ON p.rowid = s.rowid
                 WHERE wiki_search MATCH ?1 AND (?2 IS NULL OR s.wiki = ?2)
                 ORDER BY bm25(wiki_search, 10.0, 1.0) LIMIT ?3 OFFSET ?4"
            ))
            .doing(doing)?;
        let rows = stmt
            .query_map(params![query, wiki, limit as i64, offset as i64], |r| {
                Ok(Hit { wiki: r.get(0)?, pageid: r.get::<_, i64>(1)? as u64, title: r.get(2)?, snippet: r.get(3)? })
            })
            .doing(doing)?;
        rows.collect::<rusqlite::Result<_>>().doing(doing)
    }

    /// Titles beginning with `typed` (word by word, case and accents
    /// folded), shortest first, in `wiki` or in all wikis.
    pub fn suggest_titles(&self, typed: &str, wiki: Option<&str>, limit: usize) -> Result<Vec<Suggestion>> {
        let doing = "suggesting titles";
        let Some(words) = fts_query(typed, false) else { return Ok(Vec::new()) };
        // One phrase, at the title's start, its last word a beginning.
        let phrase = words.split(' ').map(|w| w.trim_matches('"')).collect::<Vec<_>>().join(" ");
        let query = format!("title : ^\"{}\"*", phrase.replace('"', "\"\""));
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT s.wiki, s.title FROM wiki_search s
                 WHERE wiki_search MATCH ?1 AND (?2 IS NULL OR s.wiki = ?2)
                 ORDER BY length(s.title), s.title LIMIT ?3",
            )
            .doing(doing)?;
        let rows = stmt.query_map(params![query, wiki, limit as i64], |r| Ok(Suggestion { wiki: r.get(0)?, title: r.get(1)? })).doing(doing)?;
        rows.collect::<rusqlite::Result<_>>().doing(doing)
    }

    /// Live titles of a wiki in order, from `from` on, at most `limit`.
    pub fn page_titles(&self, wiki: &str, from: &str, limit: usize) -> Result<Vec<String>> {
        let doing = "listing titles";
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT title FROM wiki_page WHERE wiki = ?1 AND title >= ?2 AND deleted = 0 AND displaced = 0 ORDER BY title LIMIT ?3")
            .doing(doing)?;
        let rows = stmt.query_map(params![wiki, from, limit as i64], |r| r.get(0)).doing(doing)?;
        rows.collect::<rusqlite::Result<_>>().doing(doing)
    }

    /// Which of `titles` are live pages of `wiki`.
    pub fn present_titles(&self, wiki: &str, titles: &[String]) -> Result<std::collections::HashSet<String>> {
        let doing = "looking titles up";
        let mut stmt = self.conn().prepare_cached("SELECT 1 FROM wiki_page WHERE wiki = ?1 AND title = ?2 AND deleted = 0 AND displaced = 0").doing(doing)?;
        let mut present = std::collections::HashSet::new();
        for t in titles {
            if stmt.exists(params![wiki, t]).doing(doing)? {
                present.insert(t.clone());
            }
        }
        Ok(present)
    }

    /// Rows in the search index, for `status` and the tests.
    pub fn search_rows(&self, wiki: &str) -> Result<u64> {
        let n: i64 = self.conn().query_row("SELECT count(*) FROM wiki_search WHERE wiki = ?1", params![wiki], |r| r.get(0)).doing("counting indexed pages")?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests;
