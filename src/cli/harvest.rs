//! `identify`, `harvest`, `records` and `record`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use checkpoints::{SourceKey, Tally};

use super::{HarvestArgs, looks_like_a_host, open};
use crate::connections::Connections;
use crate::harvest::{ListProgress, Progress};
use crate::jobs::run::{self as runs, Range};
use crate::jobs::{self, HarvestJob, Kind, Work};
use crate::settings::Settings;

pub(super) async fn identify(settings: &Settings, url: &str, json: bool) -> anyhow::Result<()> {
    let url = super::base_url(url)?;
    // A person is waiting: a few quick retries, not a harvest's patience.
    let mut options = settings.client_options(false);
    options.retry.max_attempts = options.retry.max_attempts.min(3);
    options.retry.initial_backoff = options.retry.initial_backoff.min(Duration::from_secs(1));
    let client = oai::Client::new(&url, options)?;
    let id = client.identify().await?.value;
    let formats = client.list_metadata_formats(None).await.map(|f| f.value);
    let sets = crate::harvest::list_sets(&client).await;
    let g = id.granularity();
    let deletions = match id.deleted_record {
        Some(oai::DeletedRecord::Persistent) => "seen by every incremental harvest",
        Some(oai::DeletedRecord::Transient) => "seen only if harvested in time; run `harvest --full` now and then",
        _ => "not reported by this repository; only `harvest --full` finds them",
    };
    let gzip = id.compression.iter().any(|c| c == "gzip" || c == "deflate");
    let mut out = super::terminal::stdout();
    if json {
        let value = serde_json::json!({
            "repository_name": id.repository_name,
            "base_url": id.base_url,
            "protocol_version": id.protocol_version,
            "admin_emails": id.admin_emails,
            "earliest_datestamp": id.earliest_datestamp,
            "granularity": id.granularity_text,
            "deleted_record": id.deleted_record.map(|d| d.as_str()),
            "compression": id.compression,
            "formats": formats.as_ref().map(|f| f.iter().map(|f| serde_json::json!({"prefix": f.prefix, "schema": f.schema, "namespace": f.namespace})).collect::<Vec<_>>()).ok(),
            "formats_error": formats.as_ref().err().map(ToString::to_string),
            "sets": sets.as_ref().map(|s| s.iter().map(|s| serde_json::json!({"spec": s.spec, "name": s.name})).collect::<Vec<_>>()).ok(),
            "sets_error": sets.as_ref().err().map(ToString::to_string),
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    writeln!(out, "Repository:     {}", id.repository_name)?;
    writeln!(out, "Base URL:       {}", id.base_url)?;
    writeln!(out, "Protocol:       {}", id.protocol_version)?;
    writeln!(out, "Admin:          {}", id.admin_emails.join(", "))?;
    writeln!(out, "Earliest:       {}", id.earliest_datestamp)?;
    writeln!(out, "Granularity:    {}", id.granularity_text)?;
    writeln!(out, "Deleted records: {}", id.deleted_record.map_or("(not stated)", |d| d.as_str()))?;
    writeln!(out, "Compression:    {}", if id.compression.is_empty() { "(none stated)".to_string() } else { id.compression.join(", ") })?;
    match &formats {
        Ok(f) => writeln!(out, "Formats:        {}", f.iter().map(|f| f.prefix.as_str()).collect::<Vec<_>>().join(", "))?,
        Err(e) => writeln!(out, "Formats:        (ListMetadataFormats failed: {e})")?,
    }
    match &sets {
        Ok(s) if s.is_empty() => writeln!(out, "Sets:           (none)")?,
        Ok(s) => {
            writeln!(out, "Sets:           {}", s.len())?;
            for set in s.iter().take(SETS_SHOWN) {
                writeln!(out, "  {:<24} {}", set.spec, set.name)?;
            }
            if s.len() > SETS_SHOWN {
                writeln!(out, "  … and {} more (`identify --json` lists them all)", s.len() - SETS_SHOWN)?;
            }
        }
        Err(e) => writeln!(out, "Sets:           (ListSets failed: {e})")?,
    }
    writeln!(out, "\nThis tool will use:")?;
    writeln!(out, "  from/until as  {} (e.g. {})", g.as_str(), g.format(chrono::Utc::now()))?;
    writeln!(out, "  deletions      {deletions}")?;
    writeln!(out, "  compression    asks for gzip, deflate{}", if gzip { "" } else { " (not offered; identity it is)" })?;
    Ok(())
}

/// How many sets `identify` shows on a terminal.
const SETS_SHOWN: usize = 20;

/// The sources a `harvest` command names, resolved: one URL, one
/// `[source.NAME]`, or all of them; a flag the user gave wins over the
/// config, a flag not given changes nothing.
fn harvest_jobs(settings: &Settings, args: &HarvestArgs) -> anyhow::Result<Vec<(String, HarvestJob)>> {
    let mut out = Vec::new();
    match &args.target {
        Some(url) if url.contains("://") => {
            let url = super::base_url(url)?;
            let source = SourceKey { base_url: url.clone(), metadata_prefix: "oai_dc".into(), set_spec: None };
            out.push((url.clone(), HarvestJob { source, login: None, window: None, parallel: None, strict: false, search: true }));
        }
        Some(name) => match jobs::one(settings, Kind::Harvest, name) {
            Ok(jobs::Job { work: Work::Harvest(job), .. }) => out.push((name.clone(), job)),
            Ok(other) => unreachable!("a [source.*] resolves to a harvest, not {other:?}"),
            Err(problem) if !settings.source.contains_key(name) => {
                if looks_like_a_host(name) {
                    bail!("{name:?} is not a URL: a base URL starts with http:// or https:// (did you mean https://{name}?)");
                }
                bail!("{problem}, and not a URL")
            }
            Err(problem) => return Err(problem.into()),
        },
        None => {
            if settings.source.is_empty() {
                bail!("nothing to harvest: give a URL, or list sources as [source.NAME] tables in the config");
            }
            for name in settings.source.keys() {
                let Work::Harvest(job) = jobs::one(settings, Kind::Harvest, name)?.work else { unreachable!("a [source.*] resolves to a harvest") };
                out.push((name.clone(), job));
            }
        }
    }
    for (_, job) in &mut out {
        apply_flags(job, args);
    }
    Ok(out)
}

/// The flags given on the command line, over what the config says.
fn apply_flags(job: &mut HarvestJob, args: &HarvestArgs) {
    if let Some(prefix) = &args.prefix {
        job.source.metadata_prefix = prefix.clone();
    }
    if let Some(set) = &args.set {
        job.source.set_spec = Some(set.clone());
    }
    job.window = args.window.or(job.window);
    job.parallel = args.parallel.or(job.parallel);
    job.strict |= args.strict;
}

pub(super) async fn harvest(settings: &Settings, conns: Arc<Connections>, db: &Path, args: HarvestArgs, quiet: bool) -> anyhow::Result<()> {
    let jobs = harvest_jobs(settings, &args)?;
    let range = Range { from: args.from.clone(), until: args.until.clone(), full: args.full };
    let store = Arc::new(Mutex::new(open(db)?));
    // Sources are independent: several at once, each host at most
    // `[harvest] max_requests` requests in flight whatever its number of
    // sources (the clients share `conns`' hosts).
    let at_once = args.jobs.unwrap_or(settings.harvest.jobs).max(1);
    let bars = indicatif::MultiProgress::new();
    // Under the sources' lines, how many are done.
    let total = (jobs.len() > 1 && !quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = bars.add(indicatif::ProgressBar::new(jobs.len() as u64));
        bar.set_style(indicatif::ProgressStyle::with_template("  all: {pos} of {len} sources done, {msg}").expect("a valid template"));
        bar.set_message(format!("{at_once} at once"));
        bar
    });
    let slots = Arc::new(tokio::sync::Semaphore::new(at_once));
    let mut running = tokio::task::JoinSet::new();
    for (name, job) in jobs {
        let (settings, conns, store, range, slots) = (settings.clone(), conns.clone(), store.clone(), range.clone(), slots.clone());
        let bars = bars.clone();
        running.spawn(async move {
            let _slot = slots.acquire_owned().await.expect("the semaphore is never closed");
            let progress = progress_for(&name, quiet, Some(&bars));
            let result = runs::harvest(&settings, &conns, store, &name, &job, &range, progress.clone()).await;
            progress.finish();
            (name, result)
        });
    }
    let mut failures: Vec<anyhow::Error> = Vec::new();
    while let Some(joined) = running.join_next().await {
        // Each source's line as it finishes.
        let (name, result) = joined.map_err(|e| anyhow::anyhow!("a harvest task panicked: {e}"))?;
        if let Some(total) = &total {
            total.inc(1);
        }
        match result {
            Ok(summary) => {
                let line =
                    if args.json { serde_json::to_string(&serde_json::json!({"source": name, "summary": summary}))? } else { summary_line(&name, &summary) };
                bars.suspend(|| writeln!(super::terminal::stdout(), "{line}"))?;
            }
            Err(e) => {
                let line = format!("{name}: harvest failed: {e:#}{}", advice(&e).map(|a| format!(" ({a})")).unwrap_or_default());
                bars.suspend(|| super::terminal::eprint_line(&line));
                failures.push(e);
            }
        }
    }
    if let Some(total) = total {
        total.finish_and_clear();
    }
    let failed = failures.len();
    let resumable = failures.iter().any(worth_resuming);
    if failed > 0 && resumable {
        bail!("{failed} harvest(s) failed; run again to resume where they stopped");
    }
    if failed > 0 {
        bail!("{failed} harvest(s) failed");
    }
    Ok(())
}

/// The OAI-PMH error behind a failed harvest, if that is what failed.
fn oai_error(e: &anyhow::Error) -> Option<&oai::Error> {
    e.chain().find_map(|c| c.downcast_ref::<oai::Error>())
}

/// Whether running again may get further: retries ran out on a failure
/// that may pass. An answer that will be the same next time (an OAI-PMH
/// error, HTTP 404 or 413, a page that is not OAI-PMH, a host that does
/// not exist) is not worth resuming.
fn worth_resuming(e: &anyhow::Error) -> bool {
    oai_error(e).is_some_and(oai::Error::is_transient)
}

/// What to do about a failure that running again will not mend.
fn advice(e: &anyhow::Error) -> Option<&'static str> {
    let error = oai_error(e)?;
    if let Some(code) = error.oai_code() {
        return match code {
            oai::ErrorCode::CannotDisseminateFormat => {
                Some("the repository does not offer this metadataPrefix: `oai-mirror identify URL` lists the ones it has")
            }
            oai::ErrorCode::BadArgument => Some("the repository refused an argument: check --set, --from and --until against `oai-mirror identify URL`"),
            _ => None,
        };
    }
    let last = match error {
        oai::Error::RetriesExhausted { last, .. } => last.as_ref(),
        other => other,
    };
    match last {
        oai::Error::Http { .. } if !last.is_retryable() => Some("check the host name in the base URL"),
        oai::Error::NotOaiPmh { .. } | oai::Error::Status { status: 404, .. } => Some("check the base URL: `oai-mirror identify URL` tries it"),
        _ => None,
    }
}

/// A progress bar on a terminal, a log line every ten seconds otherwise.
struct Reporter {
    name: String,
    started: Instant,
    list: Mutex<ListState>,
    out: Output,
}

enum Output {
    Bar(indicatif::ProgressBar),
    Lines {
        last: Mutex<Instant>,
    },
    /// `--quiet`.
    Nothing,
}

/// Records seen in the list in flight (the window's, or the run's).
#[derive(Default)]
struct ListState {
    window: Option<String>,
    done: u64,
}

impl Reporter {
    fn finish(&self) {
        if let Output::Bar(bar) = &self.out {
            bar.finish_and_clear();
        }
    }
}

/// How often a harvest whose standard error is not a terminal (a log file,
/// journald) says how far it is: at most once a minute.
const LOG_PROGRESS_EVERY: Duration = Duration::from_secs(60);

/// A source's progress: a line of its own under `bars` on a terminal
/// (one per source harvested at once), else a line now and then.
fn progress_for(name: &str, quiet: bool, bars: Option<&indicatif::MultiProgress>) -> Arc<Reporter> {
    let now = Instant::now();
    let out = if quiet {
        Output::Nothing
    } else if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        let bar = match bars {
            Some(bars) => bars.add(bar),
            None => bar,
        };
        bar.set_prefix(name.to_string());
        bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg}").expect("a valid template"));
        bar.enable_steady_tick(Duration::from_millis(200));
        Output::Bar(bar)
    } else {
        Output::Lines { last: Mutex::new(now) }
    };
    Arc::new(Reporter { name: name.to_string(), started: now, list: Mutex::new(ListState::default()), out })
}

