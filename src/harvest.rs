//! Harvesting one source into the store: planning the run, following
//! tokens, committing each page with the position after it, resuming.
//!
//! Fetching and storing overlap: the next page is requested while the last
//! one is written, on a blocking thread. Pages are committed strictly in
//! order, each in one transaction with the position that follows it, so a
//! crash at any moment leaves a run that resumes at the first page not
//! committed.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use checkpoints::{PageCommit, Position, RecordIn, RunPlan, SourceKey, Store, Tally};
use chrono::{DateTime, Months, TimeDelta, Utc};
use oai::{Client, ErrorCode, Granularity, ListArgs, Record, TokenGuard};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::util::{blocking, lock};

pub mod pack;
mod parallel;

/// How a run's range is cut into windows, each checkpointed on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    Day,
    Week,
    Month,
}

impl Window {
    pub fn as_str(self) -> &'static str {
        match self {
            Window::Day => "day",
            Window::Week => "week",
            Window::Month => "month",
        }
    }

    fn advance(self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Window::Day => t.checked_add_signed(TimeDelta::days(1)),
            Window::Week => t.checked_add_signed(TimeDelta::days(7)),
            Window::Month => t.checked_add_months(Months::new(1)),
        }
    }
}

/// What to harvest and how.
#[derive(Clone, Debug)]
pub struct HarvestRequest {
    pub source: SourceKey,
    /// An explicit `from`; otherwise the source's checkpoint (unless `full`).
    pub from: Option<String>,
    pub until: Option<String>,
    /// Ignore the checkpoint and harvest everything.
    pub full: bool,
    pub window: Option<Window>,
    /// Harvest the range in this many slices at once (see [`parallel`]).
    pub parallel: Option<u32>,
}

/// The most slices of one run harvested at once.
pub const MAX_PARALLEL: u32 = 64;

/// What a harvest did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub records: u64,
    pub deleted: u64,
    pub pages: u64,
    pub repairs: u64,
    /// Records left out for a header without identifier or datestamp.
    pub skipped: u64,
    /// HTTP requests made by this invocation, retries included.
    pub requests: u64,
    pub restarts: u64,
    /// Whether an interrupted run was resumed.
    pub resumed: bool,
    pub from: Option<String>,
    pub until: Option<String>,
    pub next_from: Option<String>,
    pub seconds: f64,
    /// Where the time went, stage by stage.
    pub time: Timings,
}

/// Seconds each stage of a harvest spent, summed over its threads (see
/// `pack::Clocks`); they overlap, so they add up to more than the wall time.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Timings {
    pub waiting: f64,
    pub parsing: f64,
    pub packing: f64,
    pub writer_waiting: f64,
    pub storing: f64,
}

/// Reports progress; called on the writer thread after each commit.
pub trait Progress: Send + Sync {
    fn page_committed(&self, tally: &Tally, list: &ListProgress);
}

/// Where the list in flight stands after a page, as far as the repository
/// says: the window it belongs to and the list's `completeListSize`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListProgress {
    /// `FROM..UNTIL` of the window, when the run is cut into windows.
    pub window: Option<String>,
    /// The page's resumptionToken's `completeListSize`, if it had one.
    pub complete_list_size: Option<u64>,
    /// Records in this page.
    pub page_records: u64,
}

/// Whether an `<about>` container is an OAI-PMH provenance container.
fn is_provenance(about: &[u8]) -> bool {
    let head = &about[..about.len().min(512)];
    head.starts_with(b"<provenance") && head.windows(PROVENANCE_NS.len()).any(|w| w == PROVENANCE_NS.as_bytes())
}

const PROVENANCE_NS: &str = "http://www.openarchives.org/OAI/2.0/provenance";

/// The most ListSets pages followed (a repository may have tens of
/// thousands of sets).
const SET_PAGES: usize = 50;

