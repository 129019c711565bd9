//! Harvest runs: a run's plan, its position and tally, and the pages it
//! commits, each in one transaction with the position after it.

use std::borrow::Cow;

use rusqlite::{Connection, OptionalExtension, params};

use crate::compress::{self, Codec, PackedPage, Packer};
use crate::error::{Doing, Error, Result};
use crate::store::{Source, Store, WriteTransaction};

/// The range a run covers and how it is cut into windows. Dates are in the
/// repository's own datestamp form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunPlan {
    pub range_from: Option<String>,
    pub range_until: Option<String>,
    pub window: Option<String>,
    /// Harvested in slices of the range, this many at once (see [`crate::slices`]).
    pub parallel: Option<u32>,
}

/// Where a run stands: the window in flight and the token of its next page
/// (`None`: the window's first page).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub window_from: Option<String>,
    pub window_until: Option<String>,
    pub token: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// In progress, or interrupted: a later harvest resumes it.
    Running,
    Completed,
    /// Replaced by a run with another plan.
    Abandoned,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Completed => "completed",
            RunState::Abandoned => "abandoned",
        }
    }
    fn parse(s: &str) -> RunState {
        match s {
            "completed" => RunState::Completed,
            "abandoned" => RunState::Abandoned,
            _ => RunState::Running,
        }
    }
}

/// What a run has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub pages: u64,
    pub records: u64,
    pub deleted: u64,
    pub repairs: u64,
    pub requests: u64,
    pub restarts: u64,
    /// Records left out for a header without identifier or datestamp.
    pub skipped: u64,
    /// Pages decoded from an encoding other than UTF-8.
    pub transcoded: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub source_id: i64,
    pub state: RunState,
    pub plan: RunPlan,
    pub position: Position,
    pub server_started: Option<String>,
    pub tally: Tally,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub last_error: Option<String>,
}

/// A record as delivered, to be upserted.
#[derive(Clone, Copy, Debug)]
pub struct RecordIn<'a> {
    pub identifier: &'a str,
    pub datestamp: &'a str,
    /// The datestamp as Unix seconds, for comparing day and seconds forms.
    pub datestamp_unix: i64,
    pub deleted: bool,
    pub sets: &'a [String],
    pub metadata: Option<&'a [u8]>,
    /// The record's OAI-PMH provenance container as the origin sent it, if
    /// it had one (the origin is itself a mirror); served nested.
    pub about: Option<&'a [u8]>,
    /// What search finds it by, for a source whose records are indexed;
    /// `None`: not indexed (a deleted record's entry goes whatever this says).
    pub text: Option<&'a crate::search::RecordText>,
}

/// What one page brings: its records, the position after it, and what it cost.
#[derive(Clone, Debug)]
pub struct PageCommit<'a> {
    pub records: Vec<RecordIn<'a>>,
    /// Where the run goes on from.
    pub next: Position,
    /// HTTP requests made for this page, retries included.
    pub requests: u64,
    pub repairs: u64,
    /// Records of the page left out (see [`Tally::skipped`]).
    pub skipped: u64,
    /// Whether the page came in another encoding than UTF-8.
    pub transcoded: bool,
    /// The responseDate of this page; kept as the run's start if it is the first.
    pub response_date: Option<String>,
    /// The slice of a parallel run the page belongs to: `next` is then that
    /// slice's position (its token; `None` once the slice is done).
    pub slice: Option<i64>,
    /// The records' metadata already packed, in order ([`crate::compress::Packer::pack_page`]);
    /// `None`: packed here, as the store's own dictionary for the source says.
    pub packed: Option<&'a PackedPage>,
    pub now: i64,
}

impl<'a> PageCommit<'a> {
    /// A page of `records` fetched with one request, with nothing else to
    /// tell: no position after it, no repairs, no slice, packed by the store.
    pub fn of_records(records: Vec<RecordIn<'a>>, now: i64) -> PageCommit<'a> {
        PageCommit {
            records,
            next: Position::default(),
            requests: 1,
            repairs: 0,
            skipped: 0,
            transcoded: false,
            response_date: None,
            slice: None,
            packed: None,
            now,
        }
    }
}

impl Store {
    /// The source's interrupted run, if it has one.
    pub fn open_run(&self, source_id: i64) -> Result<Option<Run>> {
        self.conn
            .query_row(&format!("{RUN_COLUMNS} WHERE source_id = ?1 AND state = 'running' ORDER BY id DESC LIMIT 1"), [source_id], run_from_row)
            .optional()
            .doing("looking for an interrupted run")
    }

