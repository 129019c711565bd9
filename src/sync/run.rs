//! One sync run between a wiki and another wiki or a checkout: pull both
//! sides, settle the outbox, pair new pages, decide each pair
//! (`plan::decide`) and carry the decision out through `peer`.
//!
//! Every write is a job in the store's outbox before it is sent, and leaves
//! it only when the target's saved revision has been read back. A job whose
//! outcome is unknown (the process died, the connection broke after
//! sending) is checked on the target before anything is sent again, so no
//! revision is pushed twice. A pair's base moves only after its writes are
//! verified; until then the next run simply decides again.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::{ConflictRow, Pair, Store};

use super::peer::{Live, Peer, Written};
pub use super::peer::{Checkout, Side};
use super::plan::{self, Action, Base, ConflictPolicy, State, Target};
use crate::mediawiki::{CreateMode, Edit, EditOutcome, PageRef};
use crate::util::{lock, md5_hex};

pub struct SyncOptions {
    /// The `[sync.NAME]`.
    pub name: String,
    pub policy: ConflictPolicy,
    pub prefer: Target,
    /// Decide and print, write nothing.
    pub dry_run: bool,
}

/// What a run did, line by line for people and in numbers for machines.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Report {
    pub lines: Vec<String>,
    pub pushes: u64,
    pub merged: u64,
    pub conflicts: u64,
    pub moves: u64,
    pub deletes: u64,
    pub revived: u64,
    pub created: u64,
    pub failed: u64,
    pub queued: u64,
    /// Requests to both wikis.
    pub requests: u64,
    /// Pages the pulls of both wikis looked at (changed ones, named by the feeds).
    pub pages_examined: u64,
}

