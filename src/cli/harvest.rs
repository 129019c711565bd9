//! `identify`, `harvest`, `records` and `record`.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::bail;
use checkpoints::{SourceKey, Store, Tally};

use super::{HarvestArgs, open};
use crate::harvest::Progress;
use crate::jobs::{self, HarvestJob, Kind, Work};
use crate::settings::Settings;
use crate::tasks::{self, Range};

pub(super) async fn identify(settings: &Settings, url: &str) -> anyhow::Result<()> {
    // A person is waiting: a few quick retries, not a harvest's patience.
    let mut options = settings.client_options(false);
    options.retry.max_attempts = options.retry.max_attempts.min(3);
    options.retry.initial_backoff = options.retry.initial_backoff.min(Duration::from_secs(1));
    let client = oai::Client::new(url, options)?;
    let id = client.identify().await?.value;
    let formats = client.list_metadata_formats(None).await.map(|f| f.value);
    let mut out = super::terminal::stdout();
    writeln!(out, "Repository:     {}", id.repository_name)?;
    writeln!(out, "Base URL:       {}", id.base_url)?;
    writeln!(out, "Protocol:       {}", id.protocol_version)?;
    writeln!(out, "Admin:          {}", id.admin_emails.join(", "))?;
    writeln!(out, "Earliest:       {}", id.earliest_datestamp)?;
    writeln!(out, "Granularity:    {}", id.granularity_text)?;
    writeln!(out, "Deleted records: {}", id.deleted_record.map_or("(not stated)", |d| d.as_str()))?;
    writeln!(out, "Compression:    {}", if id.compression.is_empty() { "(none stated)".to_string() } else { id.compression.join(", ") })?;
    match formats {
        Ok(f) => writeln!(out, "Formats:        {}", f.iter().map(|f| f.prefix.as_str()).collect::<Vec<_>>().join(", "))?,
        Err(e) => writeln!(out, "Formats:        (ListMetadataFormats failed: {e})")?,
    }
    writeln!(out, "\nThis tool will use:")?;
    let g = id.granularity();
    writeln!(out, "  from/until as  {} (e.g. {})", g.as_str(), g.format(chrono::Utc::now()))?;
    let deletions = match id.deleted_record {
        Some(oai::DeletedRecord::Persistent) => "seen by every incremental harvest",
        Some(oai::DeletedRecord::Transient) => "seen only if harvested in time; run `harvest --full` now and then",
        _ => "not reported by this repository; only `harvest --full` finds them",
    };
    writeln!(out, "  deletions      {deletions}")?;
    let gzip = id.compression.iter().any(|c| c == "gzip" || c == "deflate");
    writeln!(out, "  compression    asks for gzip, deflate{}", if gzip { "" } else { " (not offered; identity it is)" })?;
    Ok(())
}

/// The sources a `harvest` command names, resolved: one URL, one
/// `[source.NAME]`, or all of them; a flag the user gave wins over the
/// config, a flag not given changes nothing.
fn harvest_jobs(settings: &Settings, args: &HarvestArgs) -> anyhow::Result<Vec<(String, HarvestJob)>> {
    let mut out = Vec::new();
    match &args.target {
        Some(url) if url.contains("://") => {
            let source = SourceKey { base_url: url.clone(), metadata_prefix: "oai_dc".into(), set_spec: None };
            out.push((url.clone(), HarvestJob { source, window: None, strict: false }));
        }
        Some(name) => match jobs::one(settings, Kind::Harvest, name) {
            Ok(jobs::Job { work: Work::Harvest(job), .. }) => out.push((name.clone(), job)),
            Ok(other) => unreachable!("a [source.*] resolves to a harvest, not {other:?}"),
            Err(_) if !settings.source.contains_key(name) => bail!("no [source.{name}] in the config, and not a URL"),
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
    job.strict |= args.strict;
}

pub(super) async fn harvest(settings: &Settings, db: &Path, args: HarvestArgs) -> anyhow::Result<()> {
    let jobs = harvest_jobs(settings, &args)?;
    let range = Range { from: args.from.clone(), until: args.until.clone(), full: args.full };
    let store = Arc::new(Mutex::new(open(db)?));
    let mut failed = 0;
    for (name, job) in jobs {
        let progress = progress_for(&name);
        let result = tasks::harvest(settings, store.clone(), &name, &job, &range, progress.clone()).await;
        progress.finish();
        match result {
            Ok(summary) => {
                if args.json {
                    writeln!(super::terminal::stdout(), "{}", serde_json::to_string(&serde_json::json!({"source": name, "summary": summary}))?)?;
                } else {
                    let rate = summary.records as f64 / summary.seconds.max(1e-9);
                    writeln!(
                        super::terminal::stdout(),
                        "{name}: {} records ({} deleted) in {} pages, {} requests, {} repairs, {} window restarts, {:.1}s ({rate:.0} records/s){}{}; next from {}",
                        summary.records,
                        summary.deleted,
                        summary.pages,
                        summary.requests,
                        summary.repairs,
                        summary.restarts,
                        summary.seconds,
                        if summary.resumed { ", resumed" } else { "" },
                        if summary.skipped > 0 {
                            format!(", {} records skipped (a header without identifier or datestamp; see the log)", summary.skipped)
                        } else {
                            String::new()
                        },
                        summary.next_from.as_deref().unwrap_or("-"),
                    )?;
                }
            }
            Err(e) => {
                failed += 1;
                super::terminal::eprint_line(&format!("{name}: harvest failed: {e:#}"));
            }
        }
    }
    if failed > 0 {
        bail!("{failed} harvest(s) failed; run again to resume where they stopped");
    }
    Ok(())
}

/// A progress bar on a terminal, a log line every ten seconds otherwise.
enum Reporter {
    Bar(indicatif::ProgressBar, Instant),
    Lines { name: String, started: Instant, last: Mutex<Instant> },
}

impl Reporter {
    fn finish(&self) {
        if let Reporter::Bar(bar, _) = self {
            bar.finish_and_clear();
        }
    }
}

fn progress_for(name: &str) -> Arc<Reporter> {
    let now = Instant::now();
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_prefix(name.to_string());
        bar.set_style(indicatif::ProgressStyle::with_template("{spinner} {prefix}: {msg}").expect("a valid template"));
        bar.enable_steady_tick(Duration::from_millis(200));
        Arc::new(Reporter::Bar(bar, now))
    } else {
        Arc::new(Reporter::Lines { name: name.to_string(), started: now, last: Mutex::new(now) })
    }
}

impl Progress for Reporter {
    fn page_committed(&self, t: &Tally) {
        match self {
            Reporter::Bar(bar, started) => {
                let rate = t.records as f64 / started.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!("{} records, {} pages, {} repairs, {rate:.0} records/s", t.records, t.pages, t.repairs));
            }
            Reporter::Lines { name, started, last } => {
                let mut last = crate::util::lock(last);
                if last.elapsed() >= Duration::from_secs(10) {
                    *last = Instant::now();
                    let rate = t.records as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    tracing::info!(source = %name, records = t.records, pages = t.pages, repairs = t.repairs, rate = rate as u64, "progress");
                }
            }
        }
    }
}

