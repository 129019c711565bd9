//! A group: three or more wikis keeping the pages of some categories in
//! step, as a star of pairs around its first wiki, the hub.
//!
//! Each other member (a spoke) is a pair with the hub, named
//! `group.NAME.SPOKE` in the store, with everything a pair has: its own
//! base per page (the text that spoke and the hub last agreed on), its
//! outbox, its read-back and its crash safety. A run syncs every spoke with
//! the hub, then again each spoke the hub changed for after its turn, so a
//! change made on any member reaches every other in one run. The star has
//! no cycle, so nothing goes round: a change reaches each wiki by one path,
//! once.
//!
//! Membership is read from the wikis at the start of each run (`Members`):
//! a page is the group's when one of its categories holds it on any member.
//! An edit that takes it out of the category on one wiki still travels, as
//! the others hold it still; once no member does, its pairs are left alone.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use checkpoints::Store;

use super::peer::{Peer, Side};
use super::report::Report;
use super::run;
use super::scope::{Members, SyncOptions, Upstream};
use crate::mediawiki::Wiki;
use crate::mirror::pull::Selection;
use crate::util::lock;

/// The store name of the pair of `spoke` with the hub of group `group`.
pub fn pair_name(group: &str, spoke: &str) -> String {
    format!("group.{group}.{spoke}")
}

/// The job a stored pair name belongs to: its group, or the sync itself.
pub fn job_of(pair: &str) -> &str {
    pair.strip_prefix("group.").and_then(|rest| rest.rsplit_once('.')).map_or(pair, |(group, _)| group)
}

/// Rounds of the group: the first syncs every spoke; a later one only
/// those the hub changed for since their turn. Three suffice unless the
/// wikis are edited during the run; what is left waits for the next run.
const SWEEPS: usize = 3;

/// One run of group `name`: `hub` with each of `spokes`.
pub async fn run(
    store: Arc<Mutex<Store>>,
    hub: &Side<'_>,
    spokes: &[(Side<'_>, Arc<Wiki>)],
    categories: &[String],
    selection: &Selection,
    opts: &SyncOptions,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let everyone = std::iter::once(hub.wiki).chain(spokes.iter().map(|(s, _)| s.wiki));
    let requests_before: u64 = everyone.clone().map(Wiki::requests).sum();
    let titles = if categories.is_empty() {
        None
    } else {
        let mut titles = HashSet::new();
        for wiki in everyone.clone() {
            for category in categories {
                match wiki.category_members(category).await {
                    Ok(found) => titles.extend(found),
                    Err(e) if wiki.name() == hub.pull.wiki => {
                        return Err(anyhow::Error::new(e).context(format!("reading {category} on the hub, {}", wiki.name())));
                    }
                    Err(e) => report.lines.push(format!("{}: {category} could not be read ({e:#}); its pages join when it can be", wiki.name())),
                }
            }
        }
        Some(titles)
    };
    let members = Arc::new(Members { titles, selection: selection.clone() });

    // How many writes the hub has had this run, and how many it had when
    // each spoke's pair last ran: a spoke is behind while they differ.
    let mut hub_writes = 0u64;
    let mut seen: Vec<Option<u64>> = vec![None; spokes.len()];
    let mut failed: HashSet<usize> = HashSet::new();
    for _ in 0..SWEEPS {
        let mut ran = false;
        for (i, (spoke, _)) in spokes.iter().enumerate() {
            if failed.contains(&i) || seen[i] == Some(hub_writes) {
                continue;
            }
            ran = true;
            let pair = SyncOptions {
                name: pair_name(&opts.name, &spoke.pull.wiki),
                policy: opts.policy,
                prefer: opts.prefer,
                dry_run: opts.dry_run,
                announce: true,
                notify: opts.notify.clone(),
                members: Some(members.clone()),
                direction: opts.direction,
                history: opts.history,
                upstream: spokes
                    .iter()
                    .filter(|(other, _)| other.pull.wiki != spoke.pull.wiki)
                    .map(|(other, client)| Upstream { sync: pair_name(&opts.name, &other.pull.wiki), wiki: other.pull.wiki.clone(), client: client.clone() })
                    .collect(),
            };
            match run::run(store.clone(), hub, Peer::Wiki(spoke), &pair).await {
                Ok(r) => {
                    hub_writes += r.wiki_writes;
                    report.absorb(r);
                    seen[i] = Some(hub_writes);
                }
                // A member that cannot be reached waits; the others go on.
                // The hub is every pair's: without it nothing can.
                Err(e) if !hub_answers(hub.wiki).await => return Err(e.context(format!("the hub, {}, does not answer", hub.pull.wiki))),
                Err(e) => {
                    failed.insert(i);
                    report.waiting.push(spoke.pull.wiki.clone());
                    report.lines.push(format!("{}: not synced this run ({e:#}); its changes wait for the next", spoke.pull.wiki));
                }
            }
        }
        if !ran || opts.dry_run {
            break;
        }
    }
    for (spoke, _) in spokes {
        let name = pair_name(&opts.name, &spoke.pull.wiki);
        let (queued, open) = crate::util::blocking(|| lock(&store).sync_backlog(&name))?;
        report.queued += queued;
        report.open_conflicts += open;
    }
    // Every request of the run, the membership reads included.
    report.requests = everyone.map(Wiki::requests).sum::<u64>() - requests_before;
    Ok(report)
}

/// Whether the hub answers at all: a pair that failed because its spoke is
/// down leaves the group running; one that failed because the hub is, stops it.
async fn hub_answers(hub: &Wiki) -> bool {
    hub.server_time().await.is_ok()
}

#[cfg(test)]
mod tests;
