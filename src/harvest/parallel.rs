//! One source harvested in slices of its date range at once (`--parallel N`).
//!
//! Planning comes first and stores nothing but the slices: the range is cut
//! into N slices and the first page of each is asked for. A slice whose
//! `completeListSize` is far more than its share of the whole is split in
//! two, its halves asked for in turn, and so on, so that a repository whose
//! records crowd on a few dates (common after a migration) still spreads
//! over N. Then N fetchers follow the slices, largest first, and the one
//! writer commits each page with its slice's position.
//!
//! Invariants: a slice is split only while none of its pages is stored, and
//! its halves replace it in one transaction; a begun slice is followed to
//! its end. A resumed run goes on with the slices it has. A repository that
//! refuses a ranged request at planning is harvested in one sequence (the
//! run is marked `parallel = 1`, so resuming it stays sequential).

use std::cmp::Reverse;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::{RunPlan, Slice, SliceRange, Store};
use chrono::{DateTime, TimeDelta, Utc};
use oai::{Client, Fetched, Granularity, ListArgs, Page, Record};

use super::{HarvestRequest, Pipeline, SliceStart, Start, Windows, fetch_pages};
use crate::util::{blocking, lock};

/// A slice is split when its list is more than this many times its share
/// (the whole divided by N): a little over its share costs less than the
/// request a split throws away.
const OVERSIZE: f64 = 1.25;

/// The most slices per fetcher: each split costs a request, and each slice
/// not yet followed holds its first page in memory.
const SLICES_PER_FETCHER: usize = 8;

/// Whether an open run of plan `open` is the one `wanted` asks for: the same
/// plan, or the same range already fallen back to one sequence.
pub(super) fn resumes(open: &RunPlan, wanted: &RunPlan) -> bool {
    open == wanted || (fell_back(open) && wanted.parallel.is_some() && RunPlan { parallel: wanted.parallel, ..open.clone() } == *wanted)
}

/// Whether a run asked for in slices is harvested in one sequence instead.
pub(super) fn fell_back(plan: &RunPlan) -> bool {
    plan.parallel == Some(1)
}

/// The dates a run's slices are placed between.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bounds {
    granularity: Granularity,
    /// The run's `from`, else the repository's earliestDatestamp.
    lo: Option<DateTime<Utc>>,
    /// The run's `until`, else the repository's clock at Identify.
    hi: DateTime<Utc>,
}

impl Bounds {
    pub(super) fn new(granularity: Granularity, lo: Option<DateTime<Utc>>, range_until: Option<&str>, server_now: Option<&str>) -> Bounds {
        let hi = range_until.or(server_now).and_then(oai::parse_datestamp).unwrap_or_else(Utc::now);
        let floor = |t: DateTime<Utc>| oai::parse_datestamp(&granularity.format(t)).unwrap_or(t);
        Bounds { granularity, lo: lo.map(floor), hi: floor(hi) }
    }

    fn unit(&self) -> TimeDelta {
        match self.granularity {
            Granularity::Day => TimeDelta::days(1),
            Granularity::Seconds => TimeDelta::seconds(1),
        }
    }

    /// A slice's dates, its open ends at the bounds.
    fn span(&self, from: Option<&str>, until: Option<&str>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let from = from.and_then(oai::parse_datestamp).or(self.lo)?;
        let until = until.and_then(oai::parse_datestamp).unwrap_or(self.hi);
        Some((from, until))
    }

    fn text(&self, t: DateTime<Utc>) -> String {
        self.granularity.format(t)
    }
}

/// Cuts `[start, end]` (inclusive) into at most `n` consecutive parts of
/// whole `unit`s, as equal as they come.
fn cut(start: DateTime<Utc>, end: DateTime<Utc>, n: u32, unit: TimeDelta) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let step = unit.num_seconds().max(1);
    let units = ((end - start).num_seconds() / step).max(0) + 1;
    let parts = i64::from(n.max(1)).min(units);
    let at = |k: i64| start + TimeDelta::seconds(step * (units * k / parts));
    (0..parts).map(|k| (at(k), at(k + 1) - TimeDelta::seconds(step))).collect()
}

/// What planning decided.
pub(super) enum Plan {
    Slices(Planned),
    /// Harvest in one sequence, for this reason.
    Sequential(String),
}

/// The slices to follow, each with its first page where planning asked for it.
pub(super) struct Planned {
    slices: Vec<PlannedSlice>,
    /// Records in the whole run as far as the first pages say.
    size: Option<u64>,
    n: u32,
}

struct PlannedSlice {
    slice: Slice,
    first: Option<Fetched<Page<Record>>>,
    /// Its list's size: completeListSize, or the page's records when the
    /// page is the whole list. `None` if unknown (a begun slice, or no
    /// completeListSize).
    size: Option<u64>,
    /// A half of it was refused: the repository takes no narrower range.
    whole: bool,
}

