//! One sync run between two wikis: pull both, settle the outbox, pair new
//! pages, decide each pair (`plan::decide`) and carry the decision out.
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
use checkpoints::{ConflictRow, Pair, Store, StoredPage};

use super::plan::{self, Action, Base, ConflictPolicy, State, Target};
use crate::mediawiki::{CreateMode, Edit, EditOutcome, MwError, PageRef, Wiki};
use crate::mirror::pull::{self, Feed, PullOptions};
use crate::util::{lock, md5_hex};

/// One side of a sync: a wiki, how to pull it, and its client.
pub struct Side<'a> {
    pub wiki: &'a Wiki,
    pub pull: PullOptions,
    pub feed: Feed,
    pub oai: Option<&'a oai::Client>,
}

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
pub async fn run(store: Arc<Mutex<Store>>, wiki: &Side<'_>, with: &Side<'_>, opts: &SyncOptions) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let requests_before = wiki.wiki.requests() + with.wiki.requests();
    for round in 0..ROUNDS {
        report.pages_examined += pull_side(&store, wiki).await.with_context(|| format!("pulling {}", wiki.pull.wiki))?;
        report.pages_examined += pull_side(&store, with).await.with_context(|| format!("pulling {}", with.pull.wiki))?;
        if !opts.dry_run {
            settle_outbox(&store, wiki, with, opts, &mut report).await?;
        }
        let moved = decide_all(&store, wiki, with, opts, &mut report).await?;
        if !moved || opts.dry_run {
            break;
        }
        tracing::debug!(round, "moves replayed; deciding again");
    }
    report.queued = lock(&store).jobs(&opts.name)?.len() as u64;
    report.requests = wiki.wiki.requests() + with.wiki.requests() - requests_before;
    Ok(report)
}

/// Pulls one side; returns how many pages its feed named.
async fn pull_side(store: &Arc<Mutex<Store>>, side: &Side<'_>) -> anyhow::Result<u64> {
    let summary = match side.feed {
        Feed::Api => pull::pull_api(store.clone(), side.wiki, &side.pull).await?,
        Feed::Oai => {
            let client = side.oai.context("an OAI feed without an `oai` URL")?;
            pull::pull_oai(store.clone(), client, side.pull.history.then_some(side.wiki), &side.pull).await?
        }
    };
    Ok(summary.pages_seen)
}

fn side_of<'a, 'b>(target: Target, wiki: &'a Side<'b>, with: &'a Side<'b>) -> &'a Side<'b> {
    match target {
        Target::Wiki => wiki,
        Target::With => with,
    }
}

/// Jobs left by an earlier run: a sent one is checked on its target first.
async fn settle_outbox(store: &Arc<Mutex<Store>>, wiki: &Side<'_>, with: &Side<'_>, opts: &SyncOptions, report: &mut Report) -> anyhow::Result<()> {
    let jobs = lock(store).jobs(&opts.name)?;
    for job in jobs {
        let target = if job.target == "wiki" { Target::Wiki } else { Target::With };
        let side = side_of(target, wiki, with);
        if job.sent {
            // Did it land? The target's current text says.
            let r = match job.page_id {
                Some(id) => PageRef::Id(id),
                None => PageRef::Title(&job.title),
            };
            let current = side.wiki.pages(&[r]).await?;
            let landed = current.first().and_then(|p| p.revision.as_ref()).and_then(|r| r.text.as_deref()).is_some_and(|t| md5_hex(t) == job.md5);
            lock(store).finish_job(job.job_id)?;
            report.say(format!(
                "[[{}]] on {}: an earlier push {}",
                job.title,
                side.pull.wiki,
                if landed { "had landed; not sent again" } else { "had not landed; deciding again" }
            ));
        } else if job.next_try > now() {
            report.say(format!("[[{}]] on {}: waiting to retry ({})", job.title, side.pull.wiki, job.last_error.as_deref().unwrap_or("")));
        } else {
            // Due (a resolution, or a retry): send it, against the revision it was based on.
            lock(store).finish_job(job.job_id)?;
            let Some(mut pair) = lock(store).sync_pair(job.pair_id)? else { continue };
            if let Some((pageid, newrev, exact)) = push(store, side, opts, &pair, target, &job.title, job.page_id, job.base_rev, &job.text, report).await? {
                match target {
                    Target::Wiki => (pair.wiki_page, pair.wiki_rev) = (Some(pageid), newrev),
                    Target::With => (pair.with_page, pair.with_rev) = (Some(pageid), newrev),
                }
                if exact {
                    pair.base_text = job.text.trim_end().to_string();
                }
                lock(store).update_sync_pair(&pair, now())?;
            }
        }
    }
    Ok(())
}

/// Current pages of a wiki by id (live, not moved aside).
fn live_pages(store: &Mutex<Store>, wiki: &str) -> anyhow::Result<HashMap<u64, StoredPage>> {
    Ok(lock(store).wiki_pages(wiki)?.into_iter().filter(|p| !p.deleted && !p.displaced).map(|p| (p.pageid, p)).collect())
}