/// Every set a repository declares, following resumption tokens; a
/// repository without sets (noSetHierarchy) has none.
pub async fn list_sets(client: &Client) -> Result<Vec<oai::Set>, oai::Error> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..SET_PAGES {
        let page = match client.list_sets(token.as_deref()).await {
            Ok(p) => p.value,
            Err(e) if e.oai_code() == Some(&oai::ErrorCode::NoSetHierarchy) => return Ok(out),
            Err(e) => return Err(e),
        };
        out.extend(page.items.iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    Ok(out)
}

/// Asks a repository for its formats and sets and keeps them, so that
/// serving it again declares what it declared. Two requests (more for
/// many sets): done on a repository's first harvest and on a full one.
pub async fn describe_origin(store: &Mutex<Store>, client: &Client) -> anyhow::Result<()> {
    let formats = client.list_metadata_formats(None).await.context("asking for the repository's formats")?.value;
    // Sets that cannot be listed are none: asking again each harvest would
    // only repeat the failure.
    let sets = list_sets(client).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "the repository's sets could not be listed; it is served without sets");
        Vec::new()
    });
    let formats: Vec<checkpoints::OriginFormat> =
        formats.into_iter().map(|f| checkpoints::OriginFormat { prefix: f.prefix, schema: f.schema, namespace: f.namespace }).collect();
    let sets: Vec<checkpoints::OriginSet> = sets.into_iter().map(|s| checkpoints::OriginSet { spec: s.spec, name: s.name }).collect();
    blocking(|| lock(store).save_origin_description(client.base_url(), &formats, &sets))?;
    Ok(())
}

/// Reports nothing.
pub struct Quiet;
impl Progress for Quiet {
    fn page_committed(&self, _: &Tally, _: &ListProgress) {}
}

/// Windows restarted in a row after a token could not be followed before
/// giving up: a window that cannot finish before its token expires needs
/// a smaller one.
const MAX_WINDOW_RESTARTS: u32 = 3;

/// Whether a failed request for a token's page means the token is lost,
/// so the window must start again from its first page: the repository
/// refused it (`badResumptionToken`), it is too long to send, or the
/// repository kept failing on it (a restarted server that forgot its
/// tokens answers 5xx rather than `badResumptionToken`). Left in flight, such
/// a token would fail every later run the same way.
fn token_is_lost(e: &oai::Error) -> bool {
    // An error status, other than those that say "later" (a server that is
    // busy or down is not one that lost the token).
    let refused = |e: &oai::Error| matches!(e, oai::Error::Status { status, .. } if *status >= 400 && !matches!(status, 408 | 425 | 429 | 503));
    e.oai_code() == Some(&ErrorCode::BadResumptionToken)
        || matches!(e, oai::Error::TokenTooLong { .. })
        || refused(e)
        || matches!(e, oai::Error::RetriesExhausted { last, .. } if refused(last))
}