impl PlannedSlice {
    fn asked(slice: Slice, first: Fetched<Page<Record>>) -> PlannedSlice {
        let size = match &first.value.token {
            Some(token) => token.complete_list_size,
            None => Some(first.value.items.len() as u64),
        };
        PlannedSlice { slice, first: Some(first), size, whole: false }
    }
}

/// What a run's slices are cut from.
pub(super) struct Cut {
    pub(super) run_id: i64,
    pub(super) n: u32,
    pub(super) range_from: Option<String>,
    pub(super) range_until: Option<String>,
    /// The repository's clock at Identify: the run's start, for the next `from`.
    pub(super) server_now: Option<String>,
}

/// Whether a failed ranged request says the repository does not take such
/// ranges (the same answer next time), rather than that it is down.
fn refuses_ranges(e: &oai::Error) -> bool {
    let refused = |e: &oai::Error| matches!(e, oai::Error::Status { status, .. } if (400..500).contains(status) && !matches!(status, 408 | 425 | 429));
    e.oai_code() == Some(&oai::ErrorCode::BadArgument) || refused(e) || matches!(e, oai::Error::RetriesExhausted { last, .. } if refused(last))
}

/// Asks for the first page of each range, at most `n` at once.
async fn first_pages(client: &Client, request: &HarvestRequest, ranges: Vec<SliceRange>, n: u32) -> Vec<oai::Result<Fetched<Page<Record>>>> {
    let at_once = Arc::new(tokio::sync::Semaphore::new(n as usize));
    let mut asking = tokio::task::JoinSet::new();
    for (i, (from, until)) in ranges.into_iter().enumerate() {
        let (client, at_once) = (client.clone(), at_once.clone());
        let args = ListArgs::Initial { metadata_prefix: request.source.metadata_prefix.clone(), set: request.source.set_spec.clone(), from, until };
        asking.spawn(async move {
            let _turn = at_once.acquire_owned().await.expect("the semaphore is never closed");
            (i, client.list_records(&args).await)
        });
    }
    let mut out: Vec<Option<oai::Result<Fetched<Page<Record>>>>> = std::iter::repeat_with(|| None).take(asking.len()).collect();
    while let Some(done) = asking.join_next().await {
        let (i, result) = done.expect("a first-page task never panics");
        out[i] = Some(result);
    }
    out.into_iter().map(|r| r.expect("every range answered")).collect()
}

