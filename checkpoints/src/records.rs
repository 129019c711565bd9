//! Getting records out: every matching record, the latest version of each,
//! streamed without loading them all; and forgetting a source.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use crate::error::{Doing, Error, Result};
use crate::store::{RECORD_COLUMNS, RECORD_HEADER_COLUMNS, Source, SourceKey, Store, StoredRecord, WriteTransaction, record_from_row};

/// Which deleted records a listing takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Deleted {
    /// Live and deleted records alike.
    #[default]
    Include,
    Exclude,
    Only,
}

/// Which records [`Store::for_each_latest`] streams.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// These sources' records; empty: every source's.
    pub sources: Vec<i64>,
    /// Only sources harvested with this metadataPrefix.
    pub prefix: Option<String>,
    /// Only records in this set or one below it (`a` takes `a:b`), as
    /// OAI-PMH's selective harvesting by set does.
    pub set: Option<String>,
    /// Only records whose datestamp is at or after this (Unix seconds).
    pub from_unix: Option<i64>,
    /// Only records whose datestamp is at or before this (Unix seconds).
    pub until_unix: Option<i64>,
    pub deleted: Deleted,
    /// Only versions stored after the first store sequence and up to the
    /// second (a cursor's position and the store's newest when it began).
    pub stored: Option<(i64, i64)>,
}

impl RecordFilter {
    fn takes_sets(&self, sets: &[String]) -> bool {
        match &self.set {
            None => true,
            Some(want) => sets.iter().any(|s| s == want || s.strip_prefix(want.as_str()).is_some_and(|rest| rest.starts_with(':'))),
        }
    }
}

/// Sources that hold copies of one repository's records in one format
/// (harvested by different sets): a record is listed once for all of them.
fn groups(sources: Vec<Source>) -> Vec<Vec<i64>> {
    let mut out: Vec<(String, String, Vec<i64>)> = Vec::new();
    for s in sources {
        match out.iter_mut().find(|(url, prefix, _)| *url == s.key.base_url && *prefix == s.key.metadata_prefix) {
            Some((_, _, ids)) => ids.push(s.id),
            None => out.push((s.key.base_url, s.key.metadata_prefix, vec![s.id])),
        }
    }
    out.into_iter().map(|(_, _, ids)| ids).collect()
}

impl Store {
    /// The source with exactly this key, if it is harvested (not
    /// forgotten); unlike [`Store::source`], never creates one.
    pub fn find_source(&self, key: &SourceKey) -> Result<Option<Source>> {
        let set = key.set_spec.clone().unwrap_or_default();
        self.conn()
            .query_row(
                "SELECT id, granularity, next_from FROM source WHERE base_url = ?1 AND metadata_prefix = ?2 AND set_spec = ?3 AND forgotten_at IS NULL",
                params![key.base_url, key.metadata_prefix, set],
                |r| Ok(Source { id: r.get(0)?, key: key.clone(), granularity: r.get(1)?, next_from: r.get(2)? }),
            )
            .optional()
            .doing("looking up a source")
    }

    /// Where the cursor `name` stands in the store's order (`None`: it
    /// has not been used).
    pub fn cat_cursor(&self, name: &str) -> Result<Option<i64>> {
        self.conn().query_row("SELECT stored_seq FROM cat_cursor WHERE name = ?1", [name], |r| r.get(0)).optional().doing("reading a cursor")
    }

