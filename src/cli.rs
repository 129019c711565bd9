//! The command line. Only this module and `main.rs` print.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};


use anyhow::{Context, bail};
use checkpoints::{SourceKey, Store, Tally};
use clap::{Parser, Subcommand};

use crate::harvest::{self, HarvestRequest, Progress, Window};
use crate::settings::Settings;

#[derive(Debug, Parser)]
#[command(name = "oai-mirror", version, about = "Keeps copies of OAI-PMH repositories in step, in an embedded SQLite store")]
pub struct Cli {
    /// The database file [default: the user's data directory; env: OAI_MIRROR_DB]
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// The config file [env: OAI_MIRROR_CONFIG; default: oai-mirror/config.toml in the user's config directory]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Log lines as text or JSON (filter with RUST_LOG)
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// What a repository says about itself, and what this tool will use
    Identify {
        /// The repository's base URL
        url: String,
    },
    /// Harvest a repository (a URL or a [source.NAME] from the config; all of them if none) into the store
    Harvest(HarvestArgs),
    /// A running daemon's jobs; else, per source: records, deletions, repairs, last run, next `from`, in-flight token
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Run every job on its schedule, with a control endpoint to trigger jobs and read status and metrics
    Run {
        /// The control endpoint [default: [daemon] listen, or 127.0.0.1:7878]
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Allow a control endpoint on an address other than loopback
        #[arg(long)]
        allow_remote: bool,
    },
    /// List stored records
    Records {
        /// Only this source's records (its base URL)
        #[arg(long)]
        source: Option<String>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Work with the wikis of the config
    #[command(subcommand)]
    Wiki(WikiCommand),
    /// Work with the config file
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Pull a wiki's changes into the store: pages by id, moves, deletions
    Mirror {
        /// A [wiki.NAME] of the config
        name: String,
        /// The change feed [default: oai if the wiki has an `oai` URL, else api]
        #[arg(long, value_enum)]
        feed: Option<crate::mirror::pull::Feed>,
        /// Print the summary as JSON
        #[arg(long)]
        json: bool,
    },
    /// Sync two wikis both ways: merge, replay moves and deletions, push through the outbox
    Sync {
        /// A [sync.NAME] of the config
        name: String,
        /// Print the plan; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON
        #[arg(long)]
        json: bool,
    },
    /// List a sync's conflicts
    Conflicts {
        name: String,
        /// All of them, not only open ones; as JSON
        #[arg(long)]
        json: bool,
    },
    /// Show a sync's pending pushes and why they wait
    Queue { name: String },
    /// Settle a conflict: take one side's text, or a file's, and queue the pushes
    Resolve {
        name: String,
        /// The page's title
        title: String,
        /// `wiki`, `with`, or the path of a file holding the text to keep
        #[arg(long)]
        take: String,
    },
    /// List a mirrored wiki's pages
    Pages {
        name: String,
        /// One JSON object per page
        #[arg(long)]
        json: bool,
    },
    /// Print a mirrored page's text
    Show {
        name: String,
        /// The full title, namespace prefix included
        title: String,
        /// A revision id instead of the current one
        #[arg(long)]
        rev: Option<u64>,
    },
    /// List a mirrored page's revisions and the titles it had
    History { name: String, title: String },
    /// Print one record's raw metadata
    Record {
        identifier: String,
        /// The source's base URL, when several have the identifier
        #[arg(long)]
        source: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate it: unknown keys, bad schedules, missing secrets, unreachable URLs, each with its line
    Check {
        /// Do not try the URLs
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WikiCommand {
    /// Log in and show the site, its version, the account's rights that matter and the OAI endpoint
    Check {
        /// A [wiki.NAME] of the config
        #[arg(required_unless_present = "api", conflicts_with = "api")]
        name: Option<String>,
        /// The action API URL, instead of a NAME
        #[arg(long)]
        api: Option<String>,
        /// A bot password's login name (User@app)
        #[arg(long, requires = "api")]
        user: Option<String>,
        /// A file whose first line is the password
        #[arg(long, requires = "user")]
        password_file: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
pub struct HarvestArgs {
    /// A base URL, or the NAME of a [source.NAME] table
    pub target: Option<String>,
    /// The metadataPrefix
    #[arg(long, default_value = "oai_dc")]
    pub prefix: String,
    /// A setSpec
    #[arg(long)]
    pub set: Option<String>,
    /// Harvest from this date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ) instead of the checkpoint
    #[arg(long)]
    pub from: Option<String>,
    /// Harvest up to this date, inclusive
    #[arg(long)]
    pub until: Option<String>,
    /// Ignore the checkpoint: harvest everything (finds deletions a repository does not keep)
    #[arg(long, conflicts_with = "from")]
    pub full: bool,
    /// Split the range into windows, each checkpointed and resumable
    #[arg(long, value_enum)]
    pub window: Option<Window>,
    /// Refuse bodies with invalid UTF-8 or characters XML forbids instead of repairing them
    #[arg(long)]
    pub strict: bool,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config(ConfigCommand::Check { offline }) = &cli.command {
        return config_check(cli.config.as_deref(), !offline).await;
    }
    let settings = Settings::load(cli.config.as_deref())?;
    match cli.command {
        Command::Identify { url } => identify(&settings, &url).await,
        Command::Harvest(args) => {
            let db = settings.db_path(cli.db.as_deref())?;
            harvest_cmd(&settings, &db, args).await
        }
        Command::Status { json } => {
            if daemon_status(&settings, json).await? {
                return Ok(());
            }
            status(&open(&settings.db_path(cli.db.as_deref())?)?, json)
        }
        Command::Run { listen, allow_remote } => {
            let addr = crate::daemon::listen_address(&settings, listen.as_deref(), allow_remote)?;
            let store = open(&settings.db_path(cli.db.as_deref())?)?;
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
            tracing::info!(%addr, "control endpoint: POST /trigger/JOB, GET /status, GET /metrics");
            crate::daemon::serve(settings, store, listener, signals()).await
        }
        Command::Records { source, json } => records(&open(&settings.db_path(cli.db.as_deref())?)?, source.as_deref(), json),
        Command::Mirror { name, feed, json } => mirror_cmd(&settings, &settings.db_path(cli.db.as_deref())?, &name, feed, json).await,
        Command::Sync { name, dry_run, json } => sync_cmd(&settings, &settings.db_path(cli.db.as_deref())?, &name, dry_run, json).await,
        Command::Conflicts { name, json } => conflicts_cmd(&open(&settings.db_path(cli.db.as_deref())?)?, &name, json),
        Command::Resolve { name, title, take } => resolve_cmd(&settings, &open(&settings.db_path(cli.db.as_deref())?)?, &name, &title, &take),
        Command::Queue { name } => queue_cmd(&open(&settings.db_path(cli.db.as_deref())?)?, &name),
        Command::Pages { name, json } => pages_cmd(&open(&settings.db_path(cli.db.as_deref())?)?, &name, json),
        Command::Show { name, title, rev } => show_cmd(&open(&settings.db_path(cli.db.as_deref())?)?, &name, &title, rev),
        Command::History { name, title } => history_cmd(&open(&settings.db_path(cli.db.as_deref())?)?, &name, &title),
        Command::Config(_) => unreachable!("handled before the settings are loaded"),
        Command::Wiki(WikiCommand::Check { name, api, user, password_file }) => wiki_check(&settings, name, api, user, password_file).await,
        Command::Record { identifier, source } => record(&open(&settings.db_path(cli.db.as_deref())?)?, &identifier, source.as_deref()),
    }
}

async fn config_check(explicit: Option<&Path>, online: bool) -> anyhow::Result<()> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => Settings::config_path(None).context("no config file: pass --config PATH or set OAI_MIRROR_CONFIG")?,
    };
    let problems = crate::check::check(&path, online).await?;
    for p in &problems {
        match p.line {
            Some(l) => eprintln!("{}:{l}: {}", path.display(), p.message),
            None => eprintln!("{}: {}", path.display(), p.message),
        }
    }
    if problems.is_empty() {
        println!("{}: ok", path.display());
        Ok(())
    } else {
        bail!("{} problem(s) in {}", problems.len(), path.display())
    }
}

/// Completes at the first SIGTERM or SIGINT; a second one exits at once
/// (nothing is lost: every step is committed where it happens).
async fn signals() {
    async fn next() {
        #[cfg(unix)]
        {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("a SIGTERM handler");
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
    next().await;
    tracing::info!("stopping (a second signal stops at once)");
    tokio::spawn(async {
        next().await;
        tracing::warn!("second signal: stopping now");
        std::process::exit(130);
    });
}

/// Prints a running daemon's status; false if none answers.
async fn daemon_status(settings: &Settings, json: bool) -> anyhow::Result<bool> {
    let Ok(token) = settings.daemon_token() else { return Ok(false) };
    crate::util::install_tls();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(3)).build()?;
    let url = format!("http://{}/status", settings.daemon.listen);
    let Ok(resp) = client.get(&url).bearer_auth(token).send().await else { return Ok(false) };
    if !resp.status().is_success() {
        bail!("the daemon at {url} answered HTTP {}", resp.status());
    }
    let jobs: Vec<crate::daemon::core::JobStatus> = serde_json::from_slice(&resp.bytes().await?)?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&jobs)?)?;
        return Ok(true);
    }
    let when = |t: &Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()).unwrap_or_else(|| "-".into());
    for j in jobs {
        writeln!(
            out,
            "{}: {}{}, last {} at {}, next {}, {} runs ({} failed), {} items{}{}",
            j.job,
            if j.running { "running" } else { "idle" },
            j.schedule.as_ref().map(|s| format!(" [{s} {}]", j.timezone.clone().unwrap_or_default())).unwrap_or_else(|| " [trigger only]".into()),
            j.last_outcome.as_deref().unwrap_or("never run"),
            when(&j.last_finished),
            when(&j.next_run),
            j.runs,
            j.failures,
            j.items_total,
            if j.queue > 0 { format!(", {} queued", j.queue) } else { String::new() },
            j.last_error.as_ref().map(|e| format!("; error: {e}")).unwrap_or_default(),
        )?;
    }
    Ok(true)
}

fn open(path: &Path) -> anyhow::Result<Store> {
    Ok(Store::open(path)?)
}

async fn identify(settings: &Settings, url: &str) -> anyhow::Result<()> {
    // A person is waiting: a few quick retries, not a harvest's patience.
    let mut options = settings.client_options(false);
    options.retry.max_attempts = options.retry.max_attempts.min(3);
    options.retry.initial_backoff = options.retry.initial_backoff.min(std::time::Duration::from_secs(1));
    let client = oai::Client::new(url, options)?;
    let id = client.identify().await?.value;
    let formats = client.list_metadata_formats(None).await.map(|f| f.value);
    let mut out = std::io::stdout().lock();
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

async fn harvest_cmd(settings: &Settings, db: &Path, args: HarvestArgs) -> anyhow::Result<()> {
    // Which sources: one URL, one named source, or every named source.
    let mut jobs: Vec<(String, SourceKey, Option<Window>, bool)> = Vec::new();
    match &args.target {
        Some(t) if t.contains("://") => jobs.push((
            t.clone(),
            SourceKey { base_url: t.clone(), metadata_prefix: args.prefix.clone(), set_spec: args.set.clone() },
            args.window,
            args.strict,
        )),
        Some(name) => {
            let s = settings.source.get(name).with_context(|| format!("no [source.{name}] in the config, and not a URL"))?;
            jobs.push((name.clone(), source_key(s, &args), args.window.or(s.window), args.strict || s.strict));
        }
        None => {
            if settings.source.is_empty() {
                bail!("nothing to harvest: give a URL, or list sources as [source.NAME] tables in the config");
            }
            for (name, s) in &settings.source {
                jobs.push((name.clone(), source_key(s, &args), args.window.or(s.window), args.strict || s.strict));
            }
        }
    }
    let store = Arc::new(Mutex::new(open(db)?));
    let mut failed = 0;
    for (name, key, window, strict) in jobs {
        let client = oai::Client::new(&key.base_url, settings.client_options(strict))?;
        let request = HarvestRequest { source: key, from: args.from.clone(), until: args.until.clone(), full: args.full, window };
        let progress = progress_for(&name);
        let result = harvest::harvest(store.clone(), &client, &request, progress.clone()).await;
        progress.finish();
        match result {
            Ok(summary) => {
                if args.json {
                    println!("{}", serde_json::to_string(&serde_json::json!({"source": name, "summary": summary}))?);
                } else {
                    let rate = summary.records as f64 / summary.seconds.max(1e-9);
                    println!(
                        "{name}: {} records ({} deleted) in {} pages, {} requests, {} repairs, {} window restarts, {:.1}s ({rate:.0} records/s){}; next from {}",
                        summary.records,
                        summary.deleted,
                        summary.pages,
                        summary.requests,
                        summary.repairs,
                        summary.restarts,
                        summary.seconds,
                        if summary.resumed { ", resumed" } else { "" },
                        summary.next_from.as_deref().unwrap_or("-"),
                    );
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("{name}: harvest failed: {e:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} harvest(s) failed; run again to resume where they stopped");
    }
    Ok(())
}

fn source_key(s: &crate::settings::SourceSettings, args: &HarvestArgs) -> SourceKey {
    SourceKey { base_url: s.url.clone(), metadata_prefix: s.prefix.clone(), set_spec: args.set.clone().or(s.set.clone()) }
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

fn status(store: &Store, json: bool) -> anyhow::Result<()> {
    let all = store.status()?;
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<_> = all
            .iter()
            .map(|s| {
                let run = s.last_run.as_ref();
                serde_json::json!({
                    "url": s.source.key.base_url,
                    "prefix": s.source.key.metadata_prefix,
                    "set": s.source.key.set_spec,
                    "granularity": s.source.granularity,
                    "records": s.records,
                    "deleted": s.deleted,
                    "repairs": s.repairs,
                    "metadata_bytes_received": s.metadata_received,
                    "metadata_bytes_stored": s.metadata_stored,
                    "next_from": s.source.next_from,
                    "in_flight_token": run.filter(|r| r.state == checkpoints::RunState::Running).and_then(|r| r.position.token.clone()),
                    "last_run": run.map(|r| serde_json::json!({
                        "id": r.id,
                        "state": r.state.as_str(),
                        "started_at": r.started_at,
                        "finished_at": r.finished_at,
                        "from": r.plan.range_from,
                        "until": r.plan.range_until,
                        "window": r.plan.window,
                        "window_from": r.position.window_from,
                        "server_started": r.server_started,
                        "pages": r.tally.pages,
                        "records": r.tally.records,
                        "deleted": r.tally.deleted,
                        "repairs": r.tally.repairs,
                        "requests": r.tally.requests,
                        "restarts": r.tally.restarts,
                        "last_error": r.last_error,
                    })),
                })
            })
            .collect();
        writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
        return Ok(());
    }
    let megabytes = |n: u64| format!("{:.1} MB", n as f64 / 1e6);
    if all.is_empty() {
        writeln!(out, "no sources harvested yet")?;
    }
    for s in &all {
        let k = &s.source.key;
        writeln!(out, "{} [{}{}]", k.base_url, k.metadata_prefix, k.set_spec.as_ref().map(|s| format!(" set {s}")).unwrap_or_default())?;
        writeln!(out, "  records   {} ({} deleted), {} repairs", s.records, s.deleted, s.repairs)?;
        writeln!(out, "  metadata  {} received, {} stored", megabytes(s.metadata_received), megabytes(s.metadata_stored))?;
        writeln!(out, "  next from {}", s.source.next_from.as_deref().unwrap_or("(none: the next harvest is full)"))?;
        if let Some(r) = &s.last_run {
            let when = chrono::DateTime::from_timestamp(r.started_at, 0).map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()).unwrap_or_default();
            writeln!(
                out,
                "  last run  {} at {when}: {} records in {} pages, {} requests, from {}",
                r.state.as_str(),
                r.tally.records,
                r.tally.pages,
                r.tally.requests,
                r.plan.range_from.as_deref().unwrap_or("the beginning")
            )?;
            if r.state == checkpoints::RunState::Running {
                writeln!(out, "  in flight window from {}, token {}", r.position.window_from.as_deref().unwrap_or("-"), r.position.token.as_deref().unwrap_or("(window start)"))?;
            }
            if let Some(e) = &r.last_error {
                writeln!(out, "  error     {e}")?;
            }
        }
    }
    Ok(())
}

async fn mirror_cmd(settings: &Settings, db: &Path, name: &str, feed: Option<crate::mirror::pull::Feed>, json: bool) -> anyhow::Result<()> {
    let store = Arc::new(Mutex::new(open(db)?));
    let summary = crate::tasks::mirror_wiki(settings, store, name, feed).await?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "{name}: {} pages seen through {}: {} created, {} updated, {} moved, {} deleted, {} undeleted, {} moved aside; {} requests{}",
            summary.pages_seen,
            summary.feed,
            summary.created,
            summary.updated,
            summary.moved,
            summary.deleted,
            summary.undeleted,
            summary.displaced,
            summary.requests,
            if summary.wrote { "" } else { ", nothing written" },
        );
    }
    Ok(())
}

async fn sync_cmd(settings: &Settings, db: &Path, name: &str, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let store = Arc::new(Mutex::new(open(db)?));
    let report = crate::tasks::sync_pair(settings, store, name, dry_run).await?;
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for line in &report.lines {
            println!("{line}");
        }
        println!(
            "{name}: {} pushes, {} merged, {} conflicts, {} moves, {} deletions, {} created, {} revived, {} failed, {} queued; {} requests{}",
            report.pushes, report.merged, report.conflicts, report.moves, report.deletes, report.created, report.revived, report.failed, report.queued, report.requests,
            if dry_run { " (dry run: nothing written)" } else { "" }
        );
    }
    if report.failed > 0 {
        bail!("{} write(s) did not go through; they are retried or decided again on the next run", report.failed);
    }
    Ok(())
}

fn conflicts_cmd(store: &Store, name: &str, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for c in store.conflicts(name, !json)? {
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"id": c.conflict_id, "title": c.title, "policy": c.policy, "wiki_rev": c.wiki_rev, "with_rev": c.with_rev,
                    "wiki_user": c.wiki_user, "with_user": c.with_user, "wiki_text": c.wiki_text, "with_text": c.with_text,
                    "resolved_text": c.resolved_text, "created_at": c.created_at, "resolved_at": c.resolved_at})
            )?;
        } else {
            writeln!(out, "{}\t[[{}]]\t{} (rev {}) vs {} (rev {})\t{}", c.conflict_id, c.title, c.wiki_user, c.wiki_rev, c.with_user, c.with_rev, c.policy)?;
        }
    }
    Ok(())
}

