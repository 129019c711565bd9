//! The slices of a run harvested in parallel: its range cut into parts,
//! each harvested at once with the others and each with its own position.
//!
//! A slice is split only before any page of it is stored (a slice begun is
//! followed to its end), and the split replaces it by its halves in one
//! transaction, so a crash leaves either the slice or its halves, never
//! both. Pages of a slice move it with [`Store::commit_pages`]
//! ([`crate::PageCommit::slice`]).

use rusqlite::params;

use crate::error::{Doing, Error, Result};
use crate::store::{Store, WriteTransaction};

/// A part of a parallel run's range. `from`/`until` are inclusive, in the
/// repository's datestamp form; `None` is open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slice {
    pub id: i64,
    pub from: Option<String>,
    pub until: Option<String>,
    /// The next page's token; `None`: the slice's first page (or it is done).
    pub token: Option<String>,
    pub done: bool,
}

impl Slice {
    /// Whether none of its pages is stored yet (it may still be split).
    pub fn untouched(&self) -> bool {
        self.token.is_none() && !self.done
    }
}

/// A range to harvest as one slice.
pub type SliceRange = (Option<String>, Option<String>);

impl Store {
    /// Gives a run its slices, in order; replaces any it has.
    pub fn plan_slices(&mut self, run_id: i64, ranges: &[SliceRange]) -> Result<Vec<Slice>> {
        let tx = self.conn_mut().write_transaction().doing("planning slices")?;
        tx.execute("DELETE FROM run_slice WHERE run_id = ?1", [run_id]).doing("planning slices")?;
        {
            let mut insert = tx.prepare_cached("INSERT INTO run_slice (run_id, slice_from, slice_until) VALUES (?1, ?2, ?3)").doing("planning slices")?;
            for (from, until) in ranges {
                insert.execute(params![run_id, from, until]).doing("planning slices")?;
            }
        }
        tx.commit().doing("planning slices")?;
        self.slices(run_id)
    }

    /// A run's slices, in the order of their ranges.
    pub fn slices(&self, run_id: i64) -> Result<Vec<Slice>> {
        let mut q = self
            .conn()
            .prepare_cached("SELECT id, slice_from, slice_until, token, done FROM run_slice WHERE run_id = ?1 ORDER BY slice_from IS NOT NULL, slice_from, id")
            .doing("reading slices")?;
        let rows = q
            .query_map([run_id], |r| Ok(Slice { id: r.get(0)?, from: r.get(1)?, until: r.get(2)?, token: r.get(3)?, done: r.get(4)? }))
            .doing("reading slices")?;
        rows.collect::<rusqlite::Result<_>>().doing("reading slices")
    }

    /// Replaces an untouched slice by two halves; refused once a page of
    /// it is stored.
    pub fn split_slice(&mut self, run_id: i64, slice_id: i64, halves: [SliceRange; 2]) -> Result<[Slice; 2]> {
        let tx = self.conn_mut().write_transaction().doing("splitting a slice")?;
        let removed = tx
            .execute("DELETE FROM run_slice WHERE id = ?1 AND run_id = ?2 AND token IS NULL AND done = 0", params![slice_id, run_id])
            .doing("splitting a slice")?;
        if removed != 1 {
            return Err(Error::NoSuchSlice { run: run_id, slice: slice_id });
        }
        let mut out = Vec::with_capacity(2);
        for (from, until) in halves {
            tx.execute("INSERT INTO run_slice (run_id, slice_from, slice_until) VALUES (?1, ?2, ?3)", params![run_id, from, until])
                .doing("splitting a slice")?;
            out.push(Slice { id: tx.last_insert_rowid(), from, until, token: None, done: false });
        }
        tx.commit().doing("splitting a slice")?;
        let [a, b]: [Slice; 2] = out.try_into().expect("two halves");
        Ok([a, b])
    }

    /// Starts a slice again from its first page: its token was refused.
    pub fn restart_slice(&self, run_id: i64, slice_id: i64, error: &str) -> Result<()> {
        let changed = self
            .conn()
            .execute("UPDATE run_slice SET token = NULL, done = 0 WHERE id = ?1 AND run_id = ?2", params![slice_id, run_id])
            .doing("restarting a slice")?;
        if changed != 1 {
            return Err(Error::NoSuchSlice { run: run_id, slice: slice_id });
        }
        self.restart_window(run_id, error)
    }

    /// The responseDate the run counts as its start, set once: a parallel
    /// run's pages are stored out of order, so the first stored is not the
    /// first asked for.
    pub fn set_run_start(&self, run_id: i64, response_date: &str) -> Result<()> {
        self.conn()
            .execute("UPDATE run SET server_started = COALESCE(server_started, ?2) WHERE id = ?1", params![run_id, response_date])
            .doing("noting the run's start")
            .map(drop)
    }
}
