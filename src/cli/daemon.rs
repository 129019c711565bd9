//! `run` (the daemon) and `status` (the daemon's jobs if one answers, else
//! the store's sources).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use checkpoints::Store;

use super::open;
use crate::settings::Settings;

pub(super) async fn run(settings: Settings, db: PathBuf, listen: Option<&str>, allow_remote: bool) -> anyhow::Result<()> {
    let addr = crate::daemon::listen_address(&settings, listen, allow_remote)?;
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
    tracing::info!(%addr, "control endpoint: POST /trigger/JOB, GET /status, GET /metrics");
    crate::daemon::serve(settings, db, listener, crate::daemon::shutdown_signals()).await
}

pub(super) async fn status(settings: &Settings, db: &Path, json: bool) -> anyhow::Result<()> {
    if daemon_status(settings, json).await? {
        return Ok(());
    }
    sources_status(&open(db)?, json)
}

/// Prints a running daemon's status; false if none answers.
async fn daemon_status(settings: &Settings, json: bool) -> anyhow::Result<bool> {
    let Ok(token) = settings.daemon_token() else { return Ok(false) };
    let Some(jobs) = crate::daemon::control::fetch_status(&settings.daemon.listen, &token).await? else { return Ok(false) };
    let mut out = super::terminal::stdout();
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

fn sources_status(store: &Store, json: bool) -> anyhow::Result<()> {
    let all = store.status()?;
    let mut out = super::terminal::stdout();
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
                    "skipped": s.skipped,
                    "transcoded_pages": s.transcoded,
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
                        "skipped": r.tally.skipped,
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
        writeln!(out, "  records   {} ({} deleted), {} repairs, {} skipped, {} pages transcoded", s.records, s.deleted, s.repairs, s.skipped, s.transcoded)?;
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
        }
    }
    Ok(())
}