    /// Moves the cursor `name` to `stored_seq`.
    pub fn set_cat_cursor(&self, name: &str, stored_seq: i64, now: i64) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO cat_cursor (name, stored_seq, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO UPDATE SET stored_seq = excluded.stored_seq, updated_at = excluded.updated_at",
                params![name, stored_seq, now],
            )
            .doing("moving a cursor")
            .map(drop)
    }

    /// Calls `each` with the latest version of every record `filter` takes,
    /// metadata included, in identifier order per repository; stops when
    /// `each` returns false. A record held by several sources of one
    /// repository and format (harvested by set) comes once, at its newest
    /// datestamp. Memory stays flat: rows are read one at a time.
    pub fn for_each_latest(&self, filter: &RecordFilter, each: impl FnMut(StoredRecord) -> bool) -> Result<()> {
        self.stream(filter, RECORD_COLUMNS, true, each)
    }

    /// Every stored copy `filter` takes (one per source that holds it),
    /// without metadata: for listings.
    pub fn for_each_record_header_filtered(&self, filter: &RecordFilter, each: impl FnMut(StoredRecord) -> bool) -> Result<()> {
        self.stream(filter, RECORD_HEADER_COLUMNS, false, each)
    }

    fn stream(&self, filter: &RecordFilter, columns: &str, latest: bool, mut each: impl FnMut(StoredRecord) -> bool) -> Result<()> {
        let sources: Vec<Source> = self
            .sources()?
            .into_iter()
            .filter(|s| filter.sources.is_empty() || filter.sources.contains(&s.id))
            .filter(|s| filter.prefix.as_ref().is_none_or(|p| *p == s.key.metadata_prefix))
            .collect();
        let deleted = match filter.deleted {
            Deleted::Include => "",
            Deleted::Exclude => " AND deleted = 0",
            Deleted::Only => " AND deleted = 1",
        };
        let groups = if latest { groups(sources) } else { sources.into_iter().map(|s| vec![s.id]).collect() };
        for group in groups {
            let ids = group.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            // One source reads in its (source_id, identifier) index order;
            // several are merged by identifier, newest first, and repeats
            // skipped.
            let order = if group.len() == 1 { "identifier" } else { "identifier, datestamp_unix DESC" };
            let sql = format!(
                "{columns} WHERE source_id IN ({ids}) AND (?1 IS NULL OR datestamp_unix >= ?1) AND (?2 IS NULL OR datestamp_unix <= ?2){deleted}
                 AND (?3 IS NULL OR stored_seq > ?3) AND (?4 IS NULL OR stored_seq <= ?4)
                 ORDER BY {order}"
            );
            let mut stmt = self.conn().prepare(&sql).doing("listing records")?;
            let (after, upto) = filter.stored.unzip();
            let mut rows = stmt.query(params![filter.from_unix, filter.until_unix, after, upto]).doing("listing records")?;
            let mut previous: Option<String> = None;
            while let Some(row) = rows.next().doing("listing records")? {
                let row = record_from_row(row).doing("listing records")?;
                let record = &row.record;
                if previous.as_deref() == Some(record.identifier.as_str()) || !filter.takes_sets(&record.sets) {
                    continue;
                }
                if group.len() > 1 {
                    previous = Some(record.identifier.clone());
                }
                if !each(self.unpack(row)?) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// Forgets a source, in one transaction: its runs, dictionaries and
    /// metadata go, and each of its records stays only as a deletion (its
    /// identifier, sets and datestamp), stored anew, so that a harvester of
    /// the served repository learns of it as Identify promises
    /// (`deletedRecord=persistent`). The source is no longer listed;
    /// harvesting it again brings it back. Returns how many records it had.
    pub fn forget_source(&mut self, source_id: i64, now: i64) -> Result<u64> {
        let clock = self.clock.clone();
        let tx = self.conn_mut().write_transaction().doing("forgetting a source")?;
        let records: i64 =
            tx.query_row("SELECT COUNT(*) FROM record WHERE source_id = ?1", [source_id], |r| r.get(0)).doing("counting the source's records")?;
        let live: Vec<i64> = tx
            .prepare("SELECT id FROM record WHERE source_id = ?1 AND deleted = 0 ORDER BY id")
            .and_then(|mut q| q.query_map([source_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>())
            .doing("listing the source's records")?;
        tx.execute("UPDATE record SET metadata = NULL, metadata_codec = 'raw', metadata_dictionary = NULL WHERE source_id = ?1", [source_id])
            .doing("removing the source's metadata")?;
        let (mut seq, last_at): (i64, i64) = crate::store::read_store_clock(&tx)?;
        let stored_at = Store::store_time(&clock, last_at);
        {
            let mut mark = tx.prepare("UPDATE record SET deleted = 1, stored_seq = ?2, stored_at = ?3 WHERE id = ?1").doing("marking a record deleted")?;
            let mut indexed = crate::search::RecordIndex::new(&tx)?;
            for id in live {
                seq += 1;
                mark.execute(params![id, seq, stored_at]).doing("marking a record deleted")?;
                indexed.set(id, None)?;
            }
        }
        tx.execute("UPDATE store_clock SET last_seq = ?1, last_at = ?2 WHERE id = 1", params![seq, stored_at]).doing("saving the store clock")?;
        tx.execute("DELETE FROM run WHERE source_id = ?1", [source_id]).doing("deleting the source's runs")?;
        tx.execute("DELETE FROM metadata_dictionary WHERE source_id = ?1", [source_id]).doing("deleting the source's dictionaries")?;
        tx.execute("UPDATE source SET forgotten_at = ?2, next_from = NULL, granularity = NULL WHERE id = ?1", params![source_id, now])
            .doing("forgetting the source")?;
        tx.commit().doing("forgetting a source")?;
        self.packers.remove(&source_id);
        Ok(records as u64)
    }

    /// The served names given so far, by origin base URL.
    pub fn served_names(&self) -> Result<HashMap<String, String>> {
        let mut stmt = self.conn().prepare("SELECT base_url, name FROM served_name").doing("reading served names")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).doing("reading served names")?;
        rows.collect::<rusqlite::Result<_>>().doing("reading served names")
    }

    /// The served name of `base_url`: the one it was given, else the first
    /// of `wanted` no other repository has, else the last with `-2`, `-3` …
    pub fn claim_served_name(&mut self, base_url: &str, wanted: &[String]) -> Result<String> {
        let given = |conn: &rusqlite::Connection| -> Result<Option<String>> {
            conn.query_row("SELECT name FROM served_name WHERE base_url = ?1", [base_url], |r| r.get(0)).optional().doing("reading a served name")
        };
        // Named already (every harvest after the first): no write lock taken.
        if let Some(name) = given(self.conn())? {
            return Ok(name);
        }
        let tx = self.conn_mut().write_transaction().doing("naming a served repository")?;
        if let Some(name) = given(&tx)? {
            return Ok(name);
        }
        let taken = |name: &str| -> Result<bool> {
            tx.query_row("SELECT 1 FROM served_name WHERE name = ?1", [name], |_| Ok(())).optional().doing("reading a served name").map(|f| f.is_some())
        };
        let chosen = pick_served_name(wanted, taken)?;
        tx.execute("INSERT INTO served_name (base_url, name) VALUES (?1, ?2)", params![base_url, chosen]).doing("saving a served name")?;
        tx.commit().doing("naming a served repository")?;
        Ok(chosen)
    }

    /// Renames a served repository: its harvesters must be told the new
    /// base URL (the old one answers 404, its resumption tokens with it).
    pub fn rename_served(&self, old: &str, new: &str) -> Result<bool> {
        match self.conn().execute("UPDATE served_name SET name = ?2 WHERE name = ?1", params![old, new]) {
            Ok(n) => Ok(n == 1),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) => Err(Error::NameTaken(new.to_string())),
            Err(source) => Err(Error::Sqlite { doing: "renaming a served repository".into(), source }),
        }
    }
}

/// The first of `wanted` not `taken`, else the last with `-2`, `-3` …:
/// how a served repository gets its name (see [`Store::claim_served_name`]).
pub fn pick_served_name<E>(wanted: &[String], mut taken: impl FnMut(&str) -> std::result::Result<bool, E>) -> std::result::Result<String, E> {
    for w in wanted {
        if !taken(w)? {
            return Ok(w.clone());
        }
    }
    let base = wanted.last().cloned().unwrap_or_else(|| "repository".into());
    let mut n = 2;
    while taken(&format!("{base}-{n}"))? {
        n += 1;
    }
    Ok(format!("{base}-{n}"))
}

#[cfg(test)]
mod tests;
