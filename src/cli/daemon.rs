//! `run` (the daemon) and `status` (the daemon's jobs if one answers, else
//! the store's sources).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use checkpoints::Store;

use crate::settings::Settings;

pub(super) async fn run(settings: Settings, db: PathBuf, listen: Option<&str>, allow_remote: bool) -> anyhow::Result<()> {
    let addr = crate::daemon::listen_address(&settings, listen, allow_remote)?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    tracing::info!(%addr, "control endpoint: POST /trigger/JOB, GET /status, GET /metrics");
    crate::daemon::serve(settings, db, listener, crate::daemon::shutdown_signals()).await
}

/// The daemon did not answer: the MTA should deliver the mail again later.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TryLater(pub String);

/// `notify`: one notification mail on standard input; the daemon's jobs
/// covering its wiki triggered. A mail this is not for is logged and
/// ignored: an MTA bounces a mail whose pipe fails, to the wiki.
pub(super) async fn notify(settings: &Settings, mut input: impl std::io::Read, dry_run: bool) -> anyhow::Result<()> {
    let mut raw = Vec::new();
    (&mut input).take(crate::mail::MAX_MAIL as u64).read_to_end(&mut raw).context("reading the mail from standard input")?;
    // The rest of an oversized mail is read and dropped: the MTA expects
    // its pipe read to the end.
    let beyond = std::io::copy(&mut input, &mut std::io::sink()).unwrap_or(0);
    if beyond > 0 {
        tracing::warn!(bytes = beyond, "the mail is longer than {} bytes; only its start is read", crate::mail::MAX_MAIL);
    }
    let wikis: Vec<(String, String)> = settings.wiki.iter().map(|(name, w)| (name.clone(), w.api.clone())).collect();
    let found = match crate::mail::page_of_mail(&raw, &wikis) {
        Ok(found) => found,
        Err(why) => {
            tracing::warn!("mail ignored: {why}");
            return Ok(());
        }
    };
    let (jobs, _) = crate::jobs::resolve(settings);
    let covering: Vec<String> =
        jobs.iter().filter(|j| found.wikis.iter().any(|w| j.resources().contains(&format!("wiki:{w}")))).map(crate::jobs::Job::id).collect();
    tracing::info!(wiki = %found.wikis.join(", "), title = %found.title, jobs = %covering.join(", "), "a notification mail");
    if covering.is_empty() {
        tracing::warn!("no job covers [wiki.{}]; nothing to trigger", found.wikis.join("], [wiki."));
        return Ok(());
    }
    if dry_run {
        let mut out = super::terminal::stdout();
        writeln!(out, "[[{}]] on {}: would trigger {}", found.title, found.wikis.join(", "), covering.join(", "))?;
        return Ok(());
    }
    let token = settings.daemon_token()?;
    for job in &covering {
        match crate::daemon::control::send_trigger(&settings.daemon.listen, &token, job).await {
            Ok(true) => tracing::info!(%job, "triggered"),
            Ok(false) => tracing::warn!(%job, "the daemon does not run this job (started with another config?)"),
            Err(e) => return Err(TryLater(format!("the daemon at {} did not take the trigger of {job}: {e:#}", settings.daemon.listen)).into()),
        }
    }
    Ok(())
}

/// `serve`: the store over OAI-PMH until SIGTERM or SIGINT.
pub(super) async fn serve(settings: Settings, db: PathBuf, listen: Option<&str>, allow_remote: bool, rename: Option<&[String]>) -> anyhow::Result<()> {
    if let Some([old, new]) = rename {
        return rename_served(&db, old, new).await;
    }
    let configured = settings.serve.clone().unwrap_or_default();
    let addr = crate::daemon::checked_address(listen.unwrap_or(&configured.listen), allow_remote, "the OAI-PMH server")?;
    // The database must be there to be served; opening it says so if not.
    let check = db.clone();
    tokio::task::spawn_blocking(move || Store::open_read_only(&check)).await??;
    // Served names are given once and kept; a store this process may not
    // write is served under the names it would be given.
    let (naming, named_settings) = (db.clone(), settings.clone());
    let named = tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut store = Store::open(&naming)?;
        crate::serve::name_repositories(&named_settings, &mut store)
    })
    .await?;
    if let Err(e) = named {
        tracing::warn!(error = %format!("{e:#}"), "served names could not be kept in the database: repositories are served under the names they would be given");
    }
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "serving the store over OAI-PMH: GET /oai lists the repositories, /oai/NAME serves one");
    let server = crate::serve::Server::new(std::sync::Arc::new(settings), db, format!("http://{bound}"));
    server.run(listener, crate::daemon::shutdown_signals()).await?;
    Ok(())
}