fn state_of(store: &Mutex<Store>, wiki: &str, page: Option<&StoredPage>) -> anyhow::Result<State> {
    let Some(p) = page else { return Ok(State::Deleted) };
    let Some(rev) = p.rev_id else { return Ok(State::Deleted) };
    let r = lock(store).wiki_revision(wiki, rev)?.with_context(|| format!("revision {rev} of [[{}]] is not in the mirror", p.title))?;
    Ok(State::Present { title: p.title.clone(), rev, text: r.text, user: r.user })
}

/// Decides every pair; returns whether moves were replayed.
async fn decide_all(store: &Arc<Mutex<Store>>, wiki: &Side<'_>, with: &Side<'_>, opts: &SyncOptions, report: &mut Report) -> anyhow::Result<bool> {
    let (wname, yname) = (wiki.pull.wiki.as_str(), with.pull.wiki.as_str());
    let wpages = live_pages(store, wname)?;
    let ypages = live_pages(store, yname)?;
    let mut pairs = lock(store).sync_pairs(&opts.name)?;
    let busy: HashSet<i64> = lock(store).jobs(&opts.name)?.iter().map(|j| j.pair_id).collect();

    // New pages: paired by title with an unpaired page on the other side, or
    // created there.
    let paired_w: HashSet<u64> = pairs.iter().filter_map(|p| p.wiki_page).collect();
    let paired_y: HashSet<u64> = pairs.iter().filter_map(|p| p.with_page).collect();
    let mut unpaired_y: HashMap<&str, &StoredPage> = ypages.values().filter(|p| !paired_y.contains(&p.pageid)).map(|p| (p.title.as_str(), p)).collect();
    let mut new_pairs = Vec::new();
    for p in wpages.values().filter(|p| !paired_w.contains(&p.pageid)) {
        let other = unpaired_y.remove(p.title.as_str());
        new_pairs.push(Pair { pair_id: 0, wiki_page: Some(p.pageid), with_page: other.map(|o| o.pageid), title: p.title.clone(), base_text: String::new(), wiki_rev: 0, with_rev: 0, held: false });
    }
    for p in unpaired_y.values() {
        new_pairs.push(Pair { pair_id: 0, wiki_page: None, with_page: Some(p.pageid), title: p.title.clone(), base_text: String::new(), wiki_rev: 0, with_rev: 0, held: false });
    }
    new_pairs.sort_by(|a, b| a.title.cmp(&b.title));
    for mut p in new_pairs {
        if !opts.dry_run {
            p.pair_id = lock(store).add_sync_pair(&opts.name, &p, now())?;
        }
        pairs.push(p);
    }

    let mut moved = false;
    for mut pair in pairs {
        if busy.contains(&pair.pair_id) {
            continue;
        }
        let wstate = state_of(store, wname, pair.wiki_page.and_then(|id| wpages.get(&id)))?;
        let ystate = state_of(store, yname, pair.with_page.and_then(|id| ypages.get(&id)))?;
        // A page on one side only, never synced: create it on the other.
        if pair.wiki_rev == 0 && pair.with_rev == 0 && (pair.wiki_page.is_none() || pair.with_page.is_none()) {
            let (target, State::Present { title, text, rev, .. }) = (if pair.wiki_page.is_none() { (Target::Wiki, &ystate) } else { (Target::With, &wstate) }) else {
                continue;
            };
            report.say(format!("[[{title}]]: new on {}, creating it on {}", side_of(target.other(), wiki, with).pull.wiki, side_of(target, wiki, with).pull.wiki));
            if opts.dry_run {
                continue;
            }
            if copy_over(store, side_of(target, wiki, with), opts, &mut pair, target, title, text, *rev, report).await? {
                report.created += 1;
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
            report.say(format!("[[{}]]: {}", pair.title, describe(&action, wname, yname)));
        }
        if opts.dry_run {
            continue;
        }
        match action {
            Action::Nothing => {}
            Action::Forget => lock(store).forget_sync_pair(pair.pair_id)?,
            Action::Move { target, from, to } => {
                let side = side_of(target, wiki, with);
                match side.wiki.move_page(&from, &to, true, &format!("oai-mirror: moved on {} too", side_of(target.other(), wiki, with).pull.wiki)).await {
                    Ok(_) => {
                        pair.title = to;
                        lock(store).update_sync_pair(&pair, now())?;
                        report.moves += 1;
                        moved = true;
                    }
                    Err(e) => {
                        report.failed += 1;
                        report.say(format!("[[{from}]]: moving it on {} failed: {e}", side.pull.wiki));
                    }
                }
            }
            Action::Delete { target, title } => {
                let side = side_of(target, wiki, with);
                match side.wiki.delete(&title, &format!("oai-mirror: deleted on {}", side_of(target.other(), wiki, with).pull.wiki)).await {
                    Ok(_) => {
                        lock(store).forget_sync_pair(pair.pair_id)?;
                        report.deletes += 1;
                    }
                    Err(e) if e.code() == Some(&crate::mediawiki::ApiCode::MissingTitle) => lock(store).forget_sync_pair(pair.pair_id)?,
                    Err(e) => {
                        report.failed += 1;
                        report.say(format!("[[{title}]]: deleting it on {} failed: {e}", side.pull.wiki));
                    }
                }
            }
            Action::Revive { target, text, note } => {
                let source = if target == Target::Wiki { &ystate } else { &wstate };
                let State::Present { title, rev, .. } = source else { continue };
                report.say(format!("{note}: recreating it on {}", side_of(target, wiki, with).pull.wiki));
                if copy_over(store, side_of(target, wiki, with), opts, &mut pair, target, title, &text, *rev, report).await? {
                    report.revived += 1;
                }
            }
            Action::Write { pushes, agreed, conflict } => {
                let (mut wrev, mut yrev) = (rev_of(&wstate), rev_of(&ystate));
                let mut all_landed = true;
                for p in &pushes {
                    let page_id = if p.target == Target::Wiki { pair.wiki_page } else { pair.with_page };
                    match push(store, side_of(p.target, wiki, with), opts, &pair, p.target, &pair.title, page_id, p.base_rev, &p.text, report).await? {
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
                    record_conflict(store, wiki, opts, &pair, &note, report).await?;
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
    Ok(moved)
}

/// Creates the page on `target` with the other side's `text` (at its
/// revision `source_rev`), and makes that the pair's base. True if it landed.
#[allow(clippy::too_many_arguments)]
async fn copy_over(
    store: &Mutex<Store>,
    side: &Side<'_>,
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
    side: &Side<'_>,
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
    let edit = Edit {
        page: page_id.map_or(PageRef::Title(title), PageRef::Id),
        text,
        summary: &format!("oai-mirror sync ({})", opts.name),
        base_revid: (base_rev > 0).then_some(base_rev),
        start_timestamp: None,
        mode: if page_id.is_some() { CreateMode::NoCreate } else { CreateMode::CreateOnly },
        minor: false,
        tags: &[],
    };
    let outcome = side.wiki.edit(&edit).await;
    let wiki = &side.pull.wiki;
    match outcome {
        Ok(EditOutcome::Saved { pageid, newrevid, text: saved, .. }) => {
            lock(store).finish_job(job)?;
            report.pushes += 1;
            Ok(Some((pageid, newrevid, saved == text)))
        }
        Ok(EditOutcome::NoChange { pageid }) => {
            lock(store).finish_job(job)?;
            let current = side.wiki.pages(&[PageRef::Id(pageid)]).await?;
            let rev = current.first().and_then(|p| p.revision.as_ref()).map_or(0, |r| r.revid);
            Ok(Some((pageid, rev, true)))
        }
        Ok(other) => {
            // A conflict, a deletion meanwhile, protection: the job is
            // superseded; the next run decides again from what is there.
            lock(store).finish_job(job)?;
            report.failed += 1;
            report.say(format!("[[{title}]] on {wiki}: not written ({other:?}); deciding again next run"));
            Ok(None)
        }
        Err(e @ (MwError::Unreachable { .. } | MwError::RetriesExhausted { .. })) => {
            // The outcome is unknown: the job stays sent, and the next run
            // looks at the target before anything is sent again.
            report.failed += 1;
            report.say(format!("[[{title}]] on {wiki}: outcome unknown ({e}); will check before retrying"));
            Ok(None)
        }
        Err(e) => {
            let attempts = lock(store).jobs(&opts.name)?.iter().find(|j| j.job_id == job).map_or(1, |j| j.attempts);
            lock(store).retry_later(job, now() + backoff_secs(attempts), &e.to_string())?;
            report.failed += 1;
            report.say(format!("[[{title}]] on {wiki}: failed ({e}); retrying later"));
            Ok(None)
        }
    }
}

/// Records a conflict with both texts and announces it on the talk page
/// (on `wiki`; the sync carries the notice to the other side).
async fn record_conflict(store: &Mutex<Store>, wiki: &Side<'_>, opts: &SyncOptions, pair: &Pair, note: &plan::ConflictNote, report: &mut Report) -> anyhow::Result<()> {
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
    let talk = talk_title(&note.title);
    let kept = match note.policy {
        ConflictPolicy::KeepBoth => format!(
            "The overlapping parts now hold the text from {}; the other version is kept whole in that wiki's history and in the mirror (conflict {id}).",
            if opts.prefer == Target::Wiki { "this wiki" } else { "the other wiki" }
        ),
        ConflictPolicy::Markers => "The page now holds both versions between conflict markers; it is not synced again until they are removed.".into(),
    };
    let notice = format!(
        "\n\n== Edit conflict synced by oai-mirror ==\n[[{}]] was changed on both wikis of sync ''{}'' in the same place: by {} (revision {} here) and by {} (revision {} on the other wiki). {kept} ~~~~\n",
        note.title, opts.name, note.wiki_user, note.wiki_rev, note.with_user, note.with_rev
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
