//! What serving the store over OAI-PMH reads: records in store order
//! (`stored_seq`) with this store's datestamps (`stored_at`), and what
//! each origin declared about itself (its formats and sets).

use rusqlite::{OptionalExtension, params};

use crate::error::{Doing, Error, Result};
use crate::store::{RECORD_COLUMNS, RECORD_HEADER_COLUMNS, Store, StoredRecord, WriteTransaction, record_from_row};
use crate::wiki::{PAGE_FROM, PAGE_SELECT, RevisionRow, StoredPage, page_from_row};

/// A mirrored wiki page as served: the page, its current revision (with
/// its text), and when this store stored that state of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedPage {
    pub page: StoredPage,
    /// The current revision; its `text` is empty when the text is large
    /// (see `large_text`).
    pub revision: Option<RevisionRow>,
    pub stored_seq: i64,
    pub stored_at: i64,
    /// A text over [`INLINE_TEXT`] bytes is not read with the page: its
    /// row and size, for [`Store::read_text`], a part at a time.
    pub large_text: Option<(i64, u64)>,
}

/// Texts up to this size are read with their page when served.
pub const INLINE_TEXT: i64 = 1 << 20;

/// The condition of a wiki's list; `?1` … `?5` are the wiki, after_seq,
/// max_seq, from and until. A page moved aside for a moment (displaced) is
/// not served until its own update settles it.
const WIKI_WHERE: &str = "WHERE p.wiki = ?1 AND p.stored_seq > ?2 AND p.stored_seq <= ?3 AND (?4 IS NULL OR p.stored_at >= ?4)
    AND (?5 IS NULL OR p.stored_at <= ?5) AND p.displaced = 0";

/// A metadata format as an origin's ListMetadataFormats declared it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginFormat {
    pub prefix: String,
    pub schema: String,
    pub namespace: String,
}

/// A set as an origin's ListSets declared it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginSet {
    pub spec: String,
    pub name: String,
}

/// A stored record as served: its content, and when this store stored
/// that version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServedRecord {
    pub record: StoredRecord,
    /// The origin's provenance container, when the origin is a mirror.
    pub provenance: Option<Vec<u8>>,
    /// Orders versions as they were stored; a list walks it.
    pub stored_seq: i64,
    /// Unix seconds: the served datestamp.
    pub stored_at: i64,
}

/// Which records a list takes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServedQuery {
    /// The sources (one repository's, in one format) the list reads.
    pub sources: Vec<i64>,
    /// A set and every set below it (`a` takes `a:b`).
    pub set: Option<String>,
    /// `stored_at` bounds, inclusive.
    pub from: Option<i64>,
    pub until: Option<i64>,
    /// Only versions stored up to here: the store as it was when the list
    /// began, so that walking it while a harvest writes ends, and a version
    /// stored meanwhile comes to the next incremental harvest instead.
    pub max_seq: i64,
    /// Headers only (ListIdentifiers): the metadata is not read.
    pub headers_only: bool,
}

/// The condition of a list; `?1` … `?5` are after_seq, max_seq, from,
/// until and set. One source reads its (source_id, stored_seq) index in
/// order, so a page costs its own rows whatever the store's size. Several
/// sources of one repository and format (harvested by set) may each hold a
/// record: only its newest version below the snapshot bound is listed.
fn served_where(sources: &[i64]) -> String {
    let (sources, newest) = match sources {
        [one] => (format!("source_id = {one}"), String::new()),
        many => {
            let list = many.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            (
                format!("source_id IN ({list})"),
                format!(
                    " AND NOT EXISTS (SELECT 1 FROM record newer WHERE newer.source_id IN ({list}) AND newer.identifier = record.identifier
                       AND newer.stored_seq > record.stored_seq AND newer.stored_seq <= ?2)"
                ),
            )
        }
    };
    format!(
        "WHERE {sources} AND stored_seq > ?1 AND stored_seq <= ?2 AND (?3 IS NULL OR stored_at >= ?3) AND (?4 IS NULL OR stored_at <= ?4)
         AND (?5 IS NULL OR instr(char(10) || sets || char(10), char(10) || ?5 || char(10)) > 0 OR instr(char(10) || sets, char(10) || ?5 || ':') > 0){newest}"
    )
}

impl Store {
    /// The next `limit` pages of a wiki's list, after `after_seq`, each
    /// with its current revision.
    pub fn served_wiki_pages(&self, wiki: &str, after_seq: i64, max_seq: i64, from: Option<i64>, until: Option<i64>, limit: usize) -> Result<Vec<ServedPage>> {
        let sql = format!("{PAGE_SELECT}, p.stored_seq, p.stored_at {PAGE_FROM} {WIKI_WHERE} ORDER BY p.stored_seq LIMIT ?6");
        let mut stmt = self.conn().prepare_cached(&sql).doing("listing served pages")?;
        let rows = stmt
            .query_map(params![wiki, after_seq, max_seq, from, until, limit as i64], |r| Ok((page_from_row(r)?, r.get(8)?, r.get(9)?)))
            .doing("listing served pages")?;
        let pages: Vec<(StoredPage, i64, i64)> = rows.collect::<rusqlite::Result<_>>().doing("listing served pages")?;
        pages.into_iter().map(|(page, stored_seq, stored_at)| self.with_revision(wiki, page, stored_seq, stored_at)).collect()
    }

