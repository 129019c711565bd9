//! Pages' renderings (schema 20): the HTML the wiki itself made of a
//! page's revision (`action=parse`), kept compressed with the revision it
//! belongs to. A rendering is given out only while its revision is the
//! page's current one: a page edited since is never shown with its old
//! rendering as if current.

use rusqlite::{OptionalExtension, params};

use crate::error::{Doing, Error, Result};
use crate::files::FileGap;
use crate::store::{Store, WriteTransaction};

/// A page's revision as the wiki rendered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendering {
    pub rev_id: u64,
    pub html: String,
    pub display_title: String,
    /// Category names, without the namespace.
    pub categories: Vec<String>,
}

fn bad(wiki: &str, pageid: u64, detail: &str) -> Error {
    Error::Rendering { wiki: wiki.to_string(), page: pageid, detail: detail.to_string() }
}

/// Renderings of more than this are not kept (the page is shown as text).
pub const MAX_HTML: usize = 16 << 20;

impl Store {
    /// Live pages whose current revision has no rendering, by page id
    /// after `after`, at most `limit`.
    pub fn render_gaps(&self, wiki: &str, after: u64, limit: usize) -> Result<Vec<FileGap>> {
        self.gaps("wiki_render", "1 = 1", (wiki, after, limit), "finding pages to render")
    }

    /// Keeps pages' renderings, each `(page id, rendering)`, in one
    /// transaction; each replaces the page's one before.
    pub fn set_renderings(&mut self, wiki: &str, pages: &[(u64, Rendering)], now: i64) -> Result<()> {
        let doing = "keeping pages' renderings";
        let packed: Vec<(u64, &Rendering, Vec<u8>, String)> = pages
            .iter()
            .map(|(pageid, r)| {
                let html = zstd::bulk::compress(r.html.as_bytes(), 3).map_err(|e| bad(wiki, *pageid, &e.to_string()))?;
                Ok((*pageid, r, html, r.categories.join("\n")))
            })
            .collect::<Result<_>>()?;
        let tx = self.conn.write_transaction().doing(doing)?;
        {
            let mut put = tx
                .prepare_cached(
                    "INSERT INTO wiki_render (wiki, page_id, rev_id, html, display_title, categories, rendered_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (wiki, page_id) DO UPDATE SET rev_id = excluded.rev_id, html = excluded.html,
                         display_title = excluded.display_title, categories = excluded.categories, rendered_at = excluded.rendered_at",
                )
                .doing(doing)?;
            for (pageid, r, html, categories) in &packed {
                put.execute(params![wiki, *pageid as i64, r.rev_id as i64, html, r.display_title, categories, now]).doing(doing)?;
            }
        }
        tx.commit().doing(doing)
    }

    /// The rendering of a page's current revision, if kept.
    pub fn rendering(&self, wiki: &str, pageid: u64) -> Result<Option<Rendering>> {
        let doing = "reading a page's rendering";
        let row: Option<(i64, Vec<u8>, String, String)> = self
            .conn()
            .prepare_cached(
                "SELECT r.rev_id, r.html, r.display_title, r.categories FROM wiki_render r
                 JOIN wiki_page p ON p.wiki = r.wiki AND p.page_id = r.page_id AND p.rev_id = r.rev_id
                 WHERE r.wiki = ?1 AND r.page_id = ?2",
            )
            .doing(doing)?
            .query_row(params![wiki, pageid as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()
            .doing(doing)?;
        let Some((rev_id, html, display_title, categories)) = row else { return Ok(None) };
        let html = zstd::bulk::decompress(&html, MAX_HTML).map_err(|e| bad(wiki, pageid, &e.to_string()))?;
        let html = String::from_utf8(html).map_err(|e| bad(wiki, pageid, &e.to_string()))?;
        let categories = categories.lines().filter(|c| !c.is_empty()).map(str::to_string).collect();
        Ok(Some(Rendering { rev_id: rev_id as u64, html, display_title, categories }))
    }

    /// Forgets a wiki's renderings, so that the next pass renders every
    /// page again (`mirror --render-all`: templates changed under pages).
    /// Returns how many were forgotten.
    pub fn forget_renderings(&mut self, wiki: &str) -> Result<u64> {
        let n = self.conn.execute("DELETE FROM wiki_render WHERE wiki = ?1", params![wiki]).doing("forgetting renderings")?;
        Ok(n as u64)
    }

    /// A wiki's live pages, and those rendered at their current revision.
    pub fn render_status(&self, wiki: &str) -> Result<(u64, u64)> {
        let (pages, rendered): (i64, i64) = self
            .conn()
            .query_row(
                "SELECT count(*), count(r.page_id) FROM wiki_page p
                 LEFT JOIN wiki_render r ON r.wiki = p.wiki AND r.page_id = p.page_id AND r.rev_id = p.rev_id
                 WHERE p.wiki = ?1 AND p.deleted = 0 AND p.displaced = 0",
                params![wiki],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .doing("counting rendered pages")?;
        Ok((pages as u64, rendered as u64))
    }
}

#[cfg(test)]
mod tests;