/// Harvests one source. Resumes the source's interrupted run if it has the
/// same plan; otherwise starts a new one.
#[tracing::instrument(name = "harvest", skip_all, fields(source = %request.source.base_url, prefix = %request.source.metadata_prefix))]
pub async fn harvest(store: Arc<Mutex<Store>>, client: &Client, request: &HarvestRequest, progress: Arc<dyn Progress>) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let _running = pack::Running::start();
    let requests_at_start = client.requests();
    let now = Utc::now().timestamp();
    // As the command line allows: a config's `parallel` is bounded the same.
    let parallel = request.parallel.filter(|&n| n > 1).map(|n| n.min(MAX_PARALLEL));
    if parallel.is_some() && request.window.is_some() {
        bail!("--parallel and --window both cut the range into parts: choose one");
    }
    // Writes to the store wait for other connections and the disk: off the worker.
    let source = blocking(|| lock(&store).source(&request.source, now))?;

    // The granularity decides how `from` and `until` are written. Ask
    // Identify once per source; the store remembers it. Windows and
    // slices are placed from its earliestDatestamp and responseDate.
    let mut earliest = None;
    let mut server_now = None;
    let granularity = match (&source.granularity, request.window, parallel) {
        (Some(g), None, None) => Granularity::from_identify(g),
        _ => {
            let id = client.identify().await.context("asking the repository to Identify itself")?.value;
            blocking(|| lock(&store).set_granularity(source.id, &id.granularity_text))?;
            earliest = oai::parse_datestamp(&id.earliest_datestamp).filter(|at| {
                let trusted = believable(*at);
                if !trusted {
                    tracing::warn!(earliest = %id.earliest_datestamp, "the repository's earliestDatestamp is in the future; not used to place windows (the first window starts at the beginning)");
                }
                trusted
            });
            server_now = oai::parse_datestamp(&id.response_date).filter(|at| believable(*at)).map(|_| id.response_date.clone());
            id.granularity()
        }
    };

    let range_from = match (&request.from, request.full) {
        (Some(f), _) => Some(normalise(f, granularity, Bound::From).with_context(|| format!("--from {f:?}"))?),
        (None, true) => None,
        (None, false) => source.next_from.as_deref().and_then(oai::parse_datestamp).map(|t| granularity.format(t)),
    };
    let range_until = match &request.until {
        Some(u) => Some(normalise(u, granularity, Bound::Until).with_context(|| format!("--until {u:?}"))?),
        None => None,
    };
    let plan = RunPlan { range_from: range_from.clone(), range_until: range_until.clone(), window: request.window.map(|w| w.as_str().to_string()), parallel };
    let windows = Windows { window: request.window, granularity, range_until: range_until.as_deref().and_then(oai::parse_datestamp) };
    let first_start = range_from.as_deref().and_then(oai::parse_datestamp).or(earliest);
    let start_run = |plan: &RunPlan| blocking(|| lock(&store).start_run(source.id, plan, &windows.first(first_start, range_from.clone()), now));

    let open = blocking(|| lock(&store).open_run(source.id))?;
    let (mut run, resumed) = match open {
        Some(run) if parallel::resumes(&run.plan, &plan) => (run, true),
        _ => (start_run(&plan)?, false),
    };
    if resumed {
        tracing::info!(run = run.id, window_from = ?run.position.window_from, token = ?run.position.token, "resuming an interrupted run");
    }
    // A parallel run plans its slices before anything is stored; a
    // repository that refuses ranged requests is harvested in one go.
    let mut slices = None;
    if let Some(n) = parallel.filter(|_| !parallel::fell_back(&run.plan)) {
        client.allow_in_flight(n as usize);
        let bounds = parallel::Bounds::new(
            granularity,
            range_from.as_deref().and_then(oai::parse_datestamp).or(earliest),
            range_until.as_deref(),
            server_now.as_deref(),
        );
        let cut = parallel::Cut { run_id: run.id, n, range_from: range_from.clone(), range_until: range_until.clone(), server_now: server_now.clone() };
        match parallel::plan(client, &store, request, bounds, &cut).await? {
            parallel::Plan::Slices(planned) => slices = Some(planned),
            parallel::Plan::Sequential(why) => {
                tracing::warn!(%why, "harvesting in one sequence instead of {n} slices at once");
                run = start_run(&RunPlan { parallel: Some(1), ..plan.clone() })?;
            }
        }
    }

    // The writer owns the store's side of the pipeline; the channel's bound
    // keeps at most PAGES_AHEAD parsed pages in memory ahead of it. It is a
    // task, not a thread: a process harvesting hundreds of sources at once
    // has as many writers, and threads of their own cost each its own
    // allocator arena (see the many-repositories benchmark).
    let (tx, rx) = mpsc::channel::<Write>(PAGES_AHEAD);
    let clocks = Arc::new(pack::Clocks::default());
    let dictionary = blocking(|| lock(&store).dictionary(source.id))?;
    let pipeline = Pipeline { tx, budget: bytes_ahead(), packing: Arc::new(pack::Packing::new(dictionary, clocks.clone())), clocks: clocks.clone() };
    let writer = {
        let desk = Desk { store: store.clone(), run_id: run.id, source_id: source.id, packing: pipeline.packing.clone(), clocks: clocks.clone() };
        // The writer's lines belong to this harvest's span too.
        tokio::spawn(write_pages(desk, run.tally, rx, progress.clone()).instrument(tracing::Span::current()))
    };

    // Identify's request, if any, is counted with the first page.
    let fetched = match slices {
        Some(planned) => parallel::fetch(client, request, planned, granularity, &pipeline).await,
        None => {
            let start = Start { position: run.position.clone(), slice: None };
            fetch_pages(client, request, start, &windows, requests_at_start, &pipeline).await
        }
    };
    let requests = client.requests() - requests_at_start;
    let last = match &fetched {
        Ok(()) => Write::Finish { range_until: range_until.clone(), range_from: range_from.clone(), requests },
        Err(e) => Write::Failed { error: format!("{e:#}"), requests },
    };
    // If the writer has already stopped, its own error is the one to report.
    let _ = pipeline.tx.send(last).await;
    drop(pipeline);
    let written = writer.await.context("the writer task panicked")??;
    fetched?;
    Ok(Summary {
        records: written.records,
        deleted: written.deleted,
        pages: written.pages,
        repairs: written.repairs,
        skipped: written.skipped,
        requests: client.requests() - requests_at_start,
        restarts: written.restarts,
        resumed,
        from: range_from,
        until: range_until,
        next_from: written.next_from,
        seconds: started.elapsed().as_secs_f64(),
        time: clocks.seconds(),
    })
}

