//! What MediaWiki XML packages read and record: a wiki's pages changed
//! between two store sequences with their state before, the revisions
//! stored since, and which packages were exported and imported.

use rusqlite::{OptionalExtension, params};

use crate::error::{Doing, Error, Result};
use crate::store::Store;
use crate::wiki::{PAGE_FROM, PAGE_SELECT, REVISION_COLUMNS, RevisionRow, StoredPage, WikiWrite, page_from_row, revision_from_row};

/// A page's title and deletion at some store sequence.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoggedState {
    pub ns: i64,
    pub title: String,
    pub deleted: bool,
}

/// A page changed since a sequence: as it is now, and as it was then
/// (`None`: the store did not hold it then).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangedPage {
    pub now: StoredPage,
    pub before: Option<LoggedState>,
}

/// The packages this store exported of one wiki.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportStream {
    pub stream: String,
    pub last_sequence: u64,
    /// The store sequence the last package reached.
    pub last_end_seq: i64,
}

/// The last package this store imported into one wiki.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportState {
    pub stream: String,
    pub origin: String,
    pub sequence: u64,
    pub end_seq: i64,
    /// In a sync by packages: the last package of this store's own that
    /// the other site said it had applied (sequence, end), if any.
    pub acked: Option<(u64, i64)>,
}

impl Store {
    /// Runs `f` on one snapshot of the store: everything it reads is as of
    /// one moment, whatever other connections commit meanwhile.
    /// Runs `f` in one write transaction, taken when it begins (`BEGIN
    /// IMMEDIATE`): everything `f` reads and writes through the store is
    /// one step, committed if `f` returns `Ok`, rolled back otherwise.
    pub fn in_write<T, E: From<Error>>(&self, f: impl FnOnce(&Store) -> std::result::Result<T, E>) -> std::result::Result<T, E> {
        let tx = rusqlite::Transaction::new_unchecked(self.conn(), rusqlite::TransactionBehavior::Immediate).doing("starting a write")?;
        let out = f(self)?;
        tx.commit().doing("committing a write")?;
        Ok(out)
    }

    pub fn in_snapshot<T, E: From<Error>>(&self, f: impl FnOnce(&Store) -> std::result::Result<T, E>) -> std::result::Result<T, E> {
        let tx = self.conn().unchecked_transaction().doing("starting a read")?;
        let out = f(self)?;
        tx.commit().doing("ending a read")?;
        Ok(out)
    }

    /// Each page of `wiki` changed after store sequence `after` (every page
    /// for 0), by page id, with its state at `after`. One page at a time.
    pub fn for_each_changed_page<E: From<Error>>(
        &self,
        wiki: &str,
        after: i64,
        mut f: impl FnMut(ChangedPage) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        let sql = format!(
            "{PAGE_SELECT}, l.ns, l.title, l.deleted {PAGE_FROM}
             LEFT JOIN wiki_page_log l ON l.wiki = p.wiki AND l.page_id = p.page_id
                 AND l.seq = (SELECT MAX(seq) FROM wiki_page_log WHERE wiki = p.wiki AND page_id = p.page_id AND seq <= ?2)
             WHERE p.wiki = ?1 AND p.stored_seq > ?2 ORDER BY p.page_id"
        );
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql).doing("listing changed pages")?;
        let mut rows = stmt.query(params![wiki, after]).doing("listing changed pages")?;
        while let Some(row) = rows.next().doing("listing changed pages")? {
            let now = page_from_row(row).doing("reading a page")?;
            let before = match row.get::<_, Option<i64>>(8).doing("reading a page")? {
                Some(ns) if after > 0 => Some(LoggedState { ns, title: row.get(9).doing("reading a page")?, deleted: row.get(10).doing("reading a page")? }),
                _ => None,
            };
            f(ChangedPage { now, before })?;
        }
        Ok(())
    }

    /// A page's revisions stored after sequence `after` (all of them for
    /// `None`), oldest first.
    pub fn wiki_revisions_stored_after(&self, wiki: &str, pageid: u64, after: Option<i64>) -> Result<Vec<RevisionRow>> {
        let mut stmt = self
            .conn()
            .prepare_cached(&format!("SELECT {REVISION_COLUMNS} FROM wiki_revision WHERE wiki = ?1 AND page_id = ?2 AND stored_seq > ?3 ORDER BY rev_id"))
            .doing("listing revisions")?;
        let rows = stmt.query_map(params![wiki, pageid as i64, after.unwrap_or(-1)], revision_from_row).doing("listing revisions")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing revisions")
    }

    pub fn package_export_stream(&self, wiki: &str) -> Result<Option<ExportStream>> {
        self.conn()
            .query_row("SELECT stream, last_sequence, last_end_seq FROM package_export WHERE wiki = ?1", [wiki], |r| {
                Ok(ExportStream { stream: r.get(0)?, last_sequence: r.get::<_, i64>(1)? as u64, last_end_seq: r.get(2)? })
            })
            .optional()
            .doing("reading the packages exported")
    }

    /// Records that package `sequence` of `stream`, reaching store sequence
    /// `end_seq`, was written for `wiki` (the stream is made on the first
    /// export and never changes; the highest sequence is kept).
    pub fn record_package_export(&mut self, wiki: &str, stream: &str, sequence: u64, end_seq: i64) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO package_export (wiki, stream, last_sequence, last_end_seq) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (wiki) DO UPDATE SET last_sequence = excluded.last_sequence, last_end_seq = excluded.last_end_seq
                     WHERE excluded.last_sequence > last_sequence",
                params![wiki, stream, sequence as i64, end_seq],
            )
            .doing("recording a package exported")?;
        Ok(())
    }

    pub fn package_import_state(&self, wiki: &str) -> Result<Option<ImportState>> {
        import_state(self.conn(), wiki)
    }

    /// The store sequence of the last change of any page of `wiki` (0: none).
    pub fn wiki_last_change(&self, wiki: &str) -> Result<i64> {
        self.conn().query_row("SELECT COALESCE(MAX(stored_seq), 0) FROM wiki_page WHERE wiki = ?1", [wiki], |r| r.get(0)).doing("reading a wiki's last change")
    }
}

