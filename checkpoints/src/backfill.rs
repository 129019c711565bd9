//! Full history: how far each mirrored page's revisions are stored, and
//! the older revisions a history pass adds.
//!
//! A page's history is stored up to a point in the wiki's own order of
//! revisions (timestamp, then id): every revision up to `through` is in
//! the store. A page is complete when that point is its current revision;
//! a page changed since reads on from there. So a pass cut short anywhere
//! goes on where its last commit left it, and reads nothing twice but the
//! revisions of the second it stopped in.

use rusqlite::{OptionalExtension, params};

use crate::error::{Doing, Result};
use crate::store::{Store, WriteTransaction};
use crate::wiki::RevisionRow;

/// A live page whose stored history does not reach its current revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryGap {
    pub pageid: u64,
    pub title: String,
    /// Its current revision in the mirror.
    pub rev_id: u64,
    /// How far its history is stored: (timestamp, revision); `None`: not begun.
    pub through: Option<(String, u64)>,
}

impl crate::wiki::WikiWrite<'_> {
    /// Records pages' histories as stored through `(page id, timestamp,
    /// revision)` each: what a dump holding each page's every revision
    /// gives, so that no history pass reads them again.
    pub fn set_history_points(&mut self, points: &[(u64, String, u64)]) -> Result<()> {
        let doing = "recording how far a page's history is stored";
        let mut put = self
            .tx
            .prepare_cached(
                "INSERT INTO wiki_history (wiki, page_id, through_ts, through_rev) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (wiki, page_id) DO UPDATE SET through_ts = excluded.through_ts, through_rev = excluded.through_rev",
            )
            .doing(doing)?;
        for (pageid, ts, rev) in points {
            put.execute(params![self.wiki, *pageid as i64, ts, *rev as i64]).doing(doing)?;
        }
        Ok(())
    }
}