/// `read`: the reader, until SIGTERM or Ctrl-C.
pub(super) async fn read(settings: &Settings, db: PathBuf, listen: &str, allow_remote: bool) -> anyhow::Result<()> {
    let addr = crate::daemon::checked_address(listen, allow_remote, "the reader")?;
    // Reading makes nothing: a store that is not there yet is said so.
    if !db.exists() {
        return Err(checkpoints::Error::Missing { path: db.display().to_string() }.into());
    }
    // Brought to this program's schema once (its search index with it);
    // a store this process may not write is read as it is.
    let check = db.clone();
    tokio::task::spawn_blocking(move || match Store::open(&check) {
        Err(checkpoints::Error::ReadOnly { .. }) => Store::open_read_only(&check).map(drop),
        other => other.map(drop),
    })
    .await??;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(addr = %bound, "the reader is at http://{bound}/read/");
    let serve = settings.serve.clone().unwrap_or_default();
    let limits = crate::serve::guard::Limits {
        max_connections: serve.max_connections,
        per_ip: serve.max_connections_per_ip,
        idle: std::time::Duration::from_secs(serve.client_timeout_secs.max(1)),
        request: std::time::Duration::from_secs(serve.request_timeout_secs.max(1)),
    };
    let reader = crate::read::Reader { db, files_dir: settings.files.dir.clone() };
    reader.run(listener, limits, crate::daemon::shutdown_signals()).await?;
    Ok(())
}

/// Renames a served repository, saying what that breaks.
async fn rename_served(db: &Path, old: &str, new: &str) -> anyhow::Result<()> {
    if new.is_empty() || !new.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) || new == "wiki" {
        anyhow::bail!("{new:?} cannot be a served name: use letters, digits, '.', '_' and '-' (and not \"wiki\")");
    }
    let db = db.to_path_buf();
    let (o, n) = (old.to_string(), new.to_string());
    let renamed = tokio::task::spawn_blocking(move || Store::open(&db)?.rename_served(&o, &n)).await??;
    if !renamed {
        anyhow::bail!("no served repository is named {old:?}: `curl http://HOST:PORT/oai` lists them");
    }
    writeln!(
        super::terminal::stdout(),
        "renamed /oai/{old} to /oai/{new}: its harvesters must be told the new base URL (the old one now answers 404, and their resumption tokens end with it)"
    )?;
    Ok(())
}

