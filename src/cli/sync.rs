//! `sync`, `conflicts`, `queue` and `resolve`.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use checkpoints::Store;

use super::open;
use crate::jobs::{self, Kind, Work};
use crate::settings::Settings;
use crate::sync::plan::Target;
use crate::sync::run::Take;
use crate::tasks;

pub(super) async fn sync(settings: &Settings, db: &Path, name: &str, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let Work::Sync(job) = jobs::one(settings, Kind::Sync, name)?.work else { unreachable!("a [sync.*] resolves to a sync") };
    let store = Arc::new(Mutex::new(open(db)?));
    let report = tasks::sync(settings, store, name, &job, dry_run).await?;
    let mut out = super::terminal::stdout();
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        for line in &report.lines {
            writeln!(out, "{line}")?;
        }
        writeln!(
            out,
            "{name}: {} pushes, {} merged, {} conflicts, {} moves, {} deletions, {} created, {} revived, {} failed, {} queued; {} requests{}",
            report.pushes,
            report.merged,
            report.conflicts,
            report.moves,
            report.deletes,
            report.created,
            report.revived,
            report.failed,
            report.queued,
            report.requests,
            if dry_run { " (dry run: nothing written)" } else { "" }
        )?;
    }
    if report.failed > 0 {
        bail!("{} write(s) did not go through; they are retried or decided again on the next run", report.failed);
    }
    Ok(())
}

/// A sync NAME the config or the store knows; else an error listing the
/// known ones (a name that does not exist is not an empty listing).
fn known_sync(settings: &Settings, store: &Store, name: &str) -> anyhow::Result<()> {
    if settings.sync.contains_key(name) || store.sync_names()?.iter().any(|s| s == name) {
        return Ok(());
    }
    bail!("sync {name:?} {}", jobs::not_configured(settings, Kind::Sync, name))
}

pub(super) fn conflicts(settings: &Settings, store: &Store, name: &str, all: bool, json: bool) -> anyhow::Result<()> {
    known_sync(settings, store, name)?;
    let mut out = super::terminal::stdout();
    for c in store.conflicts(name, !all)? {
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"id": c.conflict_id, "title": c.title, "policy": c.policy.as_str(), "wiki_rev": c.wiki_rev, "with_rev": c.with_rev,
                    "wiki_user": c.wiki_user, "with_user": c.with_user, "wiki_text": c.wiki_text, "with_text": c.with_text,
                    "resolved_text": c.resolved_text, "created_at": super::rfc3339(c.created_at), "resolved_at": c.resolved_at.map(super::rfc3339)})
            )?;
        } else {
            writeln!(out, "{}\t[[{}]]\t{} (rev {}) vs {} (rev {})\t{}", c.conflict_id, c.title, c.wiki_user, c.wiki_rev, c.with_user, c.with_rev, c.policy)?;
        }
    }
    Ok(())
}

pub(super) fn resolve(settings: &Settings, store: &Store, name: &str, title: &str, take: &str) -> anyhow::Result<()> {
    if !settings.sync.contains_key(name) {
        bail!("sync {name:?} {}", jobs::not_configured(settings, Kind::Sync, name));
    }
    let take = match take {
        "wiki" => Take::Side(Target::Wiki),
        "with" => Take::Side(Target::With),
        path => Take::Text(std::fs::read_to_string(path).with_context(|| format!("--take {path}: neither wiki, with, nor a readable file"))?),
    };
    let queued = crate::sync::run::resolve(store, name, title, take)?;
    writeln!(super::terminal::stdout(), "[[{title}]]: conflict settled; {queued} push(es) queued for the next `oai-mirror sync {name}`")?;
    Ok(())
}

pub(super) fn queue(settings: &Settings, store: &Store, name: &str) -> anyhow::Result<()> {
    known_sync(settings, store, name)?;
    let mut out = super::terminal::stdout();
    let jobs = store.jobs(name)?;
    if jobs.is_empty() {
        writeln!(out, "no pending pushes")?;
    }
    for j in jobs {
        let why = if j.sent {
            "sent, outcome unknown: checked on the target at the next run".to_string()
        } else {
            format!(
                "waiting until {} after {} attempt(s): {}",
                chrono::DateTime::from_timestamp(j.next_try, 0).map(|t| t.to_rfc3339()).unwrap_or_default(),
                j.attempts,
                j.last_error.as_deref().unwrap_or("-")
            )
        };
        writeln!(out, "{}\t[[{}]] to {} (base rev {})\t{why}", j.job_id, j.title, j.target, j.base_rev)?;
    }
    Ok(())
}
