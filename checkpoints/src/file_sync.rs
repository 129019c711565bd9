//! Files in two-way sync: the file each pair's sides last agreed on, and
//! the uploads that carry a file from one side to the other (the file
//! outbox). An upload leaves the outbox only once the target's current file
//! was read back with its SHA-1; the pair's file base moves then, in the
//! same transaction.

use rusqlite::params;

use crate::error::{Doing, Result};
use crate::files::StoredFile;
use crate::store::{Store, WriteTransaction};
use crate::sync::SyncSide;

/// A pair whose page is a File: page on either side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePair {
    pub pair_id: i64,
    pub wiki_page: Option<u64>,
    pub with_page: Option<u64>,
    /// The SHA-1 both sides last agreed on.
    pub base: Option<String>,
}

/// An upload to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewFilePush<'a> {
    pub pair_id: i64,
    pub target: SyncSide,
    pub title: &'a str,
    pub sha1: &'a str,
    pub size: u64,
    pub comment: &'a str,
    pub text: &'a str,
    pub conflict: bool,
}

/// A queued upload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePush {
    pub push_id: i64,
    pub pair_id: i64,
    pub target: SyncSide,
    pub title: String,
    pub sha1: String,
    pub size: u64,
    pub comment: String,
    pub text: String,
    pub conflict: bool,
    pub sent: bool,
    pub attempts: u32,
    pub next_try: i64,
}

impl Store {
    /// The pairs of a sync whose page is a File: page (namespace 6) on
    /// either side (`wiki` and `with` name the sides' mirrors).
    pub fn file_pairs(&self, sync: &str, wiki: &str, with: &str) -> Result<Vec<FilePair>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT s.pair_id, s.wiki_page, s.with_page, s.base_file FROM sync_pair s
                 WHERE s.sync = ?1
                   AND (EXISTS (SELECT 1 FROM wiki_page p WHERE p.wiki = ?2 AND p.page_id = s.wiki_page AND p.ns = 6)
                     OR EXISTS (SELECT 1 FROM wiki_page p WHERE p.wiki = ?3 AND p.page_id = s.with_page AND p.ns = 6))
                 ORDER BY s.pair_id",
            )
            .doing("listing a sync's file pairs")?;
        let rows = stmt
            .query_map(params![sync, wiki, with], |r| {
                Ok(FilePair {
                    pair_id: r.get(0)?,
                    wiki_page: r.get::<_, Option<i64>>(1)?.map(|p| p as u64),
                    with_page: r.get::<_, Option<i64>>(2)?.map(|p| p as u64),
                    base: r.get(3)?,
                })
            })
            .doing("listing a sync's file pairs")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing a sync's file pairs")
    }

    /// A page's current file version (its newest), whatever its state.
    pub fn current_file(&self, wiki: &str, pageid: u64) -> Result<Option<StoredFile>> {
        Ok(self.newest_file_versions(wiki, pageid, 1)?.into_iter().next())
    }

    /// Sets the file a pair's sides agree on.
    pub fn set_sync_file_base(&mut self, pair_id: i64, sha1: &str) -> Result<()> {
        let tx = self.conn.write_transaction().doing("setting a pair's file base")?;
        tx.execute("UPDATE sync_pair SET base_file = ?2 WHERE pair_id = ?1", params![pair_id, sha1]).doing("setting a pair's file base")?;
        tx.commit().doing("setting a pair's file base")
    }

    /// Queues an upload, unless the same one is queued already. Returns
    /// whether it was queued now.
    pub fn queue_file_push(&mut self, sync: &str, push: &NewFilePush<'_>) -> Result<bool> {
        let doing = "queueing an upload";
        let tx = self.conn.write_transaction().doing(doing)?;
        let n = tx
            .execute(
                "INSERT OR IGNORE INTO file_outbox (sync, pair_id, target, title, sha1, size, comment, text, conflict)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![sync, push.pair_id, push.target, push.title, push.sha1, push.size as i64, push.comment, push.text, push.conflict],
            )
            .doing(doing)?;
        tx.commit().doing(doing)?;
        Ok(n > 0)
    }

    /// A sync's queued uploads, oldest first.
    pub fn file_pushes(&self, sync: &str) -> Result<Vec<FilePush>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT push_id, pair_id, target, title, sha1, size, comment, text, conflict, sent, attempts, next_try
                 FROM file_outbox WHERE sync = ?1 ORDER BY push_id",
            )
            .doing("listing queued uploads")?;
        let rows = stmt
            .query_map([sync], |r| {
                Ok(FilePush {
                    push_id: r.get(0)?,
                    pair_id: r.get(1)?,
                    target: r.get(2)?,
                    title: r.get(3)?,
                    sha1: r.get(4)?,
                    size: r.get::<_, i64>(5)? as u64,
                    comment: r.get(6)?,
                    text: r.get(7)?,
                    conflict: r.get(8)?,
                    sent: r.get(9)?,
                    attempts: r.get::<_, i64>(10)? as u32,
                    next_try: r.get(11)?,
                })
            })
            .doing("listing queued uploads")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing queued uploads")
    }

    /// Marks an upload sent: from now on it is checked on the target before
    /// it is sent again.
    pub fn file_push_sent(&mut self, push_id: i64) -> Result<()> {
        let tx = self.conn.write_transaction().doing("marking an upload sent")?;
        tx.execute("UPDATE file_outbox SET sent = 1 WHERE push_id = ?1", [push_id]).doing("marking an upload sent")?;
        tx.commit().doing("marking an upload sent")
    }

    /// Records a failed upload: to be sent again (not before `next_try`).
    pub fn file_push_failed(&mut self, push_id: i64, error: &str, next_try: i64) -> Result<()> {
        let tx = self.conn.write_transaction().doing("recording a failed upload")?;
        tx.execute("UPDATE file_outbox SET sent = 0, attempts = attempts + 1, error = ?2, next_try = ?3 WHERE push_id = ?1", params![push_id, error, next_try])
            .doing("recording a failed upload")?;
        tx.commit().doing("recording a failed upload")
    }

    /// An upload read back on its target: it leaves the outbox and, unless
    /// it kept a conflicting version aside, the pair's file base becomes
    /// its SHA-1 — together.
    pub fn file_push_landed(&mut self, push: &FilePush) -> Result<()> {
        let doing = "settling an upload";
        let tx = self.conn.write_transaction().doing(doing)?;
        tx.execute("DELETE FROM file_outbox WHERE push_id = ?1", [push.push_id]).doing(doing)?;
        if !push.conflict {
            tx.execute("UPDATE sync_pair SET base_file = ?2 WHERE pair_id = ?1", params![push.pair_id, push.sha1]).doing(doing)?;
        }
        tx.commit().doing(doing)
    }
}

#[cfg(test)]
mod tests;
