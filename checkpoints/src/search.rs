//! The full-text index of mirrored pages (schema 20): one row per live
//! page, written with the page in the same transaction, so that a search
//! never finds a deleted page, an old title or a word the page no longer
//! holds. Queries are built from the words a person typed: each word is
//! quoted, so nothing typed is read as FTS5's own syntax.

use rusqlite::{OptionalExtension, params};

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

/// What a record is found by: its Dublin Core titles, creators, subjects
/// and descriptions, each field's values one a line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordText {
    pub title: String,
    pub creator: String,
    pub subject: String,
    pub description: String,
}

/// A record found.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordHit {
    pub source_id: i64,
    pub base_url: String,
    pub identifier: String,
    /// Its first title, if it has one.
    pub title: Option<String>,
    /// Words around the matches, marked as [`Hit::snippet`]'s.
    pub snippet: String,
}

/// The statements that keep records' entries, within a write transaction.
pub(crate) struct RecordIndex<'t> {
    forget: rusqlite::CachedStatement<'t>,
    add: rusqlite::CachedStatement<'t>,
}

impl<'t> RecordIndex<'t> {
    pub(crate) fn new(tx: &'t rusqlite::Transaction<'_>) -> Result<RecordIndex<'t>> {
        let doing = "indexing records for search";
        Ok(RecordIndex {
            forget: tx.prepare_cached("DELETE FROM record_search WHERE rowid = ?1").doing(doing)?,
            add: tx.prepare_cached("INSERT INTO record_search (rowid, title, creator, subject, description) VALUES (?1, ?2, ?3, ?4, ?5)").doing(doing)?,
        })
    }

    /// The entry of record `id`: `text`, or none.
    pub(crate) fn set(&mut self, id: i64, text: Option<&RecordText>) -> Result<()> {
        let doing = "indexing records for search";
        self.forget.execute([id]).doing(doing)?;
        if let Some(t) = text {
            self.add.execute(params![id, t.title, t.creator, t.subject, t.description]).doing(doing)?;
        }
        Ok(())
    }
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
        "INSERT INTO wiki_search (rowid, title, body)
         SELECT p.rowid, p.title, r.text FROM wiki_page p JOIN wiki_revision r ON r.wiki = p.wiki AND r.rev_id = p.rev_id
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

/// A word as the index compares it: lower case, without its diacritics
/// (for the letters of Latin scripts; others as they are). Pure.
fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
            'ç' | 'ć' | 'č' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' => 'i',
            'ñ' | 'ń' | 'ň' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ő' => 'o',
            'ś' | 'š' | 'ş' => 's',
            'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'ų' => 'u',
            'ý' | 'ÿ' => 'y',
            'ź' | 'ż' | 'ž' => 'z',
            other => other,
        })
        .collect()
}