/// Which end of a range a user's date is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    From,
    Until,
}

/// Rewrites a user's date at the repository's granularity. A day given as
/// `until` means the whole day (the protocol's `until` is inclusive): at
/// seconds granularity it is sent as the day's last second.
fn normalise(date: &str, granularity: Granularity, bound: Bound) -> anyhow::Result<String> {
    let Some(t) = oai::parse_datestamp(date) else { bail!("not a date: use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ") };
    let whole_day = bound == Bound::Until && date.trim().len() == "YYYY-MM-DD".len();
    Ok(granularity.format(if whole_day { t + TimeDelta::days(1) - TimeDelta::seconds(1) } else { t }))
}

/// How far ahead of the local clock a date from the server may be and
/// still be believed. A repository whose clock runs ahead, or that writes
/// local time as UTC, would otherwise make the next run ask only for what
/// changes after a moment that has not come yet, and miss everything
/// changed before it.
const CLOCK_TOLERANCE: TimeDelta = TimeDelta::minutes(15);

/// Whether a date from the server is not beyond the tolerance of the local clock.
fn believable(at: DateTime<Utc>) -> bool {
    at <= Utc::now() + CLOCK_TOLERANCE
}

/// The next run's `from`: the explicit `until` this run stopped at; else
/// the server's clock when this run started, if it is believable; else the
/// largest datestamp this run stored, if it is; else the checkpoint this
/// run started from (the next run then repeats this one, and the upserts
/// absorb the overlap).
fn next_from(range_until: Option<String>, server_started: Option<String>, newest_seen: Option<DateTime<Utc>>, range_from: Option<String>) -> Option<String> {
    if range_until.is_some() {
        return range_until;
    }
    match server_started.as_deref().and_then(oai::parse_datestamp) {
        Some(at) if believable(at) => return server_started,
        Some(_) => {
            tracing::warn!(response_date = ?server_started, "the repository's responseDate is in the future; the next harvest starts from the newest datestamp stored instead")
        }
        None => {}
    }
    match newest_seen.filter(|at| believable(*at)) {
        Some(at) => Some(at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        None => range_from,
    }
}

/// What the fetcher hands the writer, in order.
enum Write {
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
struct PageWrite {
    /// Its share of [`BYTES_AHEAD_KIB`], given back when it is stored.
    _room: tokio::sync::OwnedSemaphorePermit,
    records: Arc<Vec<Record>>,
    /// Its metadata being packed, if the source has its dictionary.
    packing: Option<tokio::task::JoinHandle<anyhow::Result<checkpoints::compress::PackedPage>>>,
    next: Position,
    requests: u64,
    repairs: u64,
    skipped: u64,
    transcoded: bool,
    response_date: String,
    list: ListProgress,
    slice: Option<i64>,
}

impl PageWrite {
    /// The page as the store takes it.
    fn commit<'a>(&'a self, now: i64, packed: Option<&'a checkpoints::compress::PackedPage>) -> PageCommit<'a> {
        let records = self
            .records
            .iter()
            .map(|r| RecordIn {
                identifier: &r.header.identifier,
                datestamp: &r.header.datestamp,
                datestamp_unix: oai::parse_datestamp(&r.header.datestamp).map_or(0, |t| t.timestamp()),
                deleted: r.header.deleted,
                sets: &r.header.sets,
                metadata: r.metadata.as_deref(),
                about: r.about.iter().find(|a| is_provenance(a)).map(Vec::as_slice),
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

/// The window arithmetic of a run.
struct Windows {
    window: Option<Window>,
    granularity: Granularity,
    range_until: Option<DateTime<Utc>>,
}

impl Windows {
    /// The position of a run's first page.
    fn first(&self, start: Option<DateTime<Utc>>, range_from: Option<String>) -> Position {
        match (self.window, start) {
            (Some(_), Some(start)) => self.window_at(start),
            _ => Position { window_from: range_from, window_until: self.range_until.map(|u| self.granularity.format(u)), token: None },
        }
    }

    /// The window that starts at `start`: up to the next boundary, or open
    /// (or up to the run's `until`) if that is the last one.
    fn window_at(&self, start: DateTime<Utc>) -> Position {
        let from = Some(self.granularity.format(start));
        let end = self.window.and_then(|w| w.advance(start));
        let horizon = self.range_until.unwrap_or_else(Utc::now);
        let until = match end {
            Some(end) if end <= horizon => {
                // `until` is inclusive: stop one unit before the next window.
                let unit = match self.granularity {
                    Granularity::Day => TimeDelta::days(1),
                    Granularity::Seconds => TimeDelta::seconds(1),
                };
                Some(self.granularity.format(end - unit))
            }
            _ => self.range_until.map(|u| self.granularity.format(u)),
        };
        Position { window_from: from, window_until: until, token: None }
    }

    /// The window after `current`, or `None` if `current` was the last.
    fn after(&self, current: &Position) -> Option<Position> {
        let window = self.window?;
        let until = oai::parse_datestamp(current.window_until.as_deref()?)?;
        if self.range_until.is_some_and(|end| until >= end) {
            return None;
        }
        let from = oai::parse_datestamp(current.window_from.as_deref()?)?;
        let next = window.advance(from)?;
        Some(self.window_at(next))
    }
}

/// The request for a page, sent before the page that named it was parsed.
/// Dropping it cancels the request.
struct Prefetch {
    args: ListArgs,
    reply: tokio::task::JoinHandle<oai::Result<oai::Received>>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.reply.abort();
    }
}

/// What fetchers hand their pages to: the writer's channel, the room for
/// pages waiting, the packing of their metadata, the clocks.
#[derive(Clone)]
struct Pipeline {
    tx: mpsc::Sender<Write>,
    budget: Arc<tokio::sync::Semaphore>,
    packing: Arc<pack::Packing>,
    clocks: Arc<pack::Clocks>,
}

impl Pipeline {
    async fn send(&self, write: Write) -> anyhow::Result<()> {
        self.tx.send(write).await.map_err(|_| anyhow::anyhow!("the writer stopped"))
    }
}

/// Where a fetcher starts.
struct Start {
    position: Position,
    slice: Option<SliceStart>,
}

/// A slice of a parallel run, as its fetcher takes it.
struct SliceStart {
    id: i64,
    /// Its first page, when planning already asked for it.
    first: Option<oai::Fetched<oai::Page<Record>>>,
    /// The run's records as far as the slices' first pages say, for progress.
    run_size: Option<u64>,
}

/// Follows tokens and windows, sending each page to the writer.
///
/// The next page is requested as soon as this one has arrived, with the
/// token read from the end of its body ([`oai::Received::peek_token`]),
/// so the repository prepares it while this one is parsed and stored.
/// Still one request at a time: the next is sent only once this one has
/// been received in full. The parsed page decides: if its token is not
/// the one peeked, or it fails, the early request is dropped.
async fn fetch_pages(
    client: &Client,
    request: &HarvestRequest,
    start: Start,
    windows: &Windows,
    mut requests_before: u64,
    pipeline: &Pipeline,
) -> anyhow::Result<()> {
    let mut position = start.position;
    let (slice, mut first, run_size) = match start.slice {
        Some(s) => (Some(s.id), s.first, s.run_size),
        None => (None, None, None),
    };
    let mut guard = position.token.as_deref().map(TokenGuard::resuming).unwrap_or_default();
    let mut restarts_in_a_row = 0;
    let mut prefetch: Option<Prefetch> = None;
    let clocks = &pipeline.clocks;
    loop {
        let args = match &position.token {
            Some(token) => ListArgs::Resume { token: token.clone() },
            None => ListArgs::Initial {
                metadata_prefix: request.source.metadata_prefix.clone(),
                set: request.source.set_spec.clone(),
                from: position.window_from.clone(),
                until: position.window_until.clone(),
            },
        };
        let fetched = match first.take() {
            Some(page) => Ok(page),
            None => {
                let asked = Instant::now();
                let received = match prefetch.take() {
                    Some(mut early) if early.args == args => (&mut early.reply).await.context("a request task failed")?,
                    _ => client.receive_records(&args).await,
                };
                clocks.add(&clocks.waiting, asked.elapsed());
                if let Ok(page) = &received
                    && let Some(token) = page.peek_token()
                    && !guard.has_seen(&token)
                {
                    let args = ListArgs::Resume { token };
                    prefetch = Some(Prefetch { reply: tokio::spawn(client.receive_records(&args)), args });
                }
                let parsing = Instant::now();
                let parsed = client.list_records_received(&args, received).await;
                clocks.add(&clocks.parsing, parsing.elapsed());
                parsed
            }
        };
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) if position.token.is_some() && token_is_lost(&e) => {
                // The window starts again from its first page, now or at
                // the next run: a lost token never stays in flight.
                pipeline.send(Write::RestartWindow { error: e.to_string(), slice }).await?;
                restarts_in_a_row += 1;
                if restarts_in_a_row > MAX_WINDOW_RESTARTS {
                    return Err(e).context("the repository keeps failing on its own resumptionTokens; try a smaller --window");
                }
                tracing::warn!(error = %e, window_from = ?position.window_from, "the resumptionToken cannot be followed; restarting the window from its first page (what was stored stays, and is stored again)");
                position.token = None;
                guard = TokenGuard::new();
                continue;
            }
            Err(e) => return Err(e).context(format!("harvesting {}", request.source.base_url)),
        };
        let origin = oai::Origin { url: client.url(oai::Verb::ListRecords, &[]).to_string(), verb: oai::Verb::ListRecords, token: position.token.clone() };
        let next_token = guard.next(&fetched.value, &origin).context("following resumption tokens")?.map(str::to_string);
        let next = match next_token {
            Some(token) => Position { token: Some(token), ..position.clone() },
            None => {
                restarts_in_a_row = 0;
                match windows.after(&position) {
                    Some(next_window) => {
                        guard = TokenGuard::new();
                        next_window
                    }
                    None => Position { token: None, ..position.clone() },
                }
            }
        };
        let done = next.token.is_none() && next.window_from == position.window_from;
        // The early request belongs to the next page; it is counted there.
        // Slices share the client: each page counts its own attempts.
        let requests_now = client.requests() - prefetch.is_some() as u64;
        let requests = match slice {
            Some(_) => u64::from(fetched.attempts),
            None => requests_now - requests_before,
        };
        let page = fetched.value;
        let list = match slice {
            Some(_) => ListProgress { window: None, complete_list_size: run_size, page_records: page.items.len() as u64 },
            None => ListProgress {
                window: position.window_from.as_ref().map(|from| format!("{from}..{}", position.window_until.as_deref().unwrap_or(""))),
                complete_list_size: page.token.as_ref().and_then(|t| t.complete_list_size),
                page_records: page.items.len() as u64,
            },
        };
        for why in &page.skipped {
            tracing::warn!(%origin, skipped = %why, "a record left out; the rest of the page is stored");
        }
        // Pages waiting for the writer are bounded in bytes as well as in
        // number: a page of a million tiny records is as big as many pages.
        let kib = page.items.iter().map(|r| r.header.identifier.len() + r.header.datestamp.len() + r.metadata.as_ref().map_or(0, Vec::len) + 64).sum::<usize>()
            / 1024
            + 1;
        let room = pipeline.budget.clone().acquire_many_owned(kib.min(BYTES_AHEAD_KIB) as u32).await.context("the writer stopped")?;
        let records = Arc::new(page.items);
        pipeline
            .send(Write::Page(PageWrite {
                _room: room,
                packing: pipeline.packing.start(records.clone()),
                records,
                next: next.clone(),
                requests,
                repairs: fetched.repairs,
                skipped: page.skipped.len() as u64,
                transcoded: fetched.transcoded.is_some(),
                response_date: page.response_date,
                list,
                slice,
            }))
            .await?;
        requests_before = requests_now;
        if done {
            return Ok(());
        }
        position = next;
    }
}

/// What the writer reports at the end.
struct Written {
    records: u64,
    requests: u64,
    deleted: u64,
    pages: u64,
    repairs: u64,
    skipped: u64,
    restarts: u64,
    next_from: Option<String>,
}

/// Pages the writer commits together at most, when that many are waiting.
const MAX_GROUP: usize = 16;

/// Parsed pages that may wait for the writer. When the writer is the
/// slower side, they let it commit several at once: every commit rewrites
/// the last, partly filled pages of the tables and indexes in the log, so
/// fewer commits write less. With room for 8 instead of 2, a harvest of
/// 100k records took 0.47 s instead of 0.53 s (interleaved runs, medians),
/// for about a megabyte more memory.
const PAGES_AHEAD: usize = 8;

/// The most kibibytes of parsed pages waiting for their writers, all the
/// harvests of the process together (a page larger than this still goes,
/// alone): with many sources harvested at once, memory stays bounded by
/// this, not by the number of sources.
const BYTES_AHEAD_KIB: usize = 64 << 10;

/// The process's room for parsed pages waiting for their writers.
fn bytes_ahead() -> Arc<tokio::sync::Semaphore> {
    static ROOM: std::sync::OnceLock<Arc<tokio::sync::Semaphore>> = std::sync::OnceLock::new();
    ROOM.get_or_init(|| Arc::new(tokio::sync::Semaphore::new(BYTES_AHEAD_KIB))).clone()
}

/// What the writer works with.
struct Desk {
    store: Arc<Mutex<Store>>,
    run_id: i64,
    source_id: i64,
    packing: Arc<pack::Packing>,
    clocks: Arc<pack::Clocks>,
}

/// One writer commits at a time, whatever the number of harvests.
fn commit_turns() -> Arc<tokio::sync::Semaphore> {
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
async fn write_pages(desk: Desk, mut tally: Tally, mut rx: mpsc::Receiver<Write>, progress: Arc<dyn Progress>) -> anyhow::Result<Written> {
    let Desk { store, run_id, source_id, packing, clocks } = desk;
    let mut written = Written { records: 0, requests: 0, deleted: 0, pages: 0, repairs: 0, skipped: 0, restarts: 0, next_from: None };
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
                written.next_from = blocking(|| -> anyhow::Result<_> {
                    let mut s = lock(&store);
                    s.note_requests(run_id, unattributed)?;
                    let run = s.run(run_id)?;
                    let next_from = next_from(range_until, run.server_started, newest_seen, range_from);
                    s.finish_run(run_id, next_from.as_deref(), now)?;
                    Ok(next_from)
                })?;
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

#[cfg(test)]
mod tests;
