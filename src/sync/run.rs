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
use checkpoints::{Pair, Store};
use tracing::Instrument;

use super::peer::{Live, Peer, Side};
use super::plan::{self, Action, Base, ConflictPolicy, State, Target};
use super::report::{Report, describe};
use super::scope::{Direction, SyncOptions};
use crate::util::lock;

mod conflicts;
mod files;
mod outbox;
mod replay;

pub use conflicts::{Take, resolve, talk_title};
use outbox::{Deferred, Outgoing};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// How many times a run decides again after it replayed moves.
const ROUNDS: usize = 3;

/// Runs a sync between `wiki` and `with`.
pub async fn run(store: Arc<Mutex<Store>>, wiki: &Side<'_>, with: Peer<'_>, opts: &SyncOptions) -> anyhow::Result<Report> {
    let span = tracing::info_span!("sync", sync = %opts.name, wiki = %wiki.pull.wiki, with = %with.name());
    let mut run =
        Run { store: &store, wiki: Peer::Wiki(wiki), with, opts, report: Report::default(), deferred: Vec::new(), told: HashSet::new(), can_import: [None; 2] };
    run.rounds().instrument(span).await?;
    Ok(run.report)
}

/// One run: the store, both sides, the options, and what was done so far.
struct Run<'a> {
    store: &'a Arc<Mutex<Store>>,
    wiki: Peer<'a>,
    with: Peer<'a>,
    opts: &'a SyncOptions,
    report: Report,
    /// Agreements waiting for the run's writes to be read back, together
    /// (`verify_deferred`), 50 to a request.
    deferred: Vec<Deferred>,
    /// Decisions told already this run: a decision that is the same in a
    /// later round (one the other site of a sync by packages carries out)
    /// is told once.
    told: HashSet<String>,
    /// Whether each side's account may import (asked once a run, when a
    /// replay first needs to know), by `Target as usize`.
    can_import: [Option<bool>; 2],
}

impl<'a> Run<'a> {
    async fn rounds(&mut self) -> anyhow::Result<()> {
        let requests_before = self.wiki.requests() + self.with.requests();
        for target in [Target::Wiki, Target::With] {
            if let Some(why) = self.read_only(target) {
                self.report.say(format!("one-way: {why}; its changes are carried to the other side, nothing is written to it"));
            }
        }
        for round in 0..ROUNDS {
            // The outbox first: its pushes move pairs' bases, so the sides are
            // read after it, and decisions never meet a base newer than the
            // pages they look at.
            if !self.opts.dry_run {
                self.settle_outbox().await?;
            }
            for side in [self.wiki, self.with] {
                let (examined, notes) = side.pull(self.store).await.with_context(|| format!("pulling {}", side.name()))?;
                self.report.pages_examined += examined;
                // Skipped files are told once, not once per round.
                if round == 0 {
                    notes.into_iter().for_each(|n| self.report.say(n));
                }
            }
            let again = self.decide_all().await?;
            if !again || self.opts.dry_run {
                break;
            }
            tracing::debug!(round, "moves replayed; deciding again");
        }
        // Files after pages: a new file's page is paired by then.
        self.sync_files().await.context("syncing files")?;
        // Counted, not loaded: the queue's texts stay in the store.
        (self.report.queued, self.report.open_conflicts) = write(self.store, |s| s.sync_backlog(&self.opts.name))?;
        self.report.requests = self.wiki.requests() + self.with.requests() - requests_before;
        Ok(())
    }

    /// Why this run writes nothing to `target`, if it does not: the
    /// sync's direction, or a wiki without an account (which would take an
    /// edit as the server's IP address).
    fn read_only(&self, target: Target) -> Option<String> {
        let side = self.side(target);
        match (self.opts.direction, target) {
            (Direction::Pull, Target::Wiki) => return Some(format!("direction = \"pull\": {} is only read", side.name())),
            (Direction::Push, Target::With) => return Some(format!("direction = \"push\": {} is only read", side.name())),
            _ => {}
        }
        match side {
            Peer::Wiki(s) if !s.wiki.has_account() => Some(format!("[wiki.{}] has no account, so it is only read", s.pull.wiki)),
            _ => None,
        }
    }