fn source_id(store: &Store, url: Option<&str>) -> anyhow::Result<Option<i64>> {
    let Some(url) = url else { return Ok(None) };
    let ids: Vec<i64> = store.sources_at(url)?.into_iter().map(|s| s.id).collect();
    match ids.as_slice() {
        [] => bail!("no source with base URL {url} in the store"),
        [id] => Ok(Some(*id)),
        _ => bail!("several sources have base URL {url} (different prefixes or sets); this filter takes one"),
    }
}

pub(super) fn records(store: &Store, source: Option<&str>, json: bool) -> anyhow::Result<()> {
    let id = source_id(store, source)?;
    let mut out = std::io::BufWriter::new(super::terminal::stdout());
    let mut err = None;
    store.for_each_record_header(id, |r| {
        let line = if json {
            serde_json::json!({
                "identifier": r.identifier,
                "datestamp": r.datestamp,
                "deleted": r.deleted,
                "sets": r.sets,
                "first_seen": r.first_seen,
                "last_seen": r.last_seen,
            })
            .to_string()
        } else {
            format!("{}\t{}\t{}\t{}", r.identifier, r.datestamp, if r.deleted { "deleted" } else { "-" }, r.sets.join(" "))
        };
        // A closed pipe (`| head`) ends the listing quietly.
        match writeln!(out, "{line}") {
            Ok(()) => true,
            Err(e) => {
                err = Some(e);
                false
            }
        }
    })?;
    match err {
        Some(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => {
            let _ = out.flush();
            Ok(())
        }
    }
}

pub(super) fn record(store: &Store, identifier: &str, source: Option<&str>) -> anyhow::Result<()> {
    let id = source_id(store, source)?;
    let found: Vec<_> = store.record(identifier)?.into_iter().filter(|r| id.is_none_or(|i| r.source_id == i)).collect();
    let Some(r) = found.first() else { bail!("no record {identifier} in the store") };
    if found.len() > 1 {
        tracing::warn!(copies = found.len(), "several sources hold this record; showing the first (use --source)");
    }
    match &r.metadata {
        Some(m) => {
            let mut out = super::terminal::stdout();
            out.write_all(m)?;
            out.write_all(b"\n")?;
            Ok(())
        }
        None if r.deleted => bail!("record {identifier} is deleted (datestamp {})", r.datestamp),
        None => bail!("record {identifier} has no metadata"),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn jobs_for(config: &str, command: &[&str]) -> Vec<(String, String, Option<String>)> {
        let settings: Settings = toml::from_str(config).unwrap();
        let Command::Harvest(args) = Cli::parse_from(command).command else { panic!("not a harvest") };
        harvest_jobs(&settings, &args).unwrap().into_iter().map(|(n, j)| (n, j.source.metadata_prefix, j.source.set_spec)).collect()
    }

    #[test]
    fn a_flag_given_wins_over_the_config_and_a_flag_not_given_changes_nothing() {
        let config = "[source.a]\nurl = \"http://a/oai\"\nprefix = \"marcxml\"\nset = \"s\"\n";
        let pair = |n: &str, p: &str, s: Option<&str>| (n.to_string(), p.to_string(), s.map(str::to_string));
        assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "a"]), [pair("a", "marcxml", Some("s"))]);
        assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "a", "--prefix", "oai_dc"]), [pair("a", "oai_dc", Some("s"))]);
        assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "--set", "t"]), [pair("a", "marcxml", Some("t"))]);
        assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "http://b/oai"]), [pair("http://b/oai", "oai_dc", None)]);
        assert_eq!(jobs_for(config, &["oai-mirror", "harvest", "http://b/oai", "--prefix", "mods"]), [pair("http://b/oai", "mods", None)]);
    }
}