fn resolve_cmd(settings: &Settings, store: &Store, name: &str, title: &str, take: &str) -> anyhow::Result<()> {
    settings.sync.get(name).with_context(|| format!("no [sync.{name}] in the config"))?;
    let conflict = store.conflicts(name, true)?.into_iter().rev().find(|c| c.title == title).with_context(|| format!("no open conflict on [[{title}]] in sync {name}"))?;
    let text = match take {
        "wiki" => conflict.wiki_text,
        "with" => conflict.with_text,
        path => std::fs::read_to_string(path).with_context(|| format!("--take {path}: neither wiki, with, nor a readable file"))?,
    };
    let queued = crate::sync::run::resolve(store, name, title, &text)?;
    println!("[[{title}]]: conflict settled; {queued} push(es) queued for the next `oai-mirror sync {name}`");
    Ok(())
}

fn queue_cmd(store: &Store, name: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let jobs = store.jobs(name)?;
    if jobs.is_empty() {
        writeln!(out, "no pending pushes")?;
    }
    for j in jobs {
        let why = if j.sent {
            "sent, outcome unknown: checked on the target at the next run".to_string()
        } else {
            format!("waiting until {} after {} attempt(s): {}", chrono::DateTime::from_timestamp(j.next_try, 0).map(|t| t.to_rfc3339()).unwrap_or_default(), j.attempts, j.last_error.as_deref().unwrap_or("-"))
        };
        writeln!(out, "{}\t[[{}]] to {} (base rev {})\t{why}", j.job_id, j.title, j.target, j.base_rev)?;
    }
    Ok(())
}