    /// Counts and tells a change held back from a side the run only reads,
    /// once a run however many rounds meet it.
    fn hold_back(&mut self, line: String) {
        if self.told.insert(line.clone()) {
            self.report.held_back += 1;
            self.report.say(line);
        }
    }

    fn side(&self, target: Target) -> Peer<'a> {
        match target {
            Target::Wiki => self.wiki,
            Target::With => self.with,
        }
    }

    /// Decides every pair; returns whether to decide again (moves were
    /// replayed, or pages created whose titles the target may have normalised).
    async fn decide_all(&mut self) -> anyhow::Result<bool> {
        let (store, opts) = (self.store, self.opts);
        let wpages = self.wiki.pages(store)?;
        let ypages = self.with.pages(store)?;
        // Pairs without their base texts: most have not changed, and the
        // base of those that have is read one at a time below.
        let mut pairs = write(store, |s| s.sync_pairs_without_base(&opts.name))?;
        let busy: HashSet<i64> = write(store, |s| s.pairs_with_pushes(&opts.name))?;
        let before: HashMap<i64, (Option<u64>, Option<u64>)> = pairs.iter().map(|p| (p.pair_id, (p.wiki_page, p.with_page))).collect();
        // A group pairs only its members' pages; the others stay where they are.
        let held = |live: &HashMap<u64, Live>| -> HashMap<u64, Live> {
            live.iter().filter(|(_, p)| opts.members.as_ref().is_none_or(|m| m.holds(&p.title))).map(|(id, p)| (*id, p.clone())).collect()
        };
        let new_pairs = match &opts.members {
            None => pair_new_pages(&mut pairs, &wpages, &ypages, self.with.carried()),
            Some(_) => pair_new_pages(&mut pairs, &held(&wpages), &held(&ypages), self.with.carried()),
        };
        if !opts.dry_run {
            for p in pairs.iter().filter(|p| before.get(&p.pair_id) != Some(&(p.wiki_page, p.with_page))) {
                write(store, |s| s.set_sync_pages(p.pair_id, p.wiki_page, p.with_page, now()))?;
            }
        }
        for mut p in new_pairs {
            if !opts.dry_run {
                p.pair_id = write(store, |s| s.add_sync_pair(&opts.name, &p, now()))?;
            }
            pairs.push(p);
        }

        let mut again = false;
        for mut pair in pairs {
            if busy.contains(&pair.pair_id) {
                continue;
            }
            // Neither side changed since they agreed: nothing to decide, and
            // no need to read either text (most pairs of a big sync, every run).
            let as_agreed = |live: &HashMap<u64, Live>, page: Option<u64>, rev: u64| {
                page.and_then(|id| live.get(&id)).is_some_and(|p| p.rev == rev && p.title == pair.title)
            };
            if !pair.held && pair.wiki_rev != 0 && as_agreed(&wpages, pair.wiki_page, pair.wiki_rev) && as_agreed(&ypages, pair.with_page, pair.with_rev) {
                continue;
            }
            if let Some(members) = &opts.members {
                // Out of the group's categories on every member: no longer
                // synced, and deleted nowhere. Its base stays, should it come back.
                let title_on = |live: &HashMap<u64, Live>, id: Option<u64>| id.and_then(|id| live.get(&id)).map(|p| p.title.clone());
                let titles = [Some(pair.title.clone()), title_on(&wpages, pair.wiki_page), title_on(&ypages, pair.with_page)];
                if !titles.iter().flatten().any(|t| members.holds(t)) {
                    continue;
                }
            }
            // A page whose state cannot be read is left for the next run;
            // the others go on.
            let states = self.wiki.state(store, &wpages, pair.wiki_page).and_then(|w| Ok((w, self.with.state(store, &ypages, pair.with_page)?)));
            let (wstate, ystate) = match states {
                Ok(states) => states,
                Err(e) => {
                    self.report.failed += 1;
                    self.report.say(format!("[[{}]]: skipped, its state cannot be read: {e:#}", pair.title));
                    continue;
                }
            };
            // A wiki's mirror behind the pair's base (its revision older
            // than the one agreed, which a write of this sync made) has not
            // seen that write come back through its feed yet: its page is
            // not an edit. Decided once the feed shows it.
            let behind = |side: Peer<'_>, state: &State, agreed: u64| {
                matches!(side, Peer::Wiki(_) | Peer::Carried(_)) && matches!(state, State::Present { rev, .. } if *rev < agreed)
            };
            if behind(self.wiki, &wstate, pair.wiki_rev) || behind(self.with, &ystate, pair.with_rev) {
                tracing::info!(title = %pair.title, "a mirror is behind the pair's base; left for the next run");
                continue;
            }
            if pair.pair_id != 0 {
                pair.base_text = write(store, |s| s.sync_base(pair.pair_id))?;
            }
            let base = Base { title: pair.title.clone(), text: pair.base_text.clone(), wiki_rev: pair.wiki_rev, with_rev: pair.with_rev, held: pair.held };
            let action = plan::decide(&base, &wstate, &ystate, opts.policy, opts.prefer);
            if action != Action::Nothing {
                let line = format!("[[{}]]: {}", pair.title, describe(&action, &self.wiki.name(), &self.with.name()));
                if self.told.insert(line.clone()) {
                    self.report.say(line);
                }
            }
            if opts.dry_run {
                let read_only = [self.read_only(Target::Wiki).is_some(), self.read_only(Target::With).is_some()];
                self.report.count_planned(&action, |t| read_only[(t == Target::With) as usize]);
                continue;
            }
            again |= self.execute(pair, action, &wstate, &ystate).await?;
        }
        self.verify_deferred().await?;
        Ok(again)
    }

    /// Carries out one pair's decision; returns whether to decide again.
    async fn execute(&mut self, mut pair: Pair, action: Action, wstate: &State, ystate: &State) -> anyhow::Result<bool> {
        let store = self.store;
        // The other site of a sync by packages does these itself, from
        // the pages this site's next package carries; the pair's base waits
        // until its package shows them done.
        if let Action::Create { target, .. } | Action::Move { target, .. } | Action::Delete { target, .. } | Action::Revive { target, .. } = &action
            && self.side(*target).carried()
        {
            return Ok(false);
        }
        match action {
            Action::Nothing | Action::Hold => {}
            Action::Create { target, title, text, source_rev } => {
                let source = if target == Target::Wiki { ystate } else { wstate };
                if let Some(all) = self.replay(&mut pair, target, None, source, 0).await? {
                    self.report.created += all as u64;
                    return Ok(all);
                }
                if self.copy_over(&mut pair, target, &title, &text, source_rev).await? {
                    self.report.created += 1;
                    return Ok(true);
                }
            }
            Action::Forget => {
                self.wiki.forget(store, pair.wiki_page)?;
                self.with.forget(store, pair.with_page)?;
                write(store, |s| s.forget_sync_pair(pair.pair_id))?;
            }
            Action::Move { target, from, .. } | Action::Delete { target, title: from } if self.read_only(target).is_some() => {
                self.hold_back(format!("[[{from}]]: not changed on {} ({}); pending", self.side(target).name(), self.read_only(target).unwrap_or_default()));
            }
            Action::Move { target, from, to } => {
                let side = self.side(target);
                let reason = format!("oai-mirror: moved on {} too", self.side(target.other()).name());
                match side.move_page(store, page_on(target, &pair), &from, &to, &reason).await? {
                    Ok(()) => {
                        self.report.wiki_writes += (target == Target::Wiki) as u64;
                        pair.title = to;
                        write(store, |s| s.update_sync_pair(&pair, now()))?;
                        self.report.moves += 1;
                        return Ok(true);
                    }
                    Err(e) => {
                        self.report.failed += 1;
                        self.report.say(format!("[[{from}]]: moving it on {} failed: {e}", side.name()));
                    }
                }
            }
            Action::Delete { target, title } => {
                let side = self.side(target);
                let reason = format!("oai-mirror: deleted on {}", self.side(target.other()).name());
                match side.delete(store, page_on(target, &pair), &title, &reason).await? {
                    Ok(()) => {
                        self.report.wiki_writes += (target == Target::Wiki) as u64;
                        self.wiki.forget(store, pair.wiki_page)?;
                        self.with.forget(store, pair.with_page)?;
                        write(store, |s| s.forget_sync_pair(pair.pair_id))?;
                        self.report.deletes += 1;
                    }
                    Err(e) => {
                        self.report.failed += 1;
                        self.report.say(format!("[[{title}]]: deleting it on {} failed: {e}", side.name()));
                    }
                }
            }
            Action::Revive { target, text, note } => {
                let source = if target == Target::Wiki { ystate } else { wstate };
                let State::Present { title, rev, .. } = source else { return Ok(false) };
                self.report.say(format!("{note}: recreating it on {}", self.side(target).name()));
                if self.copy_over(&mut pair, target, title, &text, *rev).await? {
                    self.report.revived += 1;
                }
            }
            Action::Write { pushes, agreed, conflict } => {
                // A change made on one side: replayed as its revisions.
                if let ([p], None) = (pushes.as_slice(), &conflict) {
                    let (source, after) = if p.target == Target::Wiki { (ystate, pair.with_rev) } else { (wstate, pair.wiki_rev) };
                    pair.held = false;
                    if after != 0 && self.replay(&mut pair, p.target, Some(after), source, p.base_rev).await?.is_some() {
                        return Ok(false);
                    }
                }
                let (mut wrev, mut yrev) = (rev_of(wstate), rev_of(ystate));
                let mut all_landed = true;
                let mut landed_all = Vec::new();
                for p in &pushes {
                    if self.side(p.target).carried() {
                        // Carried by this site's next package: agreed once
                        // the other site's package shows it.
                        all_landed = false;
                        continue;
                    }
                    // Both sides changed: the other side's revisions are
                    // replayed merged, then this write names every author.
                    let (mut base_rev, mut summary) = (p.base_rev, None);
                    if pushes.len() == 2 || conflict.is_some() {
                        let (there, source) = if p.target == Target::Wiki { (wstate, ystate) } else { (ystate, wstate) };
                        if let State::Present { text, .. } = there {
                            (base_rev, summary) = self.replay_merged(&mut pair, p.target, (p.base_rev, text), rev_of(source), conflict.as_ref()).await?;
                        }
                    }
                    let outgoing = Outgoing {
                        target: p.target,
                        title: &pair.title,
                        page_id: page_on(p.target, &pair),
                        base_rev,
                        text: &p.text,
                        summary: summary.as_deref(),
                        source_rev: None,
                    };
                    match self.push(&pair, outgoing, None).await? {
                        Some(landed) => {
                            if p.target == Target::Wiki {
                                wrev = landed.rev;
                            } else {
                                yrev = landed.rev;
                            }
                            landed_all.push(landed);
                        }
                        None => all_landed = false,
                    }
                }
                if pushes.len() == 2 {
                    self.report.merged += 1;
                }
                if let Some(note) = conflict {
                    self.report.conflicts += 1;
                    self.record_conflict(&pair, &note).await?;
                    pair.held = note.policy == ConflictPolicy::Markers;
                } else {
                    pair.held = false;
                }
                self.settle(pair, landed_all, all_landed.then_some((agreed, wrev, yrev)), true)?;
            }
        }
        Ok(false)
    }

    /// Creates the page on `target` with the other side's `text` (at its
    /// revision `source_rev`), and makes that the pair's base. True if it landed.
    async fn copy_over(&mut self, pair: &mut Pair, target: Target, title: &str, text: &str, source_rev: u64) -> anyhow::Result<bool> {
        let outgoing = Outgoing { target, title, page_id: None, base_rev: 0, text, summary: None, source_rev: None };
        let Some(landed) = self.push(pair, outgoing, None).await? else { return Ok(false) };
        pair.title = title.to_string();
        set_page(target, pair, landed.page_id);
        let (wiki_rev, with_rev) = revs(target, landed.rev, source_rev);
        // A created page is the base whatever MediaWiki made of the text
        // (it may normalise it): the next run compares from there.
        self.settle(pair.clone(), vec![landed], Some((text.to_string(), wiki_rev, with_rev)), false)?;
        Ok(true)
    }
}