/// Plans a parallel run: cuts it into slices (unless it has them), asks for
/// each untouched slice's first page, and splits those that hold far more
/// than their share.
pub(super) async fn plan(client: &Client, store: &Mutex<Store>, request: &HarvestRequest, bounds: Bounds, cut_as: &Cut) -> anyhow::Result<Plan> {
    let n = cut_as.n;
    let mut slices = blocking(|| lock(store).slices(cut_as.run_id))?;
    if slices.is_empty() {
        let Some(lo) = bounds.lo else {
            return Ok(Plan::Sequential("the repository's earliestDatestamp cannot be used to cut the range (missing or in the future)".into()));
        };
        let parts = cut(lo, bounds.hi.max(lo), n, bounds.unit());
        let last = parts.len() - 1;
        let ranges: Vec<SliceRange> = parts
            .iter()
            .enumerate()
            .map(|(k, &(a, b))| {
                let from = if k == 0 { cut_as.range_from.clone() } else { Some(bounds.text(a)) };
                let until = if k == last { cut_as.range_until.clone() } else { Some(bounds.text(b)) };
                (from, until)
            })
            .collect();
        slices = blocking(|| -> anyhow::Result<_> {
            let mut s = lock(store);
            if let Some(at) = &cut_as.server_now {
                s.set_run_start(cut_as.run_id, at)?;
            }
            Ok(s.plan_slices(cut_as.run_id, &ranges)?)
        })?;
        tracing::info!(slices = slices.len(), "harvesting in slices at once");
    }

    let (untouched, begun): (Vec<Slice>, Vec<Slice>) = slices.into_iter().filter(|s| !s.done).partition(Slice::untouched);
    let ranges = untouched.iter().map(|s| (s.from.clone(), s.until.clone())).collect();
    let mut planned: Vec<PlannedSlice> = begun.into_iter().map(|slice| PlannedSlice { slice, first: None, size: None, whole: false }).collect();
    for (slice, first) in untouched.into_iter().zip(first_pages(client, request, ranges, n).await) {
        match first {
            Ok(page) => planned.push(PlannedSlice::asked(slice, page)),
            Err(e) if refuses_ranges(&e) => return Ok(Plan::Sequential(format!("the repository refused a ranged request: {e}"))),
            Err(e) => return Err(e).context(format!("asking for the first page of the slice {}", describe(&slice))),
        }
    }

    let size: u64 = planned.iter().filter_map(|p| p.size).sum();
    let share = size as f64 / f64::from(n);
    let most = SLICES_PER_FETCHER * n as usize;
    loop {
        // The slices to split this round, each with its halves.
        let mut splitting = Vec::new();
        for (i, p) in planned.iter().enumerate() {
            if planned.len() + splitting.len() >= most {
                break;
            }
            if p.whole || p.first.is_none() || p.size.is_none_or(|s| (s as f64) <= share * OVERSIZE) {
                continue;
            }
            if let Some(halves) = halves(&bounds, &p.slice) {
                splitting.push((i, halves));
            }
        }
        if splitting.is_empty() {
            break;
        }
        let ranges = splitting.iter().flat_map(|(_, [a, b])| [a.clone(), b.clone()]).collect();
        let mut answers = first_pages(client, request, ranges, n).await.into_iter();
        let mut replaced = Vec::new();
        for (i, halves) in splitting {
            let (a, b) = (answers.next().expect("two answers per split"), answers.next().expect("two answers per split"));
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    let id = planned[i].slice.id;
                    let [sa, sb] = blocking(|| lock(store).split_slice(cut_as.run_id, id, halves))?;
                    tracing::debug!(slice = %describe(&planned[i].slice), size = ?planned[i].size, "split: it holds far more than its share");
                    replaced.push((i, [PlannedSlice::asked(sa, a), PlannedSlice::asked(sb, b)]));
                }
                (Err(e), _) | (_, Err(e)) if refuses_ranges(&e) => {
                    tracing::info!(slice = %describe(&planned[i].slice), error = %e, "the repository refuses a narrower range; the slice is harvested whole");
                    planned[i].whole = true;
                }
                (Err(e), _) | (_, Err(e)) => {
                    return Err(e).context(format!("asking for the first page of a half of the slice {}", describe(&planned[i].slice)));
                }
            }
        }
        // Replace from the end, so the indexes still hold.
        for (i, [a, b]) in replaced.into_iter().rev() {
            planned.splice(i..=i, [a, b]);
        }
    }
    Ok(Plan::Slices(Planned { slices: planned, size: (size > 0).then_some(size), n }))
}

/// The two halves of a slice, or `None` if it is one unit long.
fn halves(bounds: &Bounds, slice: &Slice) -> Option<[SliceRange; 2]> {
    let (from, until) = bounds.span(slice.from.as_deref(), slice.until.as_deref())?;
    let [(_, a_end), (b_start, _)]: [(DateTime<Utc>, DateTime<Utc>); 2] = cut(from, until, 2, bounds.unit()).try_into().ok()?;
    Some([(slice.from.clone(), Some(bounds.text(a_end))), (Some(bounds.text(b_start)), slice.until.clone())])
}

fn describe(slice: &Slice) -> String {
    format!("{}..{}", slice.from.as_deref().unwrap_or(""), slice.until.as_deref().unwrap_or(""))
}

/// Follows the planned slices, `n` at once, largest first (a begun slice,
/// of unknown size, before all).
pub(super) async fn fetch(client: &Client, request: &HarvestRequest, planned: Planned, granularity: Granularity, pipeline: &Pipeline) -> anyhow::Result<()> {
    let Planned { mut slices, size, n } = planned;
    slices.sort_by_key(|p| Reverse(p.size.unwrap_or(u64::MAX)));
    let queue = Arc::new(Mutex::new(VecDeque::from(slices)));
    let mut fetchers = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, request, queue, pipeline) = (client.clone(), request.clone(), queue.clone(), pipeline.clone());
        fetchers.spawn(async move {
            loop {
                let Some(next) = lock(&queue).pop_front() else { return anyhow::Ok(()) };
                let windows = Windows { window: None, granularity, range_until: next.slice.until.as_deref().and_then(oai::parse_datestamp) };
                let position =
                    checkpoints::Position { window_from: next.slice.from.clone(), window_until: next.slice.until.clone(), token: next.slice.token.clone() };
                let start = Start { position, slice: Some(SliceStart { id: next.slice.id, first: next.first, run_size: size }) };
                fetch_pages(&client, &request, start, &windows, client.requests(), &pipeline).await?;
            }
        });
    }
    // The first failure stops the others: what they stored stays, and the
    // next run resumes every slice where it stands.
    while let Some(done) = fetchers.join_next().await {
        if let Err(e) = done.context("a slice fetcher panicked")? {
            fetchers.abort_all();
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