fn import_state(conn: &rusqlite::Connection, wiki: &str) -> Result<Option<ImportState>> {
    conn.query_row("SELECT stream, origin, sequence, end_seq, acked_sequence, acked_end FROM package_import WHERE wiki = ?1", [wiki], |r| {
        let acked: i64 = r.get(4)?;
        Ok(ImportState {
            stream: r.get(0)?,
            origin: r.get(1)?,
            sequence: r.get::<_, i64>(2)? as u64,
            end_seq: r.get(3)?,
            acked: (acked > 0).then_some((acked as u64, r.get(5)?)),
        })
    })
    .optional()
    .doing("reading the packages imported")
}

impl WikiWrite<'_> {
    /// [`Store::package_import_state`] under this write's lock: what it
    /// says cannot change before [`finish`](WikiWrite::finish).
    pub fn package_import_state(&self) -> Result<Option<ImportState>> {
        import_state(&self.tx, &self.wiki)
    }

    /// The page a stored revision of this wiki belongs to, if it is stored.
    pub fn revision_page(&self, revid: u64) -> Result<Option<u64>> {
        self.tx
            .query_row("SELECT page_id FROM wiki_revision WHERE wiki = ?1 AND rev_id = ?2", params![self.wiki, revid as i64], |r| r.get::<_, i64>(0))
            .optional()
            .doing("looking up a revision")
            .map(|p| p.map(|p| p as u64))
    }

    /// The ids of the wiki's live pages.
    pub fn live_page_ids(&self) -> Result<Vec<u64>> {
        let mut stmt = self.tx.prepare("SELECT page_id FROM wiki_page WHERE wiki = ?1 AND deleted = 0 ORDER BY page_id").doing("listing pages")?;
        let rows = stmt.query_map([&self.wiki], |r| r.get::<_, i64>(0).map(|v| v as u64)).doing("listing pages")?;
        rows.collect::<rusqlite::Result<_>>().doing("listing pages")
    }

    /// Records the package applied by this write; committed with it.
    pub fn record_package_import(&self, state: &ImportState, now: i64) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO package_import (wiki, stream, origin, sequence, end_seq, acked_sequence, acked_end, applied_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (wiki) DO UPDATE SET stream = excluded.stream, origin = excluded.origin, sequence = excluded.sequence,
                     end_seq = excluded.end_seq, acked_sequence = excluded.acked_sequence, acked_end = excluded.acked_end,
                     applied_at = excluded.applied_at",
                params![
                    self.wiki,
                    state.stream,
                    state.origin,
                    state.sequence as i64,
                    state.end_seq,
                    state.acked.map_or(0, |a| a.0 as i64),
                    state.acked.map_or(0, |a| a.1),
                    now
                ],
            )
            .doing("recording a package imported")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
