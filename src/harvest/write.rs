//! The writing side of a harvest: pages committed strictly in order, each
//! in one transaction with the position after it, on a blocking thread, one
//! writer of the process at a time.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use checkpoints::{PageCommit, Position, RecordIn, Store, Tally};
use chrono::{DateTime, Utc};
use oai::Record;
use tokio::sync::mpsc;

use super::plan::next_from;
use super::{ListProgress, Progress, pack};
use crate::util::{blocking, lock};

/// Whether an `<about>` container is an OAI-PMH provenance container.
pub(super) fn is_provenance(about: &[u8]) -> bool {
    let head = &about[..about.len().min(512)];
    head.starts_with(b"<provenance") && head.windows(PROVENANCE_NS.len()).any(|w| w == PROVENANCE_NS.as_bytes())
}

pub(super) const PROVENANCE_NS: &str = "http://www.openarchives.org/OAI/2.0/provenance";

/// What the fetcher hands the writer, in order.
pub(super) enum Write {
    Page(PageWrite),
    RestartWindow {
        error: String,
        /// The slice whose token was lost, in a parallel run.
        slice: Option<i64>,
    },
    /// `requests` as in `Failed`: a parallel run's fetchers count only
    /// each page's own attempts.
    Finish {
        range_until: Option<String>,
        range_from: Option<String>,
        requests: u64,
    },
    /// The fetcher stopped; `requests` is its total, for the run's count of
    /// the requests no committed page accounts for.
    Failed {
        error: String,
        requests: u64,
    },
}

/// A page to store, with the position after it.
pub(super) struct PageWrite {
    /// Its share of [`BYTES_AHEAD_KIB`], given back when it is stored.
    pub(super) _room: tokio::sync::OwnedSemaphorePermit,
    pub(super) records: Arc<Vec<Record>>,
    /// What search finds each record by (the source's records indexed), else empty.
    pub(super) texts: Vec<Option<checkpoints::RecordText>>,
    /// Its metadata being packed, if the source has its dictionary.
    pub(super) packing: Option<tokio::task::JoinHandle<anyhow::Result<checkpoints::compress::PackedPage>>>,
    pub(super) next: Position,
    pub(super) requests: u64,
    pub(super) repairs: u64,
    pub(super) skipped: u64,
    /// Records outside the range asked for.
    pub(super) outside: u64,
    pub(super) transcoded: bool,
    pub(super) response_date: String,
    pub(super) list: ListProgress,
    pub(super) slice: Option<i64>,
}

impl PageWrite {
    /// The page as the store takes it.
    pub(super) fn commit<'a>(&'a self, now: i64, packed: Option<&'a checkpoints::compress::PackedPage>) -> PageCommit<'a> {
        let records = self
            .records
            .iter()
            .enumerate()
            .map(|(i, r)| RecordIn {
                identifier: &r.header.identifier,
                datestamp: &r.header.datestamp,
                datestamp_unix: oai::parse_datestamp(&r.header.datestamp).map_or(0, |t| t.timestamp()),
                deleted: r.header.deleted,
                sets: &r.header.sets,
                metadata: r.metadata.as_deref(),
                about: r.about.iter().find(|a| is_provenance(a)).map(Vec::as_slice),
                text: self.texts.get(i).and_then(Option::as_ref),
            })
            .collect();
        PageCommit {
            records,
            next: self.next.clone(),
            requests: self.requests,
            repairs: self.repairs,
            skipped: self.skipped,
            transcoded: self.transcoded,
            response_date: Some(self.response_date.clone()),
            slice: self.slice,
            packed,
            now,
        }
    }
}

/// What the writer reports at the end.
pub(super) struct Written {
    pub(super) records: u64,
    pub(super) requests: u64,
    pub(super) deleted: u64,
    pub(super) pages: u64,
    pub(super) repairs: u64,
    pub(super) skipped: u64,
    pub(super) restarts: u64,
    /// Records a complete full harvest no longer found, marked deleted.
    pub(super) vanished: u64,
    /// Records the repository sent outside the range asked for.
    pub(super) outside: u64,
    pub(super) next_from: Option<String>,
}

/// Pages the writer commits together at most, when that many are waiting.
pub(super) const MAX_GROUP: usize = 16;

/// Parsed pages that may wait for the writer. When the writer is the
/// slower side, they let it commit several at once: every commit rewrites
/// the last, partly filled pages of the tables and indexes in the log, so
/// fewer commits write less. With room for 8 instead of 2, a harvest of
/// 100k records took 0.47 s instead of 0.53 s (interleaved runs, medians),
/// for about a megabyte more memory.
pub(super) const PAGES_AHEAD: usize = 8;

/// The most kibibytes of parsed pages waiting for their writers, all the
/// harvests of the process together (a page larger than this still goes,
/// alone): with many sources harvested at once, memory stays bounded by
/// this, not by the number of sources.
pub(super) const BYTES_AHEAD_KIB: usize = 64 << 10;

/// The process's room for parsed pages waiting for their writers.
pub(super) fn bytes_ahead() -> Arc<tokio::sync::Semaphore> {
    static ROOM: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    ROOM.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(BYTES_AHEAD_KIB))).clone()
}

