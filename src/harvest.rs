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
use checkpoints::{RunPlan, SourceKey, Store, Tally};
use chrono::Utc;
use oai::{Client, Granularity};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::util::{blocking, lock};

mod fetch;
pub mod pack;
mod parallel;
mod plan;
mod write;

use fetch::{Pipeline, SliceStart, Start, fetch_pages};
pub use plan::Window;
use plan::{Bound, Windows, believable, normalise};
use write::{Desk, PAGES_AHEAD, Write, bytes_ahead, write_pages};

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
    /// Index the records' Dublin Core fields for search (`search`).
    pub search: bool,
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
    /// Records a harvest of the whole range no longer found, marked deleted
    /// (how deletions are learnt from a repository that does not report them).
    pub vanished: u64,
    /// Records the repository sent outside the range asked for (a provider
    /// that ignores `from`/`until`): stored, and counted here.
    pub outside: u64,
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
    // A source is made in the store only once its repository has answered
    // Identify (or was known already): a first harvest that cannot reach it
    // leaves nothing behind to be listed or served. Writes to the store wait
    // for other connections and the disk: off the worker.
    let known = blocking(|| lock(&store).find_source(&request.source))?;

    // The granularity decides how `from` and `until` are written. Ask
    // Identify once per source; the store remembers it. Windows and
    // slices are placed from its earliestDatestamp and responseDate.
    let mut earliest = None;
    let mut server_now = None;
    let (source, granularity) = match (known.as_ref().and_then(|s| s.granularity.clone()), request.window, parallel) {
        (Some(g), None, None) => (known.expect("a source with a granularity is known"), Granularity::from_identify(&g)),
        _ => {
            let id = client.identify().await.context("asking the repository to Identify itself")?.value;
            let source = blocking(|| {
                let store = lock(&store);
                let source = store.source(&request.source, now)?;
                store.set_granularity(source.id, &id.granularity_text)?;
                Ok::<_, checkpoints::Error>(source)
            })?;
            earliest = oai::parse_datestamp(&id.earliest_datestamp).filter(|at| {
                let trusted = believable(*at);
                if !trusted {
                    tracing::warn!(earliest = %id.earliest_datestamp, "the repository's earliestDatestamp is in the future; not used to place windows (the first window starts at the beginning)");
                }
                trusted
            });
            server_now = oai::parse_datestamp(&id.response_date).filter(|at| believable(*at)).map(|_| id.response_date.clone());
            (source, id.granularity())
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
        vanished: written.vanished,
        outside: written.outside,
        resumed,
        from: range_from,
        until: range_until,
        next_from: written.next_from,
        seconds: started.elapsed().as_secs_f64(),
        time: clocks.seconds(),
    })
}
