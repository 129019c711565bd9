//! The files a mirrored wiki's pages use (`prop=images`), each page's read
//! at a revision: with `used_files = true` they are mirrored even when
//! their File: pages are outside the wiki's selection.

use std::collections::BTreeSet;

use rusqlite::params;

use crate::error::{Doing, Result};
use crate::files::FileGap;
use crate::store::{Store, WriteTransaction};

impl Store {
    /// Live pages other than File: pages whose uses were not read at their
    /// current revision, by page id after `after`, at most `limit`.
    pub fn use_gaps(&self, wiki: &str, after: u64, limit: usize) -> Result<Vec<FileGap>> {
        self.gaps("wiki_use_point", "p.ns <> 6", (wiki, after, limit), "finding pages whose uses to read")
    }

    /// Records pages' uses, each `(page id, revision read at, File: titles)`,
    /// replacing what each used before, in one transaction.
    pub fn set_file_uses(&mut self, wiki: &str, pages: &[(u64, u64, Vec<String>)]) -> Result<()> {
        let doing = "recording the files pages use";
        let tx = self.conn.write_transaction().doing(doing)?;
        {
            let mut forget = tx.prepare_cached("DELETE FROM wiki_file_use WHERE wiki = ?1 AND page_id = ?2").doing(doing)?;
            let mut add = tx.prepare_cached("INSERT OR IGNORE INTO wiki_file_use (wiki, page_id, title) VALUES (?1, ?2, ?3)").doing(doing)?;
            let mut point = tx
                .prepare_cached(
                    "INSERT INTO wiki_use_point (wiki, page_id, rev_id) VALUES (?1, ?2, ?3)
                     ON CONFLICT (wiki, page_id) DO UPDATE SET rev_id = excluded.rev_id",
                )
                .doing(doing)?;
            for (pageid, rev_id, titles) in pages {
                forget.execute(params![wiki, *pageid as i64]).doing(doing)?;
                for t in titles {
                    add.execute(params![wiki, *pageid as i64, t]).doing(doing)?;
                }
                point.execute(params![wiki, *pageid as i64, *rev_id as i64]).doing(doing)?;
            }
        }
        tx.commit().doing(doing)
    }

    /// Every File: title a live page of the wiki uses.
    pub fn used_file_titles(&self, wiki: &str) -> Result<BTreeSet<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT u.title FROM wiki_file_use u JOIN wiki_page p ON p.wiki = u.wiki AND p.page_id = u.page_id
                 WHERE u.wiki = ?1 AND p.deleted = 0",
            )
            .doing("listing used files")?;
        let rows = stmt.query_map([wiki], |r| r.get(0)).doing("listing used files")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing used files")
    }

    /// Used File: titles that no page of the mirror has (live or deleted).
    pub fn used_titles_missing(&self, wiki: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT DISTINCT u.title FROM wiki_file_use u JOIN wiki_page p ON p.wiki = u.wiki AND p.page_id = u.page_id
                 WHERE u.wiki = ?1 AND p.deleted = 0
                   AND NOT EXISTS (SELECT 1 FROM wiki_page f WHERE f.wiki = u.wiki AND f.title = u.title)
                 ORDER BY u.title",
            )
            .doing("listing used files not mirrored")?;
        let rows = stmt.query_map([wiki], |r| r.get(0)).doing("listing used files not mirrored")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing used files not mirrored")
    }
}

#[cfg(test)]
mod tests;