/// A running daemon's jobs, if one answers; then the database's sources
/// either way. Each part says what it shows.
pub(super) async fn status(settings: &Settings, db: &Path, json: bool) -> anyhow::Result<()> {
    let jobs = match settings.daemon_token() {
        Ok(token) => crate::daemon::control::fetch_status(&settings.daemon.listen, &token).await?,
        Err(_) => None,
    };
    // Only read: `status` on a fresh machine creates nothing.
    let store = match Store::open_read_only(db) {
        Ok(store) => Some(store),
        Err(checkpoints::Error::Missing { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    if json {
        let value = serde_json::json!({
            "daemon": jobs.as_ref().map(|d| serde_json::json!({"listen": settings.daemon.listen, "jobs": d.jobs, "wikis": d.wikis})),
            "database": db.display().to_string(),
            "sources": match &store { Some(s) => sources_json(settings, s, db)?, None => Vec::new() },
            "files": match &store { Some(s) => files_json(s)?, None => Vec::new() },
        });
        writeln!(super::terminal::stdout(), "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    if let Some(daemon) = &jobs {
        daemon_status(settings, &daemon.jobs)?;
        wikis_status(&daemon.wikis)?;
    }
    match &store {
        Some(store) => {
            sources_status(settings, store, db)?;
            files_status(settings, store)
        }
        None => {
            writeln!(super::terminal::stdout(), "database {}: none yet (nothing harvested or mirrored)", db.display())?;
            Ok(())
        }
    }
}

/// Prints a running daemon's jobs.
fn daemon_status(settings: &Settings, jobs: &[crate::daemon::core::JobStatus]) -> anyhow::Result<()> {
    let mut out = super::terminal::stdout();
    writeln!(out, "daemon at {}: {} job(s)", settings.daemon.listen, jobs.len())?;
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
    Ok(())
}

/// Each mirrored wiki's files, as the store has them.
fn files_json(store: &Store) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for wiki in store.wiki_names()? {
        let f = store.files_status(Some(&wiki))?;
        if f.versions > 0 {
            out.push(serde_json::json!({
                "wiki": wiki, "versions": f.versions, "stored": f.stored, "pending": f.pending, "quarantined": f.quarantined,
                "foreign": f.foreign, "hidden": f.hidden, "too_large": f.too_large, "bytes": f.bytes, "bad_downloads": f.bad_downloads,
            }));
        }
    }
    Ok(out)
}

/// Prints each mirrored wiki's files and where they are.
fn files_status(settings: &Settings, store: &Store) -> anyhow::Result<()> {
    let mut out = super::terminal::stdout();
    for wiki in store.wiki_names()? {
        let f = store.files_status(Some(&wiki))?;
        if f.versions == 0 {
            continue;
        }
        let mut parts = vec![format!("{} stored", f.stored)];
        for (n, what) in [
            (f.pending, "to download"),
            (f.quarantined, "QUARANTINED"),
            (f.foreign, "on a shared repository"),
            (f.hidden, "hidden by the wiki"),
            (f.too_large, "over max_file_mb"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let bad = if f.bad_downloads > 0 { format!("; {} downloads did not match what the wiki states", f.bad_downloads) } else { String::new() };
        writeln!(out, "files of {wiki}: {} versions ({}), {} bytes{bad}", f.versions, parts.join(", "), f.bytes)?;
    }
    if let Ok(blobs) = crate::mirror::files::blobs(store, settings.files.dir.as_deref())
        && store.files_status(None)?.versions > 0
    {
        writeln!(out, "files directory: {}", blobs.root().display())?;
    }
    Ok(())
}

/// Prints whether each of a running daemon's wikis answers.
fn wikis_status(wikis: &[crate::daemon::wikis::WikiStatus]) -> anyhow::Result<()> {
    let mut out = super::terminal::stdout();
    let when = |t: &Option<chrono::DateTime<chrono::Utc>>| t.map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()).unwrap_or_else(|| "-".into());
    for w in wikis {
        let state = match (w.reachable, w.logged_in) {
            (None, _) => "not asked yet".to_string(),
            (Some(true), true) => format!("up, logged in, last answer {}", when(&w.last_answer)),
            (Some(true), false) => format!("up, last answer {}", when(&w.last_answer)),
            (Some(false), _) => format!("DOWN since {}: {}", when(&w.down_since), w.last_error.as_deref().unwrap_or("")),
        };
        writeln!(out, "wiki {} ({}): {state}", w.wiki, w.api)?;
    }
    Ok(())
}

/// A run's state as a person should read it: a run the store has as in
/// progress that no harvest holds (its process failed or was killed) is
/// `interrupted`, and the next harvest resumes it.
fn run_state(db: &Path, source: &checkpoints::Source, run: &checkpoints::Run) -> &'static str {
    match run.state {
        checkpoints::RunState::Running if !crate::jobs::run::RunLock::held(db, &source.key) => "interrupted",
        state => state.as_str(),
    }
}

fn sources_json(settings: &Settings, store: &Store, db: &Path) -> anyhow::Result<Vec<serde_json::Value>> {
    let all = store.status()?;
    let labels = super::records::labels(settings, &all.iter().map(|s| s.source.clone()).collect::<Vec<_>>());
    let rows: Vec<_> = all
        .iter()
        .map(|s| {
            let run = s.last_run.as_ref();
            serde_json::json!({
                "name": labels.get(&s.source.id),
                "url": s.source.key.base_url,
                "prefix": s.source.key.metadata_prefix,
                "set": s.source.key.set_spec,
                "granularity": s.source.granularity,
                "records": s.records,
                "deleted": s.deleted,
                "repairs": s.repairs,
                "skipped": s.skipped,
                "transcoded_pages": s.transcoded,
                "metadata_bytes_received": s.metadata_received,
                "metadata_bytes_stored": s.metadata_stored,
                "next_from": s.source.next_from,
                "in_flight_token": run.filter(|r| r.state == checkpoints::RunState::Running).and_then(|r| r.position.token.clone()),
                "last_run": run.map(|r| serde_json::json!({
                    "id": r.id,
                    "state": run_state(db, &s.source, r),
                    "started_at": super::rfc3339(r.started_at),
                    "finished_at": r.finished_at.map(super::rfc3339),
                    "from": r.plan.range_from,
                    "until": r.plan.range_until,
                    "window": r.plan.window,
                    "window_from": r.position.window_from,
                    "server_started": r.server_started,
                    "pages": r.tally.pages,
                    "records": r.tally.records,
                    "deleted": r.tally.deleted,
                    "repairs": r.tally.repairs,
                    "skipped": r.tally.skipped,
                    "requests": r.tally.requests,
                    "restarts": r.tally.restarts,
                    "last_error": r.last_error,
                })),
            })
        })
        .collect();
    Ok(rows)
}

fn sources_status(settings: &Settings, store: &Store, db: &Path) -> anyhow::Result<()> {
    let all = store.status()?;
    let labels = super::records::labels(settings, &all.iter().map(|s| s.source.clone()).collect::<Vec<_>>());
    let mut out = super::terminal::stdout();
    writeln!(out, "database {}: {} source(s)", db.display(), all.len())?;
    let megabytes = |n: u64| format!("{:.1} MB", n as f64 / 1e6);
    if all.is_empty() {
        writeln!(out, "no sources harvested yet")?;
    }
    for s in &all {
        let k = &s.source.key;
        let name = labels.get(&s.source.id).filter(|l| **l != k.base_url && !l.starts_with(&k.base_url)).map(|l| format!("{l}: ")).unwrap_or_default();
        writeln!(out, "{name}{} [{}{}]", k.base_url, k.metadata_prefix, k.set_spec.as_ref().map(|s| format!(" set {s}")).unwrap_or_default())?;
        writeln!(out, "  records   {} ({} deleted), {} repairs, {} skipped, {} pages transcoded", s.records, s.deleted, s.repairs, s.skipped, s.transcoded)?;
        writeln!(out, "  metadata  {} received, {} stored", megabytes(s.metadata_received), megabytes(s.metadata_stored))?;
        writeln!(out, "  next from {}", s.source.next_from.as_deref().unwrap_or("(none: the next harvest is full)"))?;
        if let Some(r) = &s.last_run {
            let when = chrono::DateTime::from_timestamp(r.started_at, 0).map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string()).unwrap_or_default();
            // Asked once: it looks at the harvest's lock file.
            let state = run_state(db, &s.source, r);
            writeln!(
                out,
                "  last run  {state} at {when}: {} records in {} pages, {} requests, from {}",
                r.tally.records,
                r.tally.pages,
                r.tally.requests,
                r.plan.range_from.as_deref().unwrap_or("the beginning")
            )?;
            if r.state == checkpoints::RunState::Running {
                writeln!(
                    out,
                    "  in flight window from {}, token {}",
                    r.position.window_from.as_deref().unwrap_or("-"),
                    r.position.token.as_deref().unwrap_or("(window start)")
                )?;
            }
            if let Some(e) = &r.last_error {
                writeln!(out, "  error     {e}")?;
            }
            if state == "interrupted" {
                writeln!(out, "            the next harvest resumes it where it stopped")?;
            }
        }
    }
    Ok(())
}