/// Words of `text` around the first of `words` it holds (about 24), each
/// of `words` between [`MARK_START`] and [`MARK_END`]; the text's start if
/// it holds none of them. Pure.
pub fn snippet(text: &str, words: &[String]) -> String {
    const AROUND: usize = 12;
    // The text's words with where each starts and ends.
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    let matches = |&(s, e): &(usize, usize)| words.contains(&fold(&text[s..e]));
    let first = spans.iter().position(matches).unwrap_or(0);
    let (from, to) = (first.saturating_sub(AROUND), (first + AROUND).min(spans.len()));
    let Some(&(begin, _)) = spans.get(from) else { return String::new() };
    let begin = if from == 0 { 0 } else { begin };
    let end = if to == spans.len() { text.len() } else { spans[to - 1].1 };
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut at = begin;
    for span in &spans[from..to] {
        out.push_str(&text[at..span.0]);
        if matches(span) {
            out.push(MARK_START);
            out.push_str(&text[span.0..span.1]);
            out.push(MARK_END);
        } else {
            out.push_str(&text[span.0..span.1]);
        }
        at = span.1;
    }
    out.push_str(&text[at..end]);
    if to < spans.len() {
        out.push('…');
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Store {
    /// Pages whose title or text hold every word of `typed`, best first
    /// (a word in the title counts ten times one in the text), in `wiki`
    /// or in all wikis; at most `limit`, after skipping `offset`.
    pub fn search_pages(&self, typed: &str, wiki: Option<&str>, limit: usize, offset: usize) -> Result<Vec<Hit>> {
        let doing = "searching pages";
        let Some(query) = fts_query(typed, false) else { return Ok(Vec::new()) };
        // The best rows first, then the texts of those alone: a snippet is
        // cut for the page shown, not for every page that matches.
        // Without a wiki to keep to, the matches are ranked without a look
        // at their pages (a lookup for each of thousands of matches).
        let best = match wiki {
            None => "SELECT rowid AS id, bm25(wiki_search, 10.0, 1.0) AS score FROM wiki_search WHERE wiki_search MATCH ?1 AND ?2 IS NULL",
            Some(_) => {
                "SELECT s.rowid AS id, bm25(wiki_search, 10.0, 1.0) AS score FROM wiki_search s JOIN wiki_page p ON p.rowid = s.rowid
                 WHERE wiki_search MATCH ?1 AND p.wiki = ?2"
            }
        };
        let mut stmt = self
            .conn()
            .prepare_cached(&format!(
                "SELECT p.wiki, p.page_id, p.title, r.text FROM ({best} ORDER BY score LIMIT ?3 OFFSET ?4) best
                 JOIN wiki_page p ON p.rowid = best.id JOIN wiki_revision r ON r.wiki = p.wiki AND r.rev_id = p.rev_id
                 ORDER BY best.score"
            ))
            .doing(doing)?;
        let words: Vec<String> = typed.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(fold).collect();
        let rows = stmt
            .query_map(params![query, wiki, limit as i64, offset as i64], |r| {
                let text: String = r.get(3)?;
                Ok(Hit { wiki: r.get(0)?, pageid: r.get::<_, i64>(1)? as u64, title: r.get(2)?, snippet: snippet(&text, &words) })
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
                "SELECT p.wiki, p.title FROM wiki_search s JOIN wiki_page p ON p.rowid = s.rowid
                 WHERE wiki_search MATCH ?1 AND (?2 IS NULL OR p.wiki = ?2)
                 ORDER BY length(p.title), p.title LIMIT ?3",
            )
            .doing(doing)?;
        let rows = stmt.query_map(params![query, wiki, limit as i64], |r| Ok(Suggestion { wiki: r.get(0)?, title: r.get(1)? })).doing(doing)?;
        rows.collect::<rusqlite::Result<_>>().doing(doing)
    }

    /// Records whose DC fields hold every word of `typed`, best first (a
    /// word in a title or creator counts five times one in a description),
    /// of source `source` or of all; at most `limit`, after `offset`.
    pub fn search_records(&self, typed: &str, source: Option<i64>, limit: usize, offset: usize) -> Result<Vec<RecordHit>> {
        let doing = "searching records";
        let Some(query) = fts_query(typed, false) else { return Ok(Vec::new()) };
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT r.source_id, s.base_url, r.identifier, x.title, x.creator, x.subject, x.description FROM
                    (SELECT x.rowid AS id, bm25(record_search, 5.0, 5.0, 2.0, 1.0) AS score FROM record_search x JOIN record r ON r.id = x.rowid
                     WHERE record_search MATCH ?1 AND (?2 IS NULL OR r.source_id = ?2) AND r.deleted = 0 ORDER BY score LIMIT ?3 OFFSET ?4) best
                 JOIN record_search x ON x.rowid = best.id JOIN record r ON r.id = best.id JOIN source s ON s.id = r.source_id
                 ORDER BY best.score",
            )
            .doing(doing)?;
        let words: Vec<String> = typed.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(fold).collect();
        let rows = stmt
            .query_map(params![query, source, limit as i64, offset as i64], |r| {
                let title: String = r.get(3)?;
                let fields: Vec<String> = (3..7).map(|i| r.get(i)).collect::<rusqlite::Result<_>>()?;
                Ok(RecordHit {
                    source_id: r.get(0)?,
                    base_url: r.get(1)?,
                    identifier: r.get(2)?,
                    title: title.lines().next().map(str::to_string),
                    snippet: snippet(&fields.join("\n"), &words),
                })
            })
            .doing(doing)?;
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

    /// Which of `titles` are live pages of `wiki`, with their page ids.
    pub fn present_titles(&self, wiki: &str, titles: &[String]) -> Result<std::collections::HashMap<String, u64>> {
        let doing = "looking titles up";
        let mut stmt =
            self.conn().prepare_cached("SELECT page_id FROM wiki_page WHERE wiki = ?1 AND title = ?2 AND deleted = 0 AND displaced = 0").doing(doing)?;
        let mut present = std::collections::HashMap::new();
        for t in titles {
            if let Some(id) = stmt.query_row(params![wiki, t], |r| r.get::<_, i64>(0)).optional().doing(doing)? {
                present.insert(t.clone(), id as u64);
            }
        }
        Ok(present)
    }

    /// Rows in the search index, for `status` and the tests.
    pub fn search_rows(&self, wiki: &str) -> Result<u64> {
        let n: i64 = self
            .conn()
            .query_row("SELECT count(*) FROM wiki_search s JOIN wiki_page p ON p.rowid = s.rowid WHERE p.wiki = ?1", params![wiki], |r| r.get(0))
            .doing("counting indexed pages")?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests;