/// `1h02m`, `3m10s`, `12s`.
fn duration_text(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// The progress line: what the run has done, and where the list in flight
/// stands when the repository says how long it is (`x of
/// completeListSize`, with an estimate of the time left at the run's rate).
fn progress_text(t: &Tally, window: Option<&str>, done_in_list: u64, list_size: Option<u64>, elapsed: Duration) -> String {
    let rate = t.records as f64 / elapsed.as_secs_f64().max(1e-3);
    let mut text = format!("{} records, {} pages, {rate:.0} records/s", t.records, t.pages);
    if t.repairs > 0 {
        text.push_str(&format!(", {} repairs", t.repairs));
    }
    if let Some(w) = window {
        text.push_str(&format!("; window {w}"));
    }
    if let Some(size) = list_size.filter(|s| *s > 0) {
        let done = done_in_list.min(size);
        text.push_str(&format!("{} {done} of {size} ({}%)", if window.is_some() { ":" } else { ";" }, done * 100 / size));
        if rate >= 1.0 && done < size {
            text.push_str(&format!(", about {} left", duration_text(((size - done) as f64 / rate) as u64)));
        }
    }
    text
}

impl Progress for Reporter {
    fn page_committed(&self, t: &Tally, list: &ListProgress) {
        let done = {
            let mut state = crate::util::lock(&self.list);
            if state.window != list.window {
                *state = ListState { window: list.window.clone(), done: 0 };
            }
            state.done += list.page_records;
            state.done
        };
        match &self.out {
            Output::Bar(bar) => bar.set_message(progress_text(t, list.window.as_deref(), done, list.complete_list_size, self.started.elapsed())),
            Output::Nothing => {}
            Output::Lines { last } => {
                let mut last = crate::util::lock(last);
                if last.elapsed() >= LOG_PROGRESS_EVERY {
                    *last = Instant::now();
                    let text = progress_text(t, list.window.as_deref(), done, list.complete_list_size, self.started.elapsed());
                    tracing::info!(source = %self.name, records = t.records, pages = t.pages, "progress: {text}");
                }
            }
        }
    }
}

/// The one line a finished harvest prints: what matters first, the rest
/// only when there is some, so that it fits 100 columns.
fn summary_line(name: &str, s: &crate::harvest::Summary) -> String {
    let rate = s.records as f64 / s.seconds.max(1e-9);
    let mut line = format!("{name}: {} records ({} deleted), {} pages, {:.1}s, {rate:.0}/s", s.records, s.deleted, s.pages, s.seconds);
    // Requests beyond one per page (and Identify) are retries: worth a look.
    let extra_requests = if s.requests > s.pages + 1 { s.requests } else { 0 };
    for (n, what) in [
        (extra_requests, "requests"),
        (s.repairs, "repairs"),
        (s.restarts, "window restarts"),
        (s.skipped, "skipped (see the log)"),
        (s.vanished, "no longer listed (marked deleted)"),
        (s.outside, "outside the range asked for (see the log)"),
    ] {
        if n > 0 {
            line.push_str(&format!(", {n} {what}"));
        }
    }
    if s.resumed {
        line.push_str(", resumed");
    }
    line.push_str(&format!("; next from {}", s.next_from.as_deref().unwrap_or("-")));
    line
}

#[cfg(test)]
mod tests;