/// Pairs pages that no pair holds yet. A pair that lacks one side adopts an
/// unpaired page of its title there (its own page, created by a run that
/// died before it could record it); otherwise pages are paired by title,
/// or paired alone to be created on the other side. With `carried_with`
/// (the other site of a sync by packages, which writes its own pages), a
/// pair whose page there is gone also adopts a new page of its title
/// there: that site re-created it (a deletion undone by an edit), under
/// a new page id this site learns only from its package.
fn pair_new_pages(pairs: &mut [Pair], wpages: &HashMap<u64, Live>, ypages: &HashMap<u64, Live>, carried_with: bool) -> Vec<Pair> {
    let paired_w: HashSet<u64> = pairs.iter().filter_map(|p| p.wiki_page).collect();
    let paired_y: HashSet<u64> = pairs.iter().filter_map(|p| p.with_page).collect();
    let mut unpaired_w: HashMap<&str, u64> = wpages.iter().filter(|(id, _)| !paired_w.contains(id)).map(|(id, p)| (p.title.as_str(), *id)).collect();
    let mut unpaired_y: HashMap<&str, u64> = ypages.iter().filter(|(id, _)| !paired_y.contains(id)).map(|(id, p)| (p.title.as_str(), *id)).collect();
    for pair in pairs.iter_mut() {
        match (pair.wiki_page, pair.with_page) {
            (None, Some(_)) => pair.wiki_page = unpaired_w.remove(pair.title.as_str()),
            (Some(_), None) => pair.with_page = unpaired_y.remove(pair.title.as_str()),
            (_, Some(gone)) if carried_with && !ypages.contains_key(&gone) => {
                if let Some(id) = unpaired_y.remove(pair.title.as_str()) {
                    pair.with_page = Some(id);
                }
            }
            _ => {}
        }
    }
    let alone = |title: &str| Pair {
        pair_id: 0,
        wiki_page: None,
        with_page: None,
        title: title.to_string(),
        base_text: String::new(),
        wiki_rev: 0,
        with_rev: 0,
        held: false,
    };
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

/// The pair's page on a side.
fn page_on(target: Target, pair: &Pair) -> Option<u64> {
    if target == Target::Wiki { pair.wiki_page } else { pair.with_page }
}

fn set_page(target: Target, pair: &mut Pair, id: u64) {
    match target {
        Target::Wiki => pair.wiki_page = Some(id),
        Target::With => pair.with_page = Some(id),
    }
}

/// A base's (wiki revision, with revision): `target_rev` on `target`,
/// `other_rev` on the other side.
fn revs(target: Target, target_rev: u64, other_rev: u64) -> (u64, u64) {
    if target == Target::Wiki { (target_rev, other_rev) } else { (other_rev, target_rev) }
}

fn rev_of(s: &State) -> u64 {
    match s {
        State::Present { rev, .. } => *rev,
        State::Deleted | State::Absent | State::Unknown => 0,
    }
}

/// Runs a write to the store off the async worker it is called on: a
/// commit may wait for another connection's transaction (the daemon's
/// harvests write at the same time) or for a checkpoint's fsync.
fn write<T>(store: &Mutex<Store>, f: impl FnOnce(&Store) -> checkpoints::Result<T>) -> anyhow::Result<T> {
    Ok(crate::util::blocking(|| f(&lock(store)))?)
}

#[cfg(test)]
mod tests;
