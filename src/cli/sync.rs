//! `sync`, `conflicts`, `queue` and `resolve`.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use checkpoints::Store;

use super::open;
use crate::connections::Connections;
use crate::jobs::run as runs;
use crate::jobs::{self, Kind, Work};
use crate::settings::Settings;
use crate::sync::Take;
use crate::sync::group;
use crate::sync::plan::Target;

/// Which table NAME is: a `[group.*]` if the config has one, else a `[sync.*]`.
fn kind_of(settings: &Settings, name: &str) -> Kind {
    if settings.group.contains_key(name) { Kind::Group } else { Kind::Sync }
}

/// The store names of a sync's pairs: the sync's own, or a group's one per spoke.
fn pair_names(settings: &Settings, name: &str) -> Vec<(String, Option<String>)> {
    match settings.group.get(name) {
        Some(g) => g.wikis.iter().skip(1).map(|spoke| (group::pair_name(name, spoke), Some(spoke.clone()))).collect(),
        None => vec![(name.to_string(), None)],
    }
}

pub(super) async fn sync(settings: &Settings, conns: &Connections, db: &Path, name: &str, dry_run: bool, json: bool) -> anyhow::Result<()> {
    let Work::Sync(job) = jobs::one(settings, kind_of(settings, name), name)?.work else { unreachable!("a [sync.*] or [group.*] resolves to a sync") };
    let store = Arc::new(Mutex::new(open(db)?));
    let report = runs::sync(settings, conns, store, name, &job, dry_run).await?;
    let mut out = super::terminal::stdout();
    if json {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    } else {
        for line in &report.lines {
            writeln!(out, "{line}")?;
        }
        writeln!(
            out,
            "{name}: {} pushes, {} merged, {} conflicts, {} moves, {} deletions, {} created, {} revived, {} failed, {} queued; {} requests{}{}",
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
            if report.held_back > 0 { format!("; {} change(s) held back: one-way, pending where they were made", report.held_back) } else { String::new() },
            if dry_run { " (dry run: nothing written)" } else { "" }
        )?;
    }
    if report.failed > 0 {
        bail!("{} write(s) did not go through; they are retried or decided again on the next run", report.failed);
    }
    Ok(())
}

/// A sync or group NAME the config or the store knows; else an error
/// listing the known ones (a name that does not exist is not an empty listing).
fn known_sync(settings: &Settings, store: &Store, name: &str) -> anyhow::Result<()> {
    if settings.sync.contains_key(name) || settings.group.contains_key(name) || store.sync_names()?.iter().any(|s| s == name) {
        return Ok(());
    }
    not_a_sync(settings, name)
}

fn not_a_sync(settings: &Settings, name: &str) -> anyhow::Result<()> {
    bail!("sync {name:?} {}", jobs::not_configured(settings, Kind::Sync, name))
}

/// Every conflict of a sync or group, with the spoke of the group's pair it is in.
fn conflicts_of(settings: &Settings, store: &Store, name: &str, open_only: bool) -> anyhow::Result<Vec<(checkpoints::ConflictRow, String, Option<String>)>> {
    let mut out = Vec::new();
    for (pair, spoke) in pair_names(settings, name) {
        out.extend(store.conflicts(&pair, open_only)?.into_iter().map(|c| (c, pair.clone(), spoke.clone())));
    }
    out.sort_by_key(|(c, _, _)| c.conflict_id);
    Ok(out)
}

pub(super) fn conflicts(settings: &Settings, store: &Store, name: &str, all: bool, json: bool) -> anyhow::Result<()> {
    known_sync(settings, store, name)?;
    let hub = settings.group.get(name).and_then(|g| g.wikis.first().cloned());
    let mut out = super::terminal::stdout();
    for (c, _, spoke) in conflicts_of(settings, store, name, !all)? {
        // In a group the two sides are the hub and a spoke, named.
        let sides = match (&hub, &spoke) {
            (Some(hub), Some(spoke)) => format!(" ({hub} vs {spoke})"),
            _ => String::new(),
        };
        if json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"id": c.conflict_id, "title": c.title, "policy": c.policy.as_str(), "wiki_rev": c.wiki_rev, "with_rev": c.with_rev,
                    "wiki_user": c.wiki_user, "with_user": c.with_user, "wiki_text": c.wiki_text, "with_text": c.with_text,
                    "resolved_text": c.resolved_text, "base_text": c.base_text, "created_at": super::rfc3339(c.created_at),
                    "resolved": c.resolved_at.is_some(), "resolved_at": c.resolved_at.map(super::rfc3339), "wiki": hub, "with": spoke})
            )?;
        } else {
            let state = match c.resolved_at {
                Some(at) => format!("resolved {}", super::rfc3339(at)),
                None => "open".to_string(),
            };
            writeln!(
                out,
                "{}\t[[{}]]\t{} (rev {}) vs {} (rev {}){sides}\t{}\t{state}",
                c.conflict_id, c.title, c.wiki_user, c.wiki_rev, c.with_user, c.with_rev, c.policy
            )?;
        }
    }
    Ok(())
}

/// How long `resolve` waits for a run of its sync to end.
pub const SETTLE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