fn pages_cmd(store: &Store, name: &str, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for p in store.wiki_pages(name)? {
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"id": p.pageid, "title": p.title, "ns": p.ns, "rev": p.rev_id, "sha1": p.sha1, "redirect": p.redirect, "deleted": p.deleted, "displaced": p.displaced})
            )?;
        } else {
            let flags = [(p.deleted, "deleted"), (p.displaced, "moved aside"), (p.redirect.is_some(), "redirect")]
                .iter()
                .filter(|f| f.0)
                .map(|f| f.1)
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(out, "{}\t{}\trev {}\t{}", p.pageid, p.title, p.rev_id.unwrap_or(0), flags)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// A stored page by its full title (the namespace is read from the stored rows).
fn find_page(store: &Store, name: &str, title: &str) -> anyhow::Result<checkpoints::StoredPage> {
    let pages = store.wiki_pages(name)?;
    let mut matching: Vec<_> = pages.into_iter().filter(|p| p.title == title).collect();
    matching.sort_by_key(|p| p.deleted);
    matching.into_iter().next().with_context(|| format!("no page [[{title}]] in the mirror of {name}"))
}

fn show_cmd(store: &Store, name: &str, title: &str, rev: Option<u64>) -> anyhow::Result<()> {
    let page = find_page(store, name, title)?;
    let revid = rev.or(page.rev_id).with_context(|| format!("[[{title}]] has no revision in the mirror"))?;
    let r = store.wiki_revision(name, revid)?.with_context(|| format!("revision {revid} is not in the mirror of {name}"))?;
    if store.wiki_revisions(name, page.pageid)?.iter().all(|x| x.revid != revid) {
        bail!("revision {revid} belongs to another page than [[{title}]]");
    }
    let mut out = std::io::stdout().lock();
    out.write_all(r.text.as_bytes())?;
    if !r.text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn history_cmd(store: &Store, name: &str, title: &str) -> anyhow::Result<()> {
    let page = find_page(store, name, title)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "page {}{}", page.pageid, if page.deleted { " (deleted)" } else { "" })?;
    for t in store.wiki_titles(name, page.pageid)? {
        writeln!(out, "title  {}  since {}", t.title, t.since)?;
    }
    for r in store.wiki_revisions(name, page.pageid)? {
        writeln!(out, "rev {}  parent {}  {}  {}  {}", r.revid, r.parentid, r.timestamp, r.user, r.comment)?;
    }
    Ok(())
}

/// The rights two-way sync needs; a one-way mirror needs none of them.
const RIGHTS: [&str; 5] = ["edit", "move", "delete", "suppressredirect", "bot"];

async fn wiki_check(settings: &Settings, name: Option<String>, api: Option<String>, user: Option<String>, password_file: Option<PathBuf>) -> anyhow::Result<()> {
    use crate::mediawiki::{MwError, Secret, Wiki, WikiOptions};
    let (mut options, oai_url) = match (&name, api) {
        (Some(n), _) => (settings.wiki_options(n)?, settings.wiki[n].oai.clone()),
        (None, Some(api)) => {
            let mut o = WikiOptions::new("(command line)", &api);
            o.user_agent = settings.user_agent();
            if let (Some(u), Some(f)) = (user, password_file) {
                o.login = Some((u, Secret::new(crate::settings::read_password_file(&f)?)));
            }
            (o, None)
        }
        (None, None) => bail!("give a wiki NAME or --api URL"),
    };
    // A person is waiting: fail fast on an unreachable host.
    options.max_attempts = 2;
    let wiki_name = options.name.clone();
    let api_url = options.api.clone();
    let has_login = options.login.is_some();
    let wiki = Wiki::new(options)?;
    let site = wiki.siteinfo().await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "Wiki:       {wiki_name} ({api_url})")?;
    writeln!(out, "Site:       {}", site.sitename)?;
    writeln!(out, "Software:   {}", site.generator)?;
    // The account's missing rights, named after the account.
    let mut missing: Option<(String, Vec<String>)> = None;
    if has_login {
        let me = wiki.userinfo().await?;
        writeln!(out, "Account:    {} (groups: {})", me.name, me.groups.iter().filter(|g| !g.starts_with('*')).cloned().collect::<Vec<_>>().join(", "))?;
        let rights: Vec<String> = RIGHTS.iter().map(|r| format!("{r} {}", if me.has(r) { "yes" } else { "NO" })).collect();
        writeln!(out, "Rights:     {}", rights.join(", "))?;
        let lacking: Vec<String> = RIGHTS.iter().filter(|r| !me.has(r)).map(|r| r.to_string()).collect();
        if !lacking.is_empty() {
            missing = Some((me.name, lacking));
        }
    } else {
        writeln!(out, "Account:    none configured (read-only)")?;
    }
    match oai_url {
        None => writeln!(out, "OAI:        not configured (changes come from the action API)")?,
        Some(url) => {
            let answer = match oai::Client::new(&url, settings.client_options(false)) {
                Ok(c) => c.identify().await.map(|i| i.value.repository_name).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match answer {
                Ok(name) => writeln!(out, "OAI:        {url} answers Identify ({name})")?,
                Err(e) => writeln!(out, "OAI:        {url} does not answer Identify: {e}")?,
            }
        }
    }
    drop(out);
    if let Some((user, missing)) = missing {
        return Err(MwError::MissingRights { wiki: wiki_name, user, missing }.into());
    }
    Ok(())
}

fn source_id(store: &Store, url: Option<&str>) -> anyhow::Result<Option<i64>> {
    let Some(url) = url else { return Ok(None) };
    let ids: Vec<i64> = store.sources()?.into_iter().filter(|s| s.key.base_url == url).map(|s| s.id).collect();
    match ids.as_slice() {
        [] => bail!("no source with base URL {url} in the store"),
        [id] => Ok(Some(*id)),
        _ => bail!("several sources have base URL {url} (different prefixes or sets); this filter takes one"),
    }
}

fn records(store: &Store, source: Option<&str>, json: bool) -> anyhow::Result<()> {
    let id = source_id(store, source)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
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

fn record(store: &Store, identifier: &str, source: Option<&str>) -> anyhow::Result<()> {
    let id = source_id(store, source)?;
    let found: Vec<_> = store.record(identifier)?.into_iter().filter(|r| id.is_none_or(|i| r.source_id == i)).collect();
    let Some(r) = found.first() else { bail!("no record {identifier} in the store") };
    if found.len() > 1 {
        tracing::warn!(copies = found.len(), "several sources hold this record; showing the first (use --source)");
    }
    match &r.metadata {
        Some(m) => {
            let mut out = std::io::stdout().lock();
            out.write_all(m)?;
            out.write_all(b"\n")?;
            Ok(())
        }
        None if r.deleted => bail!("record {identifier} is deleted (datestamp {})", r.datestamp),
        None => bail!("record {identifier} has no metadata"),
    }
}