    pub fn served_wiki_count(&self, wiki: &str, max_seq: i64, from: Option<i64>, until: Option<i64>) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM wiki_page p {WIKI_WHERE}");
        self.conn().query_row(&sql, params![wiki, 0, max_seq, from, until], |r| r.get::<_, i64>(0)).map(|n| n as u64).doing("counting served pages")
    }

    /// One page of a wiki, as served (GetRecord).
    pub fn served_wiki_page(&self, wiki: &str, pageid: u64) -> Result<Option<ServedPage>> {
        let sql = format!("{PAGE_SELECT}, p.stored_seq, p.stored_at {PAGE_FROM} WHERE p.wiki = ?1 AND p.page_id = ?2 AND p.displaced = 0");
        let found = self
            .conn()
            .query_row(&sql, params![wiki, pageid as i64], |r| Ok((page_from_row(r)?, r.get(8)?, r.get(9)?)))
            .optional()
            .doing("reading a served page")?;
        found.map(|(page, seq, at)| self.with_revision(wiki, page, seq, at)).transpose()
    }

    pub fn served_wiki_earliest(&self, wiki: &str) -> Result<Option<i64>> {
        self.conn().query_row("SELECT MIN(stored_at) FROM wiki_page WHERE wiki = ?1", [wiki], |r| r.get(0)).doing("reading the earliest datestamp")
    }

    fn with_revision(&self, wiki: &str, page: StoredPage, stored_seq: i64, stored_at: i64) -> Result<ServedPage> {
        let Some(rev) = page.rev_id else { return Ok(ServedPage { page, revision: None, stored_seq, stored_at, large_text: None }) };
        // A large text is left where it is: SQLite reads a column's value
        // only where the CASE takes it.
        let found = self
            .conn()
            .query_row(
                "SELECT rev_id, parent_id, timestamp, user, comment, sha1, CASE WHEN bytes IS NULL OR bytes <= ?3 THEN text ELSE '' END,
                     minor, user_id, rowid, bytes FROM wiki_revision WHERE wiki = ?1 AND rev_id = ?2",
                params![wiki, rev as i64, INLINE_TEXT],
                |r| {
                    let bytes: Option<i64> = r.get(10)?;
                    let large = bytes.filter(|b| *b > INLINE_TEXT).map(|b| r.get::<_, i64>(9).map(|rowid| (rowid, b as u64)));
                    Ok((crate::wiki::revision_from_row(r)?, large.transpose()?))
                },
            )
            .optional()
            .doing("reading a served revision")?;
        let (revision, large_text) = match found {
            Some((r, large)) => (Some(r), large),
            None => (None, None),
        };
        Ok(ServedPage { page, revision, stored_seq, stored_at, large_text })
    }

    /// Reads a large text (see [`ServedPage::large_text`]) a part of at most
    /// `part` bytes at a time, in order.
    pub fn read_text<E: From<Error>>(&self, rowid: i64, part: usize, mut each: impl FnMut(&[u8]) -> std::result::Result<(), E>) -> std::result::Result<(), E> {
        use std::io::Read;
        let mut blob = self.conn().blob_open(rusqlite::MAIN_DB, "wiki_revision", "text", rowid, true).doing("opening a revision's text")?;
        let mut buf = vec![0u8; part.max(1)];
        loop {
            let n = blob.read(&mut buf).map_err(|e| Error::Metadata { identifier: format!("revision row {rowid}"), detail: e.to_string() })?;
            if n == 0 {
                return Ok(());
            }
            each(&buf[..n])?;
        }
    }
}

/// `source_id` among these.
fn among(sources: &[i64]) -> String {
    format!("source_id IN ({})", sources.iter().map(i64::to_string).collect::<Vec<_>>().join(","))
}

impl Store {
    /// Replaces what an origin declared about itself, in one transaction.
    pub fn save_origin_description(&mut self, base_url: &str, formats: &[OriginFormat], sets: &[OriginSet]) -> Result<()> {
        let tx = self.conn_mut().write_transaction().doing("saving the origin's formats and sets")?;
        tx.execute("DELETE FROM origin_format WHERE base_url = ?1", [base_url]).doing("saving the origin's formats")?;
        tx.execute("DELETE FROM origin_set WHERE base_url = ?1", [base_url]).doing("saving the origin's sets")?;
        for f in formats {
            tx.execute(
                "INSERT OR REPLACE INTO origin_format (base_url, prefix, schema, namespace) VALUES (?1, ?2, ?3, ?4)",
                params![base_url, f.prefix, f.schema, f.namespace],
            )
            .doing("saving the origin's formats")?;
        }
        for s in sets {
            tx.execute("INSERT OR REPLACE INTO origin_set (base_url, spec, name) VALUES (?1, ?2, ?3)", params![base_url, s.spec, s.name])
                .doing("saving the origin's sets")?;
        }
        tx.commit().doing("saving the origin's formats and sets")
    }