pub(super) async fn resolve(settings: &Settings, store: &Store, name: &str, title: &str, take: &str) -> anyhow::Result<()> {
    if !settings.sync.contains_key(name) && !settings.group.contains_key(name) {
        return not_a_sync(settings, name);
    }
    // In a group: the pair holding the open conflict, and its sides by wiki
    // name (the spoke's own text, or the hub's, which the rest of the
    // group had agreed on).
    let (pair, spoke) = match settings.group.get(name) {
        None => (name.to_string(), None),
        Some(_) => {
            let open = conflicts_of(settings, store, name, true)?;
            let (_, pair, spoke) =
                open.into_iter().rev().find(|(c, _, _)| c.title == title).with_context(|| format!("no open conflict on [[{title}]] in group {name}"))?;
            (pair, spoke)
        }
    };
    let members: Vec<String> = settings.group.get(name).map(|g| g.wikis.clone()).unwrap_or_default();
    // A pair's sides by the config's words (`wiki`, `with`) or by the names
    // of their wikis.
    let (wiki_name, with_name) = match settings.sync.get(name) {
        Some(s) => (Some(s.wiki.as_str()), s.with.as_deref()),
        None => (None, None),
    };
    let take = match take {
        "wiki" if spoke.is_none() => Take::Side(Target::Wiki),
        "with" if spoke.is_none() => Take::Side(Target::With),
        w if spoke.is_none() && wiki_name == Some(w) => Take::Side(Target::Wiki),
        w if spoke.is_none() && with_name == Some(w) => Take::Side(Target::With),
        w if spoke.as_deref() == Some(w) => Take::Side(Target::With),
        w if members.iter().any(|m| m == w) => Take::Side(Target::Wiki),
        path => Take::Text(std::fs::read_to_string(path).with_context(|| match spoke {
            Some(_) => format!("--take {path}: neither a wiki of the group ({}) nor a readable file", members.join(", ")),
            None => {
                let names: Vec<&str> = ["wiki", "with"].into_iter().chain(wiki_name).chain(with_name).collect();
                format!("--take {path}: neither a side of the sync ({}) nor a readable file", names.join(", "))
            }
        })?),
    };
    // Settled under the job's lock: a run of it in progress ends first.
    let _held = store.path().map(|db| crate::util::blocking(|| crate::jobs::run::RunLock::sync_when_free(db, name, SETTLE_PATIENCE))).transpose()?;
    let queued = crate::sync::resolve(store, &pair, title, take)?;
    let mut out = super::terminal::stdout();
    writeln!(out, "[[{title}]]: conflict settled; {queued} push(es) queued")?;
    // A running daemon sends them now; otherwise the next run does.
    let job = format!("{}.{name}", kind_of(settings, name).table());
    let said = match settings.daemon_token() {
        Ok(token) => match crate::daemon::control::send_trigger(&settings.daemon.listen, &token, &job).await {
            Ok(true) => format!("the daemon at {} runs {job} now to send them", settings.daemon.listen),
            Ok(false) => format!("the daemon at {} has no job {job}: send them with `oai-mirror sync {name}`", settings.daemon.listen),
            Err(_) => format!("no daemon answers at {}: send them with `oai-mirror sync {name}`", settings.daemon.listen),
        },
        Err(_) => format!("send them with `oai-mirror sync {name}` (or trigger the daemon's job {job})"),
    };
    writeln!(out, "{said}")?;
    Ok(())
}

pub(super) fn queue(settings: &Settings, store: &Store, name: &str) -> anyhow::Result<()> {
    known_sync(settings, store, name)?;
    let mut out = super::terminal::stdout();
    let mut jobs = Vec::new();
    for (pair, spoke) in pair_names(settings, name) {
        jobs.extend(store.pushes(&pair)?.into_iter().map(|j| (j, spoke.clone())));
    }
    let hub = settings.group.get(name).and_then(|g| g.wikis.first().cloned());
    if jobs.is_empty() {
        writeln!(out, "no pending pushes")?;
    }
    for (j, spoke) in jobs {
        // In a group, the target by its wiki's name.
        let target = match (j.target, &hub, spoke) {
            (Target::Wiki, Some(hub), Some(_)) => hub.clone(),
            (Target::With, _, Some(spoke)) => spoke,
            (target, _, _) => target.to_string(),
        };
        let why = if j.sent {
            "sent, outcome unknown: checked on the target at the next run".to_string()
        } else if j.next_try <= chrono::Utc::now().timestamp() {
            match j.attempts {
                0 => "due: sent at the next run".to_string(),
                n => format!("due: sent again at the next run, after {n} attempt(s): {}", j.last_error.as_deref().unwrap_or("-")),
            }
        } else {
            format!(
                "waiting until {} after {} attempt(s): {}",
                chrono::DateTime::from_timestamp(j.next_try, 0).map(|t| t.to_rfc3339()).unwrap_or_default(),
                j.attempts,
                j.last_error.as_deref().unwrap_or("-")
            )
        };
        writeln!(out, "{}\t[[{}]] to {} (base rev {})\t{why}", j.push_id, j.title, target, j.base_rev)?;
    }
    Ok(())
}