    pub fn last_run(&self, source_id: i64) -> Result<Option<Run>> {
        self.conn
            .query_row(&format!("{RUN_COLUMNS} WHERE source_id = ?1 ORDER BY id DESC LIMIT 1"), [source_id], run_from_row)
            .optional()
            .doing("reading the last run")
    }

    pub fn run(&self, run_id: i64) -> Result<Run> {
        self.conn.query_row(&format!("{RUN_COLUMNS} WHERE id = ?1"), [run_id], run_from_row).optional().doing("reading a run")?.ok_or(Error::NoSuchRun(run_id))
    }

    /// Starts a run; any interrupted run of the source is abandoned.
    pub fn start_run(&mut self, source_id: i64, plan: &RunPlan, start: &Position, now: i64) -> Result<Run> {
        let tx = self.conn.write_transaction().doing("starting a run")?;
        tx.execute("UPDATE run SET state = 'abandoned', finished_at = ?2 WHERE source_id = ?1 AND state = 'running'", params![source_id, now])
            .doing("abandoning an interrupted run")?;
        tx.execute(
            "INSERT INTO run (source_id, state, started_at, range_from, range_until, window, window_from, window_until, token, parallel)
             VALUES (?1, 'running', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![source_id, now, plan.range_from, plan.range_until, plan.window, start.window_from, start.window_until, start.token, plan.parallel],
        )
        .doing("starting a run")?;
        let id = tx.last_insert_rowid();
        tx.commit().doing("starting a run")?;
        self.run(id)
    }

    /// Stores one page in one transaction: its records and the position
    /// after it. A crash before the commit loses the page and its position
    /// together; after, both are kept. So a resumed run neither skips nor
    /// repeats a page.
    pub fn commit_page(&mut self, run_id: i64, page: &PageCommit<'_>) -> Result<()> {
        self.commit_pages(run_id, std::slice::from_ref(page))
    }

    /// Stores consecutive pages in one transaction, in order, each with
    /// the position after it, so the run is left at the last one's. The
    /// same guarantee as [`Store::commit_page`], for a group: a writer that
    /// has fallen behind the network commits what is waiting at once,
    /// paying for one commit instead of several.
    pub fn commit_pages(&mut self, run_id: i64, pages: &[PageCommit<'_>]) -> Result<()> {
        let tx = self.conn.write_transaction().doing("storing a page")?;
        // Under the write lock: the store's sequence and time go on from
        // the last ones given out, and its time never goes back.
        let (mut seq, last_at): (i64, i64) = crate::store::read_store_clock(&tx)?;
        let source_id: i64 = tx
            .prepare_cached("SELECT source_id FROM run WHERE id = ?1")
            .and_then(|mut q| q.query_row([run_id], |r| r.get(0)).optional())
            .doing("storing a page")?
            .ok_or(Error::NoSuchRun(run_id))?;
        // A dictionary made here is only kept for later groups once this
        // transaction, which writes it, has committed.
        let mut new_packer = None;
        let all_packed = pages.iter().all(|p| p.packed.is_some());
        let mut packer = match self.packers.get_mut(&source_id) {
            Some(packer) => Some(packer),
            // Pages packed ahead need no packer here (nor its memory).
            None if all_packed => None,
            None => {
                new_packer = packer_for(&tx, source_id, pages)?;
                new_packer.as_mut()
            }
        };
        // The time is read now, after waiting for the lock and training a
        // dictionary: only the inserts and the commit come after it.
        let stored_at = Store::store_time(&self.clock, last_at);
        {
            let mut upsert = tx.prepare_cached(UPSERT_RECORD).doing("storing a record")?;
            let mut indexed = crate::search::RecordIndex::new(&tx)?;
            // The upsert answering with the version the row now holds, for an indexed record.
            let mut upsert_indexed = tx.prepare_cached(&format!("{UPSERT_RECORD} RETURNING id, datestamp, deleted")).doing("storing a record")?;
            // A slice's page moves its slice, not the run's own position.
            let mut update = tx
                .prepare_cached(
                    "UPDATE run SET window_from = iif(?12, window_from, ?2), window_until = iif(?12, window_until, ?3), token = iif(?12, token, ?4),
                        pages = pages + 1, records = records + ?5, deleted = deleted + ?6,
                        repairs = repairs + ?7, requests = requests + ?8,
                        server_started = COALESCE(server_started, ?9),
                        skipped = skipped + ?10, transcoded = transcoded + ?11
                     WHERE id = ?1",
                )
                .doing("saving the position")?;
            let mut move_slice =
                tx.prepare_cached("UPDATE run_slice SET token = ?3, done = (?3 IS NULL) WHERE id = ?2 AND run_id = ?1").doing("saving a slice's position")?;
            for page in pages {
                let mut deleted = 0u64;
                let packed = page.packed.filter(|p| p.len() == page.records.len());
                for (i, rec) in page.records.iter().enumerate() {
                    deleted += rec.deleted as u64;
                    // One set (the usual case) is stored without a copy.
                    let sets = match rec.sets {
                        [one] => Cow::Borrowed(one.as_str()),
                        many => Cow::Owned(many.join("\n")),
                    };
                    let (codec, dictionary, metadata) = match (rec.metadata, packed, packer.as_deref_mut()) {
                        (Some(_), Some(packed), _) => match packed.get(i) {
                            Some((codec, stored)) => (codec, (codec == Codec::Zstd).then_some(packed.dictionary_id), Some(stored)),
                            None => (Codec::Raw, None, rec.metadata),
                        },
                        (Some(raw), None, Some(packer)) => {
                            let dictionary = packer.dictionary_id;
                            let (codec, stored) = packer
                                .pack(raw)
                                .map_err(|e| Error::Metadata { identifier: rec.identifier.to_string(), detail: format!("compressing: {e}") })?;
                            (codec, (codec == Codec::Zstd).then_some(dictionary), Some(stored))
                        }
                        (raw, _, _) => (Codec::Raw, None, raw),
                    };
                    seq += 1;
                    let values = params![
                        source_id,
                        rec.identifier,
                        rec.datestamp,
                        rec.datestamp_unix,
                        rec.deleted,
                        sets,
                        metadata,
                        page.now,
                        codec.as_str(),
                        dictionary,
                        rec.metadata.map(|m| m.len() as i64),
                        seq,
                        stored_at,
                        rec.about,
                        run_id
                    ];
                    let stored = |source| Error::Sqlite { doing: format!("storing record {}", rec.identifier), source };
                    if rec.text.is_some() || rec.deleted {
                        // Indexed: the entry follows the version the row now holds.
                        let (id, datestamp, deleted): (i64, String, bool) =
                            upsert_indexed.query_row(values, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).map_err(stored)?;
                        if datestamp == rec.datestamp && deleted == rec.deleted {
                            indexed.set(id, rec.text.filter(|_| !rec.deleted))?;
                        }
                    } else {
                        upsert.execute(values).map_err(stored)?;
                    }
                }
                update
                    .execute(params![
                        run_id,
                        page.next.window_from,
                        page.next.window_until,
                        page.next.token,
                        page.records.len() as i64,
                        deleted as i64,
                        page.repairs as i64,
                        page.requests as i64,
                        page.response_date,
                        page.skipped as i64,
                        page.transcoded as i64,
                        page.slice.is_some()
                    ])
                    .doing("saving the position")?;
                if let Some(slice) = page.slice
                    && move_slice.execute(params![run_id, slice, page.next.token]).doing("saving a slice's position")? != 1
                {
                    return Err(Error::NoSuchSlice { run: run_id, slice });
                }
            }
        }
        tx.execute("UPDATE store_clock SET last_seq = ?1, last_at = ?2 WHERE id = 1", params![seq, stored_at]).doing("saving the store clock")?;
        tx.commit().doing("storing a page")?;
        if let Some(packer) = new_packer {
            self.packers.insert(source_id, packer);
        }
        Ok(())
    }

    /// Restarts the window in flight from its first page: its token was
    /// refused (expired). Upserts absorb the records seen again.
    pub fn restart_window(&self, run_id: i64, error: &str) -> Result<()> {
        self.conn
            .execute("UPDATE run SET token = NULL, restarts = restarts + 1, last_error = ?2 WHERE id = ?1", params![run_id, error])
            .doing("restarting a window")
            .map(drop)
    }

    /// Notes why a run stopped; it stays resumable.
    pub fn note_error(&self, run_id: i64, error: &str, extra_requests: u64) -> Result<()> {
        self.conn
            .execute("UPDATE run SET last_error = ?2, requests = requests + ?3 WHERE id = ?1", params![run_id, error, extra_requests as i64])
            .doing("noting an error")
            .map(drop)
    }

    /// Drops the source's packer, if this store made one: a writer whose
    /// pages come packed ([`PageCommit::packed`]) needs none here.
    pub fn forget_packer(&mut self, source_id: i64) {
        self.packers.remove(&source_id);
    }

    /// The source's compression dictionary (id and content), once it has one.
    pub fn dictionary(&self, source_id: i64) -> Result<Option<(i64, Vec<u8>)>> {
        latest_dictionary(&self.conn, source_id)
    }

    /// Counts requests no stored page accounts for (pages asked for and
    /// not stored, retries of a parallel run).
    pub fn note_requests(&self, run_id: i64, extra_requests: u64) -> Result<()> {
        self.conn.execute("UPDATE run SET requests = requests + ?2 WHERE id = ?1", params![run_id, extra_requests as i64]).doing("counting requests").map(drop)
    }

    /// Completes a run and sets the source's next `from`, in one transaction.
    /// With `vanished` (a complete harvest of the whole range), the
    /// source's records this run did not see are no longer in the
    /// repository: each is marked deleted (its metadata kept in the row),
    /// stored anew so that serving hands the deletion on; returns how many.
    pub fn finish_run(&mut self, run_id: i64, next_from: Option<&str>, now: i64, vanished: bool) -> Result<u64> {
        let tx = self.conn.write_transaction().doing("finishing a run")?;
        let mut gone = 0u64;
        if vanished {
            let (mut seq, last_at): (i64, i64) = crate::store::read_store_clock(&tx)?;
            let stored_at = Store::store_time(&self.clock, last_at);
            let ids: Vec<i64> = tx
                .prepare("SELECT record.id FROM record JOIN run ON run.id = ?1 WHERE record.source_id = run.source_id AND record.deleted = 0 AND record.seen_run IS NOT ?1 ORDER BY record.id")
                .and_then(|mut q| q.query_map([run_id], |r| r.get(0))?.collect::<rusqlite::Result<Vec<i64>>>())
                .doing("finding records the repository no longer lists")?;
            let mut mark =
                tx.prepare("UPDATE record SET deleted = 1, stored_seq = ?2, stored_at = ?3 WHERE id = ?1").doing("marking a vanished record deleted")?;
            let mut indexed = crate::search::RecordIndex::new(&tx)?;
            for id in ids {
                seq += 1;
                mark.execute(params![id, seq, stored_at]).doing("marking a vanished record deleted")?;
                indexed.set(id, None)?;
                gone += 1;
            }
            drop((mark, indexed));
            tx.execute("UPDATE store_clock SET last_seq = ?1, last_at = ?2 WHERE id = 1", params![seq, stored_at]).doing("saving the store clock")?;
            tx.execute("UPDATE run SET deleted = deleted + ?2 WHERE id = ?1", params![run_id, gone as i64]).doing("counting vanished records")?;
        }
        tx.execute("UPDATE run SET state = 'completed', finished_at = ?2, token = NULL, last_error = NULL WHERE id = ?1", params![run_id, now])
            .doing("finishing a run")?;
        if let Some(from) = next_from {
            tx.execute("UPDATE source SET next_from = ?2 WHERE id = (SELECT source_id FROM run WHERE id = ?1)", params![run_id, from])
                .doing("saving the next from")?;
        }
        tx.commit().doing("finishing a run")?;
        Ok(gone)
    }
}

/// Per source, for `status`.
#[derive(Clone, Debug)]
pub struct SourceStatus {
    pub source: Source,
    pub records: u64,
    pub deleted: u64,
    pub repairs: u64,
    pub skipped: u64,
    pub transcoded: u64,
    /// Metadata as received, and as stored (compressed where that is smaller).
    pub metadata_received: u64,
    pub metadata_stored: u64,
    pub last_run: Option<Run>,
}

impl Store {
    pub fn status(&self) -> Result<Vec<SourceStatus>> {
        let mut out = Vec::new();
        for source in self.sources()? {
            // Rows from before version 5 have no size and are stored raw.
            let (records, deleted, received, stored): (i64, i64, i64, i64) = self
                .conn
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(deleted), 0), COALESCE(SUM(COALESCE(metadata_size, length(metadata))), 0),
                        COALESCE(SUM(length(metadata)), 0)
                     FROM record WHERE source_id = ?1",
                    [source.id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .doing("counting records")?;
            let (repairs, skipped, transcoded): (i64, i64, i64) = self
                .conn
                .query_row(
                    "SELECT COALESCE(SUM(repairs), 0), COALESCE(SUM(skipped), 0), COALESCE(SUM(transcoded), 0) FROM run WHERE source_id = ?1",
                    [source.id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .doing("counting repairs")?;
            let last_run = self.last_run(source.id)?;
            out.push(SourceStatus {
                source,
                records: records as u64,
                deleted: deleted as u64,
                repairs: repairs as u64,
                skipped: skipped as u64,
                transcoded: transcoded as u64,
                metadata_received: received as u64,
                metadata_stored: stored as u64,
                last_run,
            });
        }
        Ok(out)
    }
}

// A newer (or equal) datestamp replaces the stored record; an older one only
// moves last_seen. Each column says so, because an upsert's WHERE would skip
// last_seen too. The store sequence and time move only when the content
// changes: a record seen again unchanged is not new to anyone serving it.
const UPSERT_RECORD: &str = "
INSERT INTO record (source_id, identifier, datestamp, datestamp_unix, deleted, sets, metadata, first_seen, last_seen, metadata_codec, metadata_dictionary, metadata_size,
                    stored_seq, stored_at, provenance, seen_run)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
ON CONFLICT (source_id, identifier) DO UPDATE SET
    provenance     = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix THEN excluded.provenance ELSE record.provenance END,
    stored_seq     = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix AND (excluded.datestamp IS NOT record.datestamp OR excluded.deleted IS NOT record.deleted
                          OR excluded.sets IS NOT record.sets OR excluded.metadata IS NOT record.metadata) THEN excluded.stored_seq ELSE record.stored_seq END,
    stored_at      = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix AND (excluded.datestamp IS NOT record.datestamp OR excluded.deleted IS NOT record.deleted
                          OR excluded.sets IS NOT record.sets OR excluded.metadata IS NOT record.metadata) THEN excluded.stored_at ELSE record.stored_at END,
    datestamp      = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix THEN excluded.datestamp ELSE record.datestamp END,
    deleted        = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix THEN excluded.deleted ELSE record.deleted END,
    sets           = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix THEN excluded.sets ELSE record.sets END,
    metadata       = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix THEN excluded.metadata ELSE record.metadata END,
    metadata_codec = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix THEN excluded.metadata_codec ELSE record.metadata_codec END,
    metadata_dictionary = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix THEN excluded.metadata_dictionary ELSE record.metadata_dictionary END,
    metadata_size  = CASE WHEN excluded.datestamp_unix >= record.datestamp_unix THEN excluded.metadata_size ELSE record.metadata_size END,
    datestamp_unix = MAX(excluded.datestamp_unix, record.datestamp_unix),
    last_seen      = excluded.last_seen,
    seen_run       = excluded.seen_run";

const RUN_COLUMNS: &str = "SELECT id, source_id, state, range_from, range_until, window, window_from, window_until, token,
    server_started, pages, records, deleted, repairs, requests, restarts, started_at, finished_at, last_error, skipped, transcoded, parallel FROM run";

fn run_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Run> {
    let n = |i| r.get::<_, i64>(i).map(|v| v as u64);
    Ok(Run {
        id: r.get(0)?,
        source_id: r.get(1)?,
        state: RunState::parse(&r.get::<_, String>(2)?),
        plan: RunPlan { range_from: r.get(3)?, range_until: r.get(4)?, window: r.get(5)?, parallel: r.get(21)? },
        position: Position { window_from: r.get(6)?, window_until: r.get(7)?, token: r.get(8)? },
        server_started: r.get(9)?,
        tally: Tally {
            pages: n(10)?,
            records: n(11)?,
            deleted: n(12)?,
            repairs: n(13)?,
            requests: n(14)?,
            restarts: n(15)?,
            skipped: n(19)?,
            transcoded: n(20)?,
        },
        started_at: r.get(16)?,
        finished_at: r.get(17)?,
        last_error: r.get(18)?,
    })
}

/// A source's newest compression dictionary: its id and content.
fn latest_dictionary(conn: &Connection, source_id: i64) -> Result<Option<(i64, Vec<u8>)>> {
    conn.query_row("SELECT id, content FROM metadata_dictionary WHERE source_id = ?1 ORDER BY id DESC LIMIT 1", [source_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .doing("reading the source's compression dictionary")
}

/// The compressor for a source's records: its dictionary if it has one,
/// else a new one made from these pages' metadata and written in `tx`.
/// `None` while the source has too little metadata for a dictionary.
fn packer_for(tx: &rusqlite::Transaction<'_>, source_id: i64, pages: &[PageCommit<'_>]) -> Result<Option<Packer>> {
    let (id, content) = match latest_dictionary(tx, source_id)? {
        Some(found) => found,
        None => {
            let samples = pages.iter().flat_map(|p| &p.records).filter_map(|r| r.metadata);
            let Some(content) = compress::dictionary_from(samples) else { return Ok(None) };
            let now = pages.first().map_or(0, |p| p.now);
            tx.execute("INSERT INTO metadata_dictionary (source_id, content, created_at) VALUES (?1, ?2, ?3)", params![source_id, content, now])
                .doing("writing the source's compression dictionary")?;
            (tx.last_insert_rowid(), content)
        }
    };
    let packer = Packer::new(id, &content).map_err(|e| Error::Dictionary { id, detail: e.to_string() })?;
    Ok(Some(packer))
}