impl Store {
    /// Live pages of a wiki whose history does not reach their current
    /// revision, by page id after `after`, at most `limit`.
    pub fn history_gaps(&self, wiki: &str, after: u64, limit: usize) -> Result<Vec<HistoryGap>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT p.page_id, p.title, p.rev_id, h.through_ts, h.through_rev
                 FROM wiki_page p LEFT JOIN wiki_history h ON h.wiki = p.wiki AND h.page_id = p.page_id
                 WHERE p.wiki = ?1 AND p.page_id > ?2 AND p.deleted = 0 AND p.displaced = 0 AND p.rev_id IS NOT NULL
                   AND (h.through_rev IS NULL OR h.through_rev <> p.rev_id)
                 ORDER BY p.page_id LIMIT ?3",
            )
            .doing("finding pages whose history is not complete")?;
        let rows = stmt
            .query_map(params![wiki, after as i64, limit as i64], |r| {
                let through = match (r.get::<_, Option<String>>(3)?, r.get::<_, Option<i64>>(4)?) {
                    (Some(ts), Some(rev)) => Some((ts, rev as u64)),
                    _ => None,
                };
                Ok(HistoryGap { pageid: r.get::<_, i64>(0)? as u64, title: r.get(1)?, rev_id: r.get::<_, i64>(2)? as u64, through })
            })
            .doing("finding pages whose history is not complete")?;
        rows.collect::<rusqlite::Result<_>>().doing("finding pages whose history is not complete")
    }

    /// Starts the history of every page of a wiki at its current revision,
    /// the first time it is called for the wiki (recorded as the feed
    /// `history` of `wiki_feed`): the wiki's past is not read, what comes
    /// after is, and pages stored later are read whole. Returns how many
    /// pages it started.
    pub fn start_history_here(&mut self, wiki: &str, now: i64) -> Result<u64> {
        const STARTED: &str = "SELECT EXISTS (SELECT 1 FROM wiki_feed WHERE wiki = ?1 AND feed = 'history')";
        let started = |conn: &rusqlite::Connection| -> Result<bool> { conn.query_row(STARTED, [wiki], |r| r.get(0)).doing("starting a wiki's history") };
        // Every pull asks; only the first takes the write lock.
        if started(&self.conn)? {
            return Ok(0);
        }
        let tx = self.conn.write_transaction().doing("starting a wiki's history")?;
        if started(&tx)? {
            return Ok(0);
        }
        let pages = tx
            .execute(
                "INSERT OR IGNORE INTO wiki_history (wiki, page_id, through_ts, through_rev)
                 SELECT p.wiki, p.page_id, r.timestamp, p.rev_id FROM wiki_page p JOIN wiki_revision r ON r.wiki = p.wiki AND r.rev_id = p.rev_id
                 WHERE p.wiki = ?1",
                [wiki],
            )
            .doing("starting a wiki's history at its current revisions")?;
        tx.execute("INSERT INTO wiki_feed (wiki, feed, next_from, updated_at) VALUES (?1, 'history', 'started', ?2)", params![wiki, now])
            .doing("starting a wiki's history")?;
        tx.commit().doing("starting a wiki's history")?;
        Ok(pages as u64)
    }

    /// Forgets how far these pages' histories are stored: the next pass
    /// reads each whole again (revisions imported into a page may be older
    /// than the point it had reached), storing only what is new.
    pub fn forget_history(&self, wiki: &str, pageids: &[u64]) -> Result<()> {
        let mut stmt = self.conn().prepare_cached("DELETE FROM wiki_history WHERE wiki = ?1 AND page_id = ?2").doing("forgetting a page's history point")?;
        for id in pageids {
            stmt.execute(params![wiki, *id as i64]).doing("forgetting a page's history point")?;
        }
        Ok(())
    }

    /// How far a page's history is stored.
    pub fn history_through(&self, wiki: &str, pageid: u64) -> Result<Option<(String, u64)>> {
        self.conn()
            .query_row("SELECT through_ts, through_rev FROM wiki_history WHERE wiki = ?1 AND page_id = ?2", params![wiki, pageid as i64], |r| {
                Ok((r.get(0)?, r.get::<_, i64>(1)? as u64))
            })
            .optional()
            .doing("reading how far a page's history is stored")
    }

    /// A page's stored revisions after revision `after` (`None`: from its
    /// first) through revision `through`, in the wiki's order (timestamp,
    /// then id), without their texts; at most `limit`. `None` when the store
    /// lacks either end under this page.
    pub fn revisions_between(&self, wiki: &str, pageid: u64, after: Option<u64>, through: u64, limit: usize) -> Result<Option<Vec<RevisionRow>>> {
        let conn = self.conn();
        let at = |rev: u64| -> Result<Option<(String, i64)>> {
            conn.query_row(
                "SELECT timestamp, rev_id FROM wiki_revision WHERE wiki = ?1 AND rev_id = ?2 AND page_id = ?3",
                params![wiki, rev as i64, pageid as i64],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .doing("finding a revision")
        };
        let Some(end) = at(through)? else { return Ok(None) };
        let start = match after {
            Some(rev) => match at(rev)? {
                Some(start) => start,
                None => return Ok(None),
            },
            None => (String::new(), 0),
        };
        let mut stmt = conn
            .prepare_cached(
                "SELECT rev_id, parent_id, timestamp, user, comment, sha1, '' AS text, minor, user_id FROM wiki_revision
                 WHERE wiki = ?1 AND page_id = ?2 AND (timestamp, rev_id) > (?3, ?4) AND (timestamp, rev_id) <= (?5, ?6)
                 ORDER BY timestamp, rev_id LIMIT ?7",
            )
            .doing("listing revisions between two")?;
        let rows = stmt
            .query_map(params![wiki, pageid as i64, start.0, start.1, end.0, end.1, limit as i64], crate::wiki::revision_from_row)
            .doing("listing revisions between two")?;
        Ok(Some(rows.collect::<rusqlite::Result<_>>().doing("listing revisions between two")?))
    }

    /// Stores revisions of a page read in the wiki's order and, in the same
    /// transaction, that its history is stored through `through`: a pass
    /// killed anywhere goes on from the last of these commits. Returns how
    /// many revisions were not stored before.
    pub fn add_history(&mut self, wiki: &str, pageid: u64, title: &str, revisions: &[RevisionRow], through: (&str, u64), now: i64) -> Result<u64> {
        let mut write = self.begin_wiki_write(wiki, now)?;
        let stored = if revisions.is_empty() { 0 } else { write.add_revisions(pageid, title, revisions)? };
        write
            .tx
            .execute(
                "INSERT INTO wiki_history (wiki, page_id, through_ts, through_rev) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (wiki, page_id) DO UPDATE SET through_ts = excluded.through_ts, through_rev = excluded.through_rev",
                params![wiki, pageid as i64, through.0, through.1 as i64],
            )
            .doing("recording how far a page's history is stored")?;
        write.finish(None)?;
        Ok(stored)
    }
}

#[cfg(test)]
mod tests;