    pub fn origin_formats(&self, base_url: &str) -> Result<Vec<OriginFormat>> {
        let mut stmt =
            self.conn().prepare("SELECT prefix, schema, namespace FROM origin_format WHERE base_url = ?1 ORDER BY prefix").doing("reading formats")?;
        let rows = stmt.query_map([base_url], |r| Ok(OriginFormat { prefix: r.get(0)?, schema: r.get(1)?, namespace: r.get(2)? })).doing("reading formats")?;
        rows.collect::<rusqlite::Result<_>>().doing("reading formats")
    }

    pub fn origin_sets(&self, base_url: &str) -> Result<Vec<OriginSet>> {
        let mut stmt = self.conn().prepare("SELECT spec, name FROM origin_set WHERE base_url = ?1 ORDER BY spec").doing("reading sets")?;
        let rows = stmt.query_map([base_url], |r| Ok(OriginSet { spec: r.get(0)?, name: r.get(1)? })).doing("reading sets")?;
        rows.collect::<rusqlite::Result<_>>().doing("reading sets")
    }

    /// The last store sequence number given out: where a new list stops.
    pub fn last_stored_seq(&self) -> Result<i64> {
        self.conn().query_row("SELECT last_seq FROM store_clock WHERE id = 1", [], |r| r.get(0)).doing("reading the store clock")
    }

    /// The next `limit` records of a list, after `after_seq`.
    pub fn served_page(&self, q: &ServedQuery, after_seq: i64, limit: usize) -> Result<Vec<ServedRecord>> {
        let columns = if q.headers_only { RECORD_HEADER_COLUMNS } else { RECORD_COLUMNS };
        let sql = format!(
            "{}, stored_seq, stored_at, provenance FROM record {} ORDER BY stored_seq LIMIT ?6",
            columns.trim_end_matches(" FROM record"),
            served_where(&q.sources)
        );
        let mut stmt = self.conn().prepare_cached(&sql).doing("listing served records")?;
        let mut rows = stmt.query(params![after_seq, q.max_seq, q.from, q.until, q.set, limit as i64]).doing("listing served records")?;
        let mut out = Vec::with_capacity(limit.min(1024));
        while let Some(row) = rows.next().doing("listing served records")? {
            let stored_seq: i64 = row.get(10).doing("listing served records")?;
            let stored_at: i64 = row.get(11).doing("listing served records")?;
            let provenance: Option<Vec<u8>> = if q.headers_only { None } else { row.get(12).doing("listing served records")? };
            let record = self.unpack(record_from_row(row).doing("listing served records")?)?;
            out.push(ServedRecord { record, provenance, stored_seq, stored_at });
        }
        Ok(out)
    }

    /// How many records the whole list holds (its `completeListSize`).
    pub fn served_count(&self, q: &ServedQuery) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM record {}", served_where(&q.sources));
        self.conn().query_row(&sql, params![0, q.max_seq, q.from, q.until, q.set], |r| r.get::<_, i64>(0)).map(|n| n as u64).doing("counting served records")
    }

    /// One record of these sources, as served (GetRecord).
    pub fn served_record(&self, sources: &[i64], identifier: &str) -> Result<Option<ServedRecord>> {
        let sql = format!(
            "{}, stored_seq, stored_at, provenance FROM record WHERE {} AND identifier = ?1 ORDER BY stored_seq DESC LIMIT 1",
            RECORD_COLUMNS.trim_end_matches(" FROM record"),
            among(sources)
        );
        let found = self
            .conn()
            .query_row(&sql, params![identifier], |row| Ok((record_from_row(row)?, row.get::<_, i64>(10)?, row.get::<_, i64>(11)?, row.get(12)?)))
            .optional()
            .doing("reading a served record")?;
        match found {
            Some((row, stored_seq, stored_at, provenance)) => Ok(Some(ServedRecord { record: self.unpack(row)?, provenance, stored_seq, stored_at })),
            None => Ok(None),
        }
    }

    /// The sources among these that hold `identifier` (ListMetadataFormats
    /// with an identifier).
    pub fn sources_holding(&self, sources: &[i64], identifier: &str) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn()
            .prepare(&format!("SELECT DISTINCT source_id FROM record WHERE {} AND identifier = ?1", among(sources)))
            .doing("finding a record's formats")?;
        let rows = stmt.query_map(params![identifier], |r| r.get(0)).doing("finding a record's formats")?;
        rows.collect::<rusqlite::Result<_>>().doing("finding a record's formats")
    }

    /// The earliest served datestamp of these sources.
    pub fn served_earliest(&self, sources: &[i64]) -> Result<Option<i64>> {
        self.conn().query_row(&format!("SELECT MIN(stored_at) FROM record WHERE {}", among(sources)), [], |r| r.get(0)).doing("reading the earliest datestamp")
    }
}

#[cfg(test)]
mod tests;