impl Report {
    fn say(&mut self, line: String) {
        tracing::info!("{line}");
        self.lines.push(line);
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The outbox retries a failed push after 1, 2, 4 … minutes, up to a day.
fn backoff_secs(attempts: u32) -> i64 {
    (60i64 << attempts.min(10)).min(86_400)
}

/// How many times a run decides again after it replayed moves.
const ROUNDS: usize = 3;

/// Runs a sync between `wiki` and `with`.
pub async fn run(store: Arc<Mutex<Store>>, wiki: &Side<'_>, with: Peer<'_>, opts: &SyncOptions) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let wiki = Peer::Wiki(wiki);
    let requests_before = wiki.requests() + with.requests();
    for round in 0..ROUNDS {
        // The outbox first: its pushes move pairs' bases, so the sides are
        // read after it, and decisions never meet a base newer than the
        // pages they look at.
        if !opts.dry_run {
            settle_outbox(&store, wiki, with, opts, &mut report).await?;
        }
        for side in [wiki, with] {
            let (examined, notes) = side.pull(&store).await.with_context(|| format!("pulling {}", side.name()))?;
            report.pages_examined += examined;
            // Skipped files are told once, not once per round.
            if round == 0 {
                notes.into_iter().for_each(|n| report.say(n));
            }
        }
        let again = decide_all(&store, wiki, with, opts, &mut report).await?;
        if !again || opts.dry_run {
            break;
        }
        tracing::debug!(round, "moves replayed; deciding again");
    }
    report.queued = lock(&store).jobs(&opts.name)?.len() as u64;
    report.requests = wiki.requests() + with.requests() - requests_before;
    Ok(report)
}

fn side_of<'a>(target: Target, wiki: Peer<'a>, with: Peer<'a>) -> Peer<'a> {
    match target {
        Target::Wiki => wiki,
        Target::With => with,
    }
}

/// Jobs left by an earlier run: a sent one is checked on its target first.
async fn settle_outbox(store: &Arc<Mutex<Store>>, wiki: Peer<'_>, with: Peer<'_>, opts: &SyncOptions, report: &mut Report) -> anyhow::Result<()> {
    let jobs = lock(store).jobs(&opts.name)?;
    for job in jobs {
        let target = if job.target == "wiki" { Target::Wiki } else { Target::With };
        let side = side_of(target, wiki, with);
        if job.sent {
            // Did it land? The target's current text says.
            let current = side.current_text(store, job.page_id, &job.title).await?;
            let landed = current.is_some_and(|t| md5_hex(&t) == job.md5);
            lock(store).finish_job(job.job_id)?;
            report.say(format!(
                "[[{}]] on {}: an earlier push {}",
                job.title,
                side.name(),
                if landed { "had landed; not sent again" } else { "had not landed; deciding again" }
            ));
        } else if job.next_try > now() {
            report.say(format!("[[{}]] on {}: waiting to retry ({})", job.title, side.name(), job.last_error.as_deref().unwrap_or("")));
        } else {
            // Due (a resolution, or a retry): send it, against the revision it was based on.
            lock(store).finish_job(job.job_id)?;
            let Some(mut pair) = lock(store).sync_pair(job.pair_id)? else { continue };
            if let Some((pageid, newrev, exact)) = push(store, side, opts, &pair, target, &job.title, job.page_id, job.base_rev, &job.text, report).await? {
                // The pair's base moves to this text only if the other side
                // holds it too. A job left by a killed run may be the first
                // of a merge's two writes, the other side still holding
                // only its own edit: taking the merge as the base would make
                // that side's text look like the newer edit and undo the
                // rest of the merge. Left as it was, the base makes the new
                // revision an edit, merged with the other side's as usual.
                let other = side_of(target.other(), wiki, with);
                let other_page = if target == Target::Wiki { pair.with_page } else { pair.wiki_page };
                let agreed = exact
                    && other.current_text(store, other_page, &job.title).await?.is_some_and(|t| t.trim_end() == job.text.trim_end());
                match target {
                    Target::Wiki => pair.wiki_page = Some(pageid),
                    Target::With => pair.with_page = Some(pageid),
                }
                if agreed {
                    match target {
                        Target::Wiki => pair.wiki_rev = newrev,
                        Target::With => pair.with_rev = newrev,
                    }
                    pair.base_text = job.text.trim_end().to_string();
                }
                lock(store).update_sync_pair(&pair, now())?;
            }
        }
    }
    Ok(())
}

/// Pairs pages that no pair holds yet. A pair that lacks one side adopts an
/// unpaired page of its title there (its own page, created by a run that
/// died before it could record it); otherwise pages are paired by title,
/// or paired alone to be created on the other side.
fn pair_new_pages(pairs: &mut [Pair], wpages: &HashMap<u64, Live>, ypages: &HashMap<u64, Live>) -> Vec<Pair> {
    let paired_w: HashSet<u64> = pairs.iter().filter_map(|p| p.wiki_page).collect();
    let paired_y: HashSet<u64> = pairs.iter().filter_map(|p| p.with_page).collect();
    let mut unpaired_w: HashMap<&str, u64> = wpages.iter().filter(|(id, _)| !paired_w.contains(id)).map(|(id, p)| (p.title.as_str(), *id)).collect();
    let mut unpaired_y: HashMap<&str, u64> = ypages.iter().filter(|(id, _)| !paired_y.contains(id)).map(|(id, p)| (p.title.as_str(), *id)).collect();
    for pair in pairs.iter_mut() {
        match (pair.wiki_page, pair.with_page) {
            (None, Some(_)) => pair.wiki_page = unpaired_w.remove(pair.title.as_str()),
            (Some(_), None) => pair.with_page = unpaired_y.remove(pair.title.as_str()),
            _ => {}
        }
    }
    let alone = |title: &str| Pair { pair_id: 0, wiki_page: None, with_page: None, title: title.to_string(), base_text: String::new(), wiki_rev: 0, with_rev: 0, held: false };
    let mut out = Vec::new();
    for (title, id) in unpaired_w {
        out.push(Pair { wiki_page: Some(id), with_page: unpaired_y.remove(title), ..alone(title) });
    }
    for (title, id) in unpaired_y {
        out.push(Pair { with_page: Some(id), ..alone(title) });
    }
    out.sort_by(|a, b| a.title.cmp(&b.title));
    out
}

/// Decides every pair; returns whether to decide again (moves were
/// replayed, or pages created whose titles the target may have normalised).
async fn decide_all(store: &Arc<Mutex<Store>>, wiki: Peer<'_>, with: Peer<'_>, opts: &SyncOptions, report: &mut Report) -> anyhow::Result<bool> {
    let (wname, yname) = (wiki.name(), with.name());
    let wpages = wiki.pages(store)?;
    let ypages = with.pages(store)?;
    let mut pairs = lock(store).sync_pairs(&opts.name)?;
    let busy: HashSet<i64> = lock(store).jobs(&opts.name)?.iter().map(|j| j.pair_id).collect();
    let before: HashMap<i64, (Option<u64>, Option<u64>)> = pairs.iter().map(|p| (p.pair_id, (p.wiki_page, p.with_page))).collect();
    let new_pairs = pair_new_pages(&mut pairs, &wpages, &ypages);
    if !opts.dry_run {
        for p in pairs.iter().filter(|p| before.get(&p.pair_id) != Some(&(p.wiki_page, p.with_page))) {
            lock(store).update_sync_pair(p, now())?;
        }
    }
    for mut p in new_pairs {
        if !opts.dry_run {
            p.pair_id = lock(store).add_sync_pair(&opts.name, &p, now())?;
        }
        pairs.push(p);
    }

    let mut again = false;
    for mut pair in pairs {
        if busy.contains(&pair.pair_id) {
            continue;
        }
        let wstate = wiki.state(store, &wpages, pair.wiki_page)?;
        let ystate = with.state(store, &ypages, pair.with_page)?;
        // A page on one side only, never synced: create it on the other.
        if pair.wiki_rev == 0 && pair.with_rev == 0 && (pair.wiki_page.is_none() || pair.with_page.is_none()) {
            let (target, State::Present { title, text, rev, .. }) = (if pair.wiki_page.is_none() { (Target::Wiki, &ystate) } else { (Target::With, &wstate) }) else {
                continue;
            };
            report.say(format!("[[{title}]]: new on {}, creating it on {}", side_of(target.other(), wiki, with).name(), side_of(target, wiki, with).name()));
            if opts.dry_run {
                continue;
            }
            if copy_over(store, side_of(target, wiki, with), opts, &mut pair, target, title, text, *rev, report).await? {
                report.created += 1;
                again = true;
            }
            continue;
        }
        if pair.held {
            let has_markers = |s: &State| matches!(s, State::Present { text, .. } if text.contains("<<<<<<<") || text.contains(">>>>>>>"));
            if has_markers(&wstate) || has_markers(&ystate) {
                report.say(format!("[[{}]]: held back until its conflict markers are removed", pair.title));
                continue;
            }
            pair.held = false;
        }
        let base = Base { title: pair.title.clone(), text: pair.base_text.clone(), wiki_rev: pair.wiki_rev, with_rev: pair.with_rev };
        let action = plan::decide(&base, &wstate, &ystate, opts.policy, opts.prefer);
        if action != Action::Nothing {
            report.say(format!("[[{}]]: {}", pair.title, describe(&action, &wname, &yname)));
        }
        if opts.dry_run {
            continue;
        }
        let page_on = |t: Target, pair: &Pair| if t == Target::Wiki { pair.wiki_page } else { pair.with_page };
        match action {
            Action::Nothing => {}
            Action::Forget => {
                wiki.forget(store, pair.wiki_page)?;
                with.forget(store, pair.with_page)?;
                lock(store).forget_sync_pair(pair.pair_id)?;
            }
            Action::Move { target, from, to } => {
                let side = side_of(target, wiki, with);
                let reason = format!("oai-mirror: moved on {} too", side_of(target.other(), wiki, with).name());
                match side.move_page(store, page_on(target, &pair), &from, &to, &reason).await? {
                    Ok(()) => {
                        pair.title = to;
                        lock(store).update_sync_pair(&pair, now())?;
                        report.moves += 1;
                        again = true;
                    }
                    Err(e) => {
                        report.failed += 1;
                        report.say(format!("[[{from}]]: moving it on {} failed: {e}", side.name()));
                    }
                }
            }
            Action::Delete { target, title } => {
                let side = side_of(target, wiki, with);
                let reason = format!("oai-mirror: deleted on {}", side_of(target.other(), wiki, with).name());
                match side.delete(store, page_on(target, &pair), &title, &reason).await? {
                    Ok(()) => {
                        wiki.forget(store, pair.wiki_page)?;
                        with.forget(store, pair.with_page)?;
                        lock(store).forget_sync_pair(pair.pair_id)?;
                        report.deletes += 1;
                    }
                    Err(e) => {
                        report.failed += 1;
                        report.say(format!("[[{title}]]: deleting it on {} failed: {e}", side.name()));
                    }
                }
            }
            Action::Revive { target, text, note } => {
                let source = if target == Target::Wiki { &ystate } else { &wstate };
                let State::Present { title, rev, .. } = source else { continue };
                report.say(format!("{note}: recreating it on {}", side_of(target, wiki, with).name()));
                if copy_over(store, side_of(target, wiki, with), opts, &mut pair, target, title, &text, *rev, report).await? {
                    report.revived += 1;
                }
            }
            Action::Write { pushes, agreed, conflict } => {
                let (mut wrev, mut yrev) = (rev_of(&wstate), rev_of(&ystate));
                let mut all_landed = true;
                for p in &pushes {
                    match push(store, side_of(p.target, wiki, with), opts, &pair, p.target, &pair.title, page_on(p.target, &pair), p.base_rev, &p.text, report).await? {
                        Some((_, newrev, exact)) => {
                            if p.target == Target::Wiki { wrev = newrev } else { yrev = newrev }
                            all_landed &= exact;
                        }
                        None => all_landed = false,
                    }
                }
                if pushes.len() == 2 {
                    report.merged += 1;
                }
                if let Some(note) = conflict {
                    report.conflicts += 1;
                    record_conflict(store, wiki, with, opts, &pair, &note, report).await?;
                    pair.held = note.policy == ConflictPolicy::Markers;
                }
                if all_landed {
                    pair.base_text = agreed.trim_end().to_string();
                    pair.wiki_rev = wrev;
                    pair.with_rev = yrev;
                }
                lock(store).update_sync_pair(&pair, now())?;
            }
        }
    }
    Ok(again)
}

/// Creates the page on `target` with the other side's `text` (at its
/// revision `source_rev`), and makes that the pair's base. True if it landed.
#[allow(clippy::too_many_arguments)]
async fn copy_over(
    store: &Mutex<Store>,
    side: Peer<'_>,
    opts: &SyncOptions,
    pair: &mut Pair,
    target: Target,
    title: &str,
    text: &str,
    source_rev: u64,
    report: &mut Report,
) -> anyhow::Result<bool> {
    let Some((pageid, newrev, _)) = push(store, side, opts, pair, target, title, None, 0, text, report).await? else { return Ok(false) };
    pair.title = title.to_string();
    pair.base_text = text.trim_end().to_string();
    match target {
        Target::Wiki => (pair.wiki_page, pair.wiki_rev, pair.with_rev) = (Some(pageid), newrev, source_rev),
        Target::With => (pair.with_page, pair.with_rev, pair.wiki_rev) = (Some(pageid), newrev, source_rev),
    }
    lock(store).update_sync_pair(pair, now())?;
    Ok(true)
}

fn rev_of(s: &State) -> u64 {
    match s {
        State::Present { rev, .. } => *rev,
        State::Deleted => 0,
    }
}

fn describe(a: &Action, wname: &str, yname: &str) -> String {
    let name = |t: Target| if t == Target::Wiki { wname } else { yname };
    match a {
        Action::Nothing => "nothing".into(),
        Action::Forget => "deleted on both sides".into(),
        Action::Move { target, to, .. } => format!("moved on {}, moving it on {} to [[{to}]]", name(target.other()), name(*target)),
        Action::Delete { target, .. } => format!("deleted on {}, deleting it on {}", name(target.other()), name(*target)),
        Action::Revive { target, .. } => format!("deleted on {} and edited on {}", name(*target), name(target.other())),
        Action::Write { pushes, conflict: Some(_), .. } => format!("edited on both sides with overlapping changes: a conflict, {} write(s)", pushes.len()),
        Action::Write { pushes, .. } if pushes.len() == 2 => "edited on both sides: merged".into(),
        Action::Write { pushes, .. } if pushes.is_empty() => "both sides agree".into(),
        Action::Write { pushes, .. } => format!("edited on {}, writing it to {}", name(pushes[0].target.other()), name(pushes[0].target)),
    }
}

/// Sends one write through the outbox. `Some((page id, new revision,
/// exact))` once the target's saved revision has been read back (`exact`:
/// it holds exactly `text`; MediaWiki may have merged it with an edit made
/// meanwhile, which the next run then sees); `None` if it did not save.
#[allow(clippy::too_many_arguments)]
async fn push(
    store: &Mutex<Store>,
    side: Peer<'_>,
    opts: &SyncOptions,
    pair: &Pair,
    target: Target,
    title: &str,
    page_id: Option<u64>,
    base_rev: u64,
    text: &str,
    report: &mut Report,
) -> anyhow::Result<Option<(u64, u64, bool)>> {
    // MediaWiki strips trailing white space from every saved text.
    let text = text.trim_end();
    let job = lock(store).queue_push(&opts.name, pair.pair_id, target.as_str(), title, page_id, base_rev, text, &md5_hex(text), now())?;
    lock(store).mark_sent(job)?;
    let summary = format!("oai-mirror sync ({})", opts.name);
    let name = side.name();
    match side.write(store, title, page_id, base_rev, text, &summary).await? {
        Written::Saved { page_id, rev, exact } => {
            lock(store).finish_job(job)?;
            report.pushes += 1;
            Ok(Some((page_id, rev, exact)))
        }
        Written::Refused(why) => {
            // A conflict, a deletion meanwhile, protection: the job is
            // superseded; the next run decides again from what is there.
            lock(store).finish_job(job)?;
            report.failed += 1;
            report.say(format!("[[{title}]] on {name}: not written ({why}); deciding again next run"));
            Ok(None)
        }
        Written::Unknown(why) => {
            // The job stays sent, and the next run looks at the target
            // before anything is sent again.
            report.failed += 1;
            report.say(format!("[[{title}]] on {name}: outcome unknown ({why}); will check before retrying"));
            Ok(None)
        }
        Written::Failed(why) => {
            let attempts = lock(store).jobs(&opts.name)?.iter().find(|j| j.job_id == job).map_or(1, |j| j.attempts);
            lock(store).retry_later(job, now() + backoff_secs(attempts), &why)?;
            report.failed += 1;
            report.say(format!("[[{title}]] on {name}: failed ({why}); retrying later"));
            Ok(None)
        }
    }
}

/// Records a conflict with both texts, keeps the other side's text beside a
/// checkout's file, and announces it on the talk page (on `wiki`; the sync
/// carries the notice to the other side).
#[allow(clippy::too_many_arguments)]
async fn record_conflict(store: &Mutex<Store>, wiki: Peer<'_>, with: Peer<'_>, opts: &SyncOptions, pair: &Pair, note: &plan::ConflictNote, report: &mut Report) -> anyhow::Result<()> {
    let row = ConflictRow {
        conflict_id: 0,
        pair_id: pair.pair_id,
        title: note.title.clone(),
        policy: match note.policy {
            ConflictPolicy::KeepBoth => "keep-both".into(),
            ConflictPolicy::Markers => "markers".into(),
        },
        wiki_rev: note.wiki_rev,
        with_rev: note.with_rev,
        wiki_user: note.wiki_user.clone(),
        with_user: note.with_user.clone(),
        wiki_text: note.wiki_text.clone(),
        with_text: note.with_text.clone(),
        resolved_text: note.resolved_text.clone(),
        created_at: 0,
        resolved_at: None,
    };
    let id = lock(store).add_conflict(&opts.name, &row, now())?;
    let mut kept_beside = None;
    if note.policy == ConflictPolicy::KeepBoth {
        let other_text = if opts.prefer == Target::Wiki { &note.with_text } else { &note.wiki_text };
        kept_beside = with.keep_beside(store, pair.with_page, id, other_text)?;
    }
    if let Some(file) = &kept_beside {
        report.say(format!("[[{}]]: the {} text of conflict {id} is kept beside the file, in {file:?}", note.title, if opts.prefer == Target::Wiki { "checkout's" } else { "wiki's" }));
    }
    let Peer::Wiki(wiki) = wiki else { return Ok(()) };
    let talk = talk_title(&note.title);
    let kept = match note.policy {
        ConflictPolicy::KeepBoth => format!(
            "The overlapping parts now hold the text from {}; the other version is kept whole {} and in the mirror (conflict {id}).",
            if opts.prefer == Target::Wiki { "this wiki" } else { "the other side" },
            match &kept_beside {
                Some(file) => format!("in the file {file:?} beside the page's file"),
                None => "in that wiki's history".into(),
            }
        ),
        ConflictPolicy::Markers => "The page now holds both versions between conflict markers; it is not synced again until they are removed.".into(),
    };
    let notice = format!(
        "\n\n== Edit conflict synced by oai-mirror ==\n[[{}]] was changed on both sides of sync ''{}'' in the same place: by {} (revision {} here) and by {} ({}). {kept} ~~~~\n",
        note.title,
        opts.name,
        note.wiki_user,
        note.wiki_rev,
        note.with_user,
        with.describe_rev(store, pair.with_page, note.with_rev)
    );
    let existing = wiki.wiki.pages(&[PageRef::Title(&talk)]).await?;
    let (current, base) = match existing.first().and_then(|p| p.revision.as_ref()) {
        Some(r) => (r.text.clone().unwrap_or_default(), Some(r.revid)),
        None => (String::new(), None),
    };
    let text = format!("{}{notice}", current.trim_end());
    let edit = Edit { page: PageRef::Title(&talk), text: text.trim_start(), summary: "oai-mirror: edit conflict", base_revid: base, start_timestamp: None, mode: CreateMode::Either, minor: false, tags: &[] };
    match wiki.wiki.edit(&edit).await {
        Ok(EditOutcome::Saved { .. }) => report.say(format!("[[{}]]: conflict {id} recorded, both texts kept; notice posted on [[{talk}]]", note.title)),
        other => report.say(format!("[[{}]]: conflict {id} recorded, both texts kept; the notice on [[{talk}]] failed: {other:?}", note.title)),
    }
    Ok(())
}

/// Settles a conflict with `text`: the pair's base becomes `text` at both
/// sides' current revisions, and a push is queued to each side that does
/// not hold it yet; the next run sends them.
pub fn resolve(s: &Store, sync: &str, title: &str, text: &str) -> anyhow::Result<u32> {
    let open: Vec<ConflictRow> = s.conflicts(sync, true)?.into_iter().filter(|c| c.title == title).collect();
    anyhow::ensure!(!open.is_empty(), "no open conflict on [[{title}]] in sync {sync}");
    let mut pair = s.sync_pair(open[0].pair_id)?.with_context(|| format!("the pair of [[{title}]] is gone"))?;
    let text = text.trim_end();
    // The pair's revisions, not the mirror's: they include the sync's own
    // last writes, which the mirror sees only at the next pull. A side that
    // already holds the text answers "no change".
    for (target, page, rev) in [(Target::Wiki, pair.wiki_page, pair.wiki_rev), (Target::With, pair.with_page, pair.with_rev)] {
        s.queue_push(sync, pair.pair_id, target.as_str(), &pair.title, page, rev, text, &md5_hex(text), now())?;
    }
    pair.base_text = text.to_string();
    pair.held = false;
    s.update_sync_pair(&pair, now())?;
    for c in open {
        s.resolve_conflict(c.conflict_id, now())?;
    }
    Ok(2)
}

/// `Title` → `Talk:Title`, `Help:X` → `Help talk:X`.
pub fn talk_title(title: &str) -> String {
    match title.split_once(':') {
        Some((ns, rest)) if ["User", "Project", "File", "Template", "Help", "Category", "MediaWiki"].contains(&ns) => format!("{ns} talk:{rest}"),
        _ => format!("Talk:{title}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(pages: &[(u64, &str)]) -> HashMap<u64, Live> {
        pages.iter().map(|(id, t)| (*id, Live { title: t.to_string(), rev: 1 })).collect()
    }

    fn pair(id: i64, wiki: Option<u64>, with: Option<u64>, title: &str) -> Pair {
        Pair { pair_id: id, wiki_page: wiki, with_page: with, title: title.into(), base_text: String::new(), wiki_rev: 0, with_rev: 0, held: false }
    }

    #[test]
    fn new_pages_pair_by_title_or_alone() {
        let mut pairs = vec![pair(1, Some(1), Some(11), "Known")];
        let new = pair_new_pages(&mut pairs, &live(&[(1, "Known"), (2, "Both"), (3, "Wiki only")]), &live(&[(11, "Known"), (12, "Both"), (13, "Other only")]));
        let got: Vec<(Option<u64>, Option<u64>, &str)> = new.iter().map(|p| (p.wiki_page, p.with_page, p.title.as_str())).collect();
        assert_eq!(got, [(Some(2), Some(12), "Both"), (None, Some(13), "Other only"), (Some(3), None, "Wiki only")]);
    }

    #[test]
    fn a_pair_missing_a_side_adopts_the_page_a_killed_run_created() {
        // The run created the page on the other side and died before recording it.
        let mut pairs = vec![pair(1, Some(1), None, "Made"), pair(2, None, Some(12), "Made back")];
        let new = pair_new_pages(&mut pairs, &live(&[(1, "Made"), (2, "Made back")]), &live(&[(11, "Made"), (12, "Made back")]));
        assert!(new.is_empty(), "no second pair: {new:?}");
        assert_eq!((pairs[0].with_page, pairs[1].wiki_page), (Some(11), Some(2)));
    }
}