/// What the writer works with.
pub(super) struct Desk {
    pub(super) store: Arc<Mutex<Store>>,
    pub(super) run_id: i64,
    pub(super) source_id: i64,
    pub(super) packing: Arc<pack::Packing>,
    pub(super) clocks: Arc<pack::Clocks>,
}

/// One writer commits at a time, whatever the number of harvests.
pub(super) fn commit_turns() -> Arc<tokio::sync::Semaphore> {
    static TURNS: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    TURNS.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(1))).clone()
}

/// The writer: commits pages in order; finishes or notes the error.
///
/// Pages that are already waiting when the writer turns to them are
/// committed in one transaction (group commit): when the network is faster
/// than the disk, the cost of a commit is shared; when it is slower, each
/// page is committed as it arrives.
///
/// Every writer of the process commits in turn ([`commit_turns`]), on a
/// blocking thread while it does: the store's connection is shared, and
/// SQLite takes one writer at a time anyway.
pub(super) async fn write_pages(desk: Desk, mut tally: Tally, mut rx: mpsc::Receiver<Write>, progress: Arc<dyn Progress>) -> anyhow::Result<Written> {
    let Desk { store, run_id, source_id, packing, clocks } = desk;
    let mut written = Written { records: 0, requests: 0, deleted: 0, pages: 0, repairs: 0, skipped: 0, restarts: 0, vanished: 0, outside: 0, next_from: None };
    // The newest datestamp stored, for when the server's clock cannot be believed.
    let mut newest_seen: Option<DateTime<Utc>> = None;
    let mut waiting = None;
    loop {
        let op = match waiting.take() {
            Some(op) => op,
            None => match rx.recv().await {
                Some(op) => op,
                None => break,
            },
        };
        let now = Utc::now().timestamp();
        match op {
            Write::Page(first) => {
                let mut group = vec![first];
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(Write::Page(page)) => group.push(page),
                        Ok(other) => {
                            waiting = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                // Packed in order of arrival; waited for in order of commit.
                let mut packed = Vec::with_capacity(group.len());
                let waiting_since = Instant::now();
                for page in &mut group {
                    packed.push(match page.packing.take() {
                        Some(job) => Some(job.await.context("a packing task failed")??),
                        None => None,
                    });
                }
                clocks.add(&clocks.writer_waiting, waiting_since.elapsed());
                let _turn = commit_turns().acquire_owned().await.expect("the semaphore is never closed");
                let storing = Instant::now();
                blocking(|| -> anyhow::Result<()> {
                    let commits: Vec<PageCommit<'_>> = group.iter().zip(&packed).map(|(page, packed)| page.commit(now, packed.as_ref())).collect();
                    let mut s = lock(&store);
                    s.commit_pages(run_id, &commits).context("storing a page")?;
                    // The first commit of a source makes its dictionary:
                    // from then on its pages are packed ahead.
                    if !packing.knows_dictionary()
                        && let Some(dictionary) = s.dictionary(source_id)?
                    {
                        packing.learn(dictionary);
                        s.forget_packer(source_id);
                    }
                    Ok(())
                })?;
                clocks.add(&clocks.storing, storing.elapsed());
                for page in &group {
                    let newest = page.records.iter().filter_map(|r| oai::parse_datestamp(&r.header.datestamp)).max();
                    newest_seen = newest_seen.max(newest);
                    let records = page.records.len() as u64;
                    let deleted = page.records.iter().filter(|r| r.header.deleted).count() as u64;
                    written.records += records;
                    written.deleted += deleted;
                    written.pages += 1;
                    written.repairs += page.repairs;
                    written.skipped += page.skipped;
                    written.requests += page.requests;
                    tally.pages += 1;
                    tally.records += records;
                    tally.deleted += deleted;
                    tally.repairs += page.repairs;
                    tally.skipped += page.skipped;
                    written.outside += page.outside;
                    tally.transcoded += page.transcoded as u64;
                    tally.requests += page.requests;
                    progress.page_committed(&tally, &page.list);
                }
            }
            Write::RestartWindow { error, slice } => {
                blocking(|| match slice {
                    Some(slice) => lock(&store).restart_slice(run_id, slice, &error),
                    None => lock(&store).restart_window(run_id, &error),
                })?;
                written.restarts += 1;
            }
            Write::Finish { range_until, range_from, requests } => {
                let _turn = commit_turns().acquire_owned().await.expect("the semaphore is never closed");
                let unattributed = requests.saturating_sub(written.requests);
                (written.next_from, written.vanished) = blocking(|| -> anyhow::Result<_> {
                    let mut s = lock(&store);
                    s.note_requests(run_id, unattributed)?;
                    let run = s.run(run_id)?;
                    let next_from = next_from(range_until, run.server_started, newest_seen, range_from);
                    // Only a harvest of the whole range saw every record the
                    // repository holds: what it did not see is gone there.
                    let whole = run.plan.range_from.is_none() && run.plan.range_until.is_none();
                    let vanished = s.finish_run(run_id, next_from.as_deref(), now, whole)?;
                    Ok((next_from, vanished))
                })?;
                if written.vanished > 0 {
                    tracing::warn!(records = written.vanished, "records the repository no longer lists, marked deleted");
                }
                break;
            }
            Write::Failed { error, requests } => {
                let unattributed = requests.saturating_sub(written.requests);
                blocking(|| lock(&store).note_error(run_id, &error, unattributed))?;
                break;
            }
        }
    }
    Ok(written)
}
