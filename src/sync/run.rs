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
use checkpoints::{ConflictRow, Job, NewPush, Pair, Store};
use tracing::Instrument;

pub use super::peer::{Carried, Checkout, Side};
use super::peer::{Live, Peer, Written};
use super::plan::{self, Action, Base, ConflictPolicy, State, Target};
use crate::mediawiki::{CreateMode, Edit, EditOutcome, PageRef, Wiki};
use crate::util::{lock, md5_hex};

pub struct SyncOptions {
    /// The `[sync.NAME]`.
    pub name: String,
    pub policy: ConflictPolicy,
    pub prefer: Target,
    /// Decide and print, write nothing.
    pub dry_run: bool,
    /// Post conflict notices on the wiki's talk pages. In a sync by
    /// packages only one of the two sites does (the sync carries the
    /// notice to the other), or each wiki would get two.
    pub announce: bool,
    /// Where notices go (`[sync.NAME] notify`).
    pub notify: Vec<Notice>,
    /// A group's pages: only pages it holds are paired, and a pair none of
    /// whose titles it holds is left alone (neither synced nor deleted).
    /// `None`: every page both sides mirror.
    pub members: Option<Arc<super::group::Members>>,
    /// In a group, the other spokes' pairs: a hub revision one of them
    /// wrote is that spoke's edit, and its notices go to that spoke.
    pub upstream: Vec<super::group::Upstream>,
}

impl SyncOptions {
    /// A pair's options, as `[sync.NAME]` gives them.
    pub fn pair(name: &str, policy: ConflictPolicy, prefer: Target, notify: Vec<Notice>, dry_run: bool) -> SyncOptions {
        SyncOptions { name: name.to_string(), policy, prefer, dry_run, announce: true, notify, members: None, upstream: Vec::new() }
    }
}

/// Where a conflict's notice is left.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Notice {
    /// The page's talk page (on `wiki`; the sync carries it to the other side).
    PageTalk,
    /// The user talk page of both contributors whose edits clashed, each on
    /// the wiki where they made theirs.
    UserTalk,
}

/// Where notices go unless the config says: the page's talk page.
pub fn default_notices() -> Vec<Notice> {
    vec![Notice::PageTalk]
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
    /// Conflicts of this sync still waiting for a person, after the run.
    pub open_conflicts: u64,
    /// Writes, moves and deletions made on the `wiki` side (a group's hub).
    #[serde(skip)]
    pub wiki_writes: u64,
    /// Group members that could not be synced this run; their changes wait.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waiting: Vec<String>,
}

impl Report {
    /// A line for people: returned in the report (the CLI prints it) and
    /// logged at debug, so that a terminal shows it once; the daemon,
    /// which prints no report, logs each at info through its job span.
    fn say(&mut self, line: String) {
        tracing::debug!("{line}");
        self.lines.push(line);
    }
}

impl Report {
    /// Adds another run's numbers and lines to this one's (a group's pairs).
    /// What is left after the run (`queued`, `open_conflicts`) is not added:
    /// the group counts it once at its end.
    pub fn absorb(&mut self, other: Report) {
        self.lines.extend(other.lines);
        self.pushes += other.pushes;
        self.merged += other.merged;
        self.conflicts += other.conflicts;
        self.moves += other.moves;
        self.deletes += other.deletes;
        self.revived += other.revived;
        self.created += other.created;
        self.failed += other.failed;
        self.requests += other.requests;
        self.pages_examined += other.pages_examined;
        self.wiki_writes += other.wiki_writes;
    }

    /// Counts what `action` would do, as a dry run reports it: the same
    /// numbers a real run would count when everything goes through.
    fn count_planned(&mut self, action: &Action) {
        match action {
            Action::Nothing | Action::Hold | Action::Forget => {}
            Action::Create { .. } => self.created += 1,
            Action::Move { .. } => self.moves += 1,
            Action::Delete { .. } => self.deletes += 1,
            Action::Revive { .. } => self.revived += 1,
            Action::Write { pushes, conflict, .. } => {
                self.pushes += pushes.len() as u64;
                self.merged += (pushes.len() == 2) as u64;
                self.conflicts += conflict.is_some() as u64;
            }
        }
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Seconds before a push that failed `attempts` times is sent again: 1, 2,
/// 4 … minutes after the first, second, third failure, at most a day.
fn retry_delay(attempts: u32) -> i64 {
    (60i64 << attempts.saturating_sub(1).min(11)).min(86_400)
}

/// How many times a run decides again after it replayed moves.
const ROUNDS: usize = 3;

/// Runs a sync between `wiki` and `with`.
pub async fn run(store: Arc<Mutex<Store>>, wiki: &Side<'_>, with: Peer<'_>, opts: &SyncOptions) -> anyhow::Result<Report> {
    let span = tracing::info_span!("sync", sync = %opts.name, wiki = %wiki.pull.wiki, with = %with.name());
    let mut run = Run { store: &store, wiki: Peer::Wiki(wiki), with, opts, report: Report::default(), deferred: Vec::new(), told: HashSet::new() };
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
}

/// One write to one side: the text, and the target's revision it is based
/// on (0: a page to create).
struct Outgoing<'t> {
    target: Target,
    title: &'t str,
    page_id: Option<u64>,
    base_rev: u64,
    text: &'t str,
}

/// A write that landed on its target.
#[derive(Clone, Debug)]
struct Landed {
    page_id: u64,
    rev: u64,
    /// The target holds exactly the text sent (MediaWiki may have merged it
    /// with an edit made meanwhile, which the next run then sees); `None`:
    /// not read back yet, which `pending` will be.
    exact: Option<bool>,
    pending: Option<Check>,
}

/// A saved revision to read back: its job (which leaves the outbox once
/// the text is read), its target and revision, and the text sent.
#[derive(Clone, Debug)]
struct Check {
    job: i64,
    target: Target,
    rev: u64,
    text: String,
}

/// What waits for writes to be read back: the pair, and the base it
/// moves to (text, wiki revision, with revision) once they are, if they
/// hold exactly what was sent (or whatever they hold, without `exact`).
struct Deferred {
    pair: Pair,
    checks: Vec<Check>,
    agree: Option<(String, u64, u64)>,
    exact: bool,
}

impl<'a> Run<'a> {
    async fn rounds(&mut self) -> anyhow::Result<()> {
        let requests_before = self.wiki.requests() + self.with.requests();
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
        let s = lock(self.store);
        self.report.queued = s.jobs(&self.opts.name)?.len() as u64;
        self.report.open_conflicts = s.conflicts(&self.opts.name, true)?.len() as u64;
        drop(s);
        self.report.requests = self.wiki.requests() + self.with.requests() - requests_before;
        Ok(())
    }

    fn side(&self, target: Target) -> Peer<'a> {
        match target {
            Target::Wiki => self.wiki,
            Target::With => self.with,
        }
    }

    /// Moves a pair's base to `text`, agreed at these revisions, and stores
    /// the pair. The one place a base moves: callers pass only revisions
    /// read back from their targets (or, for a side not written, the one
    /// the decision saw), so a base never gets ahead of what the sides hold.
    fn agree(&self, pair: &mut Pair, text: &str, wiki_rev: u64, with_rev: u64) -> anyhow::Result<()> {
        pair.base_text = text.trim_end().to_string();
        pair.wiki_rev = wiki_rev;
        pair.with_rev = with_rev;
        write(self.store, |s| s.update_sync_pair(pair, now()))?;
        Ok(())
    }

    /// Jobs left by an earlier run: a sent one is checked on its target first.
    async fn settle_outbox(&mut self) -> anyhow::Result<()> {
        let jobs = lock(self.store).jobs(&self.opts.name)?;
        for job in jobs {
            let target = job.target;
            let side = self.side(target);
            if job.sent {
                // Did it land? The target's current text says.
                let current = match side.current_text(self.store, job.page_id, &job.title).await {
                    Ok(current) => current,
                    Err(e) => {
                        // The job stays as it is: the next run asks again.
                        self.report.failed += 1;
                        self.report.say(format!(
                            "[[{}]] on {}: cannot tell whether an earlier push landed ({e:#}); asking again next run",
                            job.title,
                            side.name()
                        ));
                        continue;
                    }
                };
                let landed = current.is_some_and(|t| md5_hex(&t) == job.md5);
                write(self.store, |s| s.finish_job(job.job_id))?;
                self.report.say(format!(
                    "[[{}]] on {}: an earlier push {}",
                    job.title,
                    side.name(),
                    if landed { "had landed; not sent again" } else { "had not landed; deciding again" }
                ));
            } else if job.next_try > now() {
                self.report.say(format!("[[{}]] on {}: waiting to retry ({})", job.title, side.name(), job.last_error.as_deref().unwrap_or("")));
            } else {
                // Due (a resolution, or a retry): send it, against the
                // revision it was based on, as the same job: it keeps its
                // count of attempts, and stays queued until its outcome is known.
                let Some(mut pair) = lock(self.store).sync_pair(job.pair_id)? else {
                    write(self.store, |s| s.finish_job(job.job_id))?;
                    continue;
                };
                let outgoing = Outgoing { target, title: &job.title, page_id: job.page_id, base_rev: job.base_rev, text: &job.text };
                let Some(landed) = self.push(&pair, outgoing, Some(&job)).await? else { continue };
                match target {
                    Target::Wiki => pair.wiki_page = Some(landed.page_id),
                    Target::With => pair.with_page = Some(landed.page_id),
                }
                // The pair's base moves to this text only if the other side
                // holds it too. A job left by a killed run may be the first
                // of a merge's two writes, the other side still holding
                // only its own edit: taking the merge as the base would make
                // that side's text look like the newer edit and undo the
                // rest of the merge. Left as it was, the base makes the new
                // revision an edit, merged with the other side's as usual.
                let other_page = if target == Target::Wiki { pair.with_page } else { pair.wiki_page };
                let other_text = self.side(target.other()).current_text(self.store, other_page, &job.title).await;
                let other_holds_it = other_text.is_ok_and(|t| t.is_some_and(|t| t.trim_end() == job.text.trim_end()));
                let (wiki_rev, with_rev) = if target == Target::Wiki { (landed.rev, pair.with_rev) } else { (pair.wiki_rev, landed.rev) };
                let agree = other_holds_it.then(|| (job.text.clone(), wiki_rev, with_rev));
                self.settle(pair, vec![landed], agree, true)?;
            }
        }
        self.verify_deferred().await
    }

    /// Moves a pair's base once its writes are read back, or at once if
    /// they were: to `agree` if every write holds exactly what was sent
    /// (or, without `exact`, whatever it holds); otherwise only the pair's
    /// page ids are stored.
    fn settle(&mut self, pair: Pair, landed: Vec<Landed>, agree: Option<(String, u64, u64)>, exact: bool) -> anyhow::Result<()> {
        let checks: Vec<Check> = landed.iter().filter_map(|l| l.pending.clone()).collect();
        if !checks.is_empty() {
            write(self.store, |s| s.update_sync_pair(&pair, now()))?;
            self.deferred.push(Deferred { pair, checks, agree, exact });
            return Ok(());
        }
        let all_exact = landed.iter().all(|l| l.exact != Some(false));
        self.conclude(pair, agree, all_exact || !exact)
    }

    /// Moves the pair's base to `agree` if `agreed`, else stores its page ids only.
    fn conclude(&self, mut pair: Pair, agree: Option<(String, u64, u64)>, agreed: bool) -> anyhow::Result<()> {
        match agree {
            Some((text, wiki_rev, with_rev)) if agreed => self.agree(&mut pair, &text, wiki_rev, with_rev),
            _ => Ok(write(self.store, |s| s.update_sync_pair(&pair, now()))?),
        }
    }

    /// Reads back the run's saved revisions, 50 to a request per wiki, and
    /// settles what waited for them. A wiki that cannot be read now leaves
    /// its jobs sent: the next run looks at the pages before sending again.
    async fn verify_deferred(&mut self) -> anyhow::Result<()> {
        let deferred = std::mem::take(&mut self.deferred);
        if deferred.is_empty() {
            return Ok(());
        }
        let mut texts: HashMap<(Target, u64), String> = HashMap::new();
        let mut unread = HashSet::new();
        for target in [Target::Wiki, Target::With] {
            let revs: Vec<u64> = deferred.iter().flat_map(|d| &d.checks).filter(|c| c.target == target).map(|c| c.rev).collect();
            if revs.is_empty() {
                continue;
            }
            match self.side(target).read_back(&revs).await {
                Ok(read) => texts.extend(read.into_iter().map(|(rev, text)| ((target, rev), text))),
                Err(e) => {
                    unread.insert(target);
                    self.report.failed += revs.len() as u64;
                    self.report.say(format!("{}: {} saved revisions could not be read back ({e:#}); checked next run", self.side(target).name(), revs.len()));
                }
            }
        }
        for d in deferred {
            if d.checks.iter().any(|c| unread.contains(&c.target)) {
                continue;
            }
            let mut all_exact = true;
            for c in &d.checks {
                write(self.store, |s| s.finish_job(c.job))?;
                all_exact &= texts.get(&(c.target, c.rev)).is_some_and(|t| *t == c.text);
            }
            self.conclude(d.pair, d.agree, all_exact || !d.exact)?;
        }
        Ok(())
    }

    /// Decides every pair; returns whether to decide again (moves were
    /// replayed, or pages created whose titles the target may have normalised).
    async fn decide_all(&mut self) -> anyhow::Result<bool> {
        let (store, opts) = (self.store, self.opts);
        let wpages = self.wiki.pages(store)?;
        let ypages = self.with.pages(store)?;
        let mut pairs = lock(store).sync_pairs(&opts.name)?;
        let busy: HashSet<i64> = lock(store).jobs(&opts.name)?.iter().map(|j| j.pair_id).collect();
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
                write(store, |s| s.update_sync_pair(p, now()))?;
            }
        }
        for mut p in new_pairs {
            if !opts.dry_run {
                p.pair_id = write(store, |s| s.add_sync_pair(&opts.name, &p, now()))?;
            }
            pairs.push(p);
        }

        let mut again = false;
        for pair in pairs {
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
            let base = Base { title: pair.title.clone(), text: pair.base_text.clone(), wiki_rev: pair.wiki_rev, with_rev: pair.with_rev, held: pair.held };
            let action = plan::decide(&base, &wstate, &ystate, opts.policy, opts.prefer);
            if action != Action::Nothing {
                let line = format!("[[{}]]: {}", pair.title, describe(&action, &self.wiki.name(), &self.with.name()));
                if self.told.insert(line.clone()) {
                    self.report.say(line);
                }
            }
            if opts.dry_run {
                self.report.count_planned(&action);
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
        let page_on = |t: Target, pair: &Pair| if t == Target::Wiki { pair.wiki_page } else { pair.with_page };
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
                    let outgoing = Outgoing { target: p.target, title: &pair.title, page_id: page_on(p.target, &pair), base_rev: p.base_rev, text: &p.text };
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
        let outgoing = Outgoing { target, title, page_id: None, base_rev: 0, text };
        let Some(landed) = self.push(pair, outgoing, None).await? else { return Ok(false) };
        pair.title = title.to_string();
        let (wiki_rev, with_rev) = match target {
            Target::Wiki => {
                pair.wiki_page = Some(landed.page_id);
                (landed.rev, source_rev)
            }
            Target::With => {
                pair.with_page = Some(landed.page_id);
                (source_rev, landed.rev)
            }
        };
        // A created page is the base whatever MediaWiki made of the text
        // (it may normalise it): the next run compares from there.
        self.settle(pair.clone(), vec![landed], Some((text.to_string(), wiki_rev, with_rev)), false)?;
        Ok(true)
    }

    /// Sends one write through the outbox: a new job, or `queued`, a job
    /// already there (a resolution, or a retry), which keeps its identity
    /// and its count of attempts. `Some` once the target's saved revision
    /// has been read back; `None` if it did not save. The job leaves the
    /// outbox only when its outcome is known.
    async fn push(&mut self, pair: &Pair, out: Outgoing<'_>, queued: Option<&Job>) -> anyhow::Result<Option<Landed>> {
        let (store, opts) = (self.store, self.opts);
        let Outgoing { target, title, page_id, base_rev, text } = out;
        // MediaWiki strips trailing white space from every saved text.
        let text = text.trim_end();
        let (job, attempts) = match queued {
            Some(job) => (job.job_id, job.attempts + 1),
            None => {
                let md5 = md5_hex(text);
                let new = NewPush { pair_id: pair.pair_id, target, title, page_id, base_rev, text, md5: &md5 };
                (write(store, |s| s.queue_push(&opts.name, &new, now()))?, 1)
            }
        };
        write(store, |s| s.mark_sent(job))?;
        let summary = format!("oai-mirror sync ({})", opts.name);
        let side = self.side(target);
        let name = side.name();
        match side.write(store, title, page_id, base_rev, text, &summary).await? {
            Written::Saved { page_id, rev, exact } => {
                write(store, |s| s.finish_job(job))?;
                self.report.pushes += 1;
                self.report.wiki_writes += (target == Target::Wiki) as u64;
                Ok(Some(Landed { page_id, rev, exact: Some(exact), pending: None }))
            }
            Written::Sent { page_id, rev } => {
                // The job stays sent until its text is read back.
                self.report.pushes += 1;
                self.report.wiki_writes += (target == Target::Wiki) as u64;
                Ok(Some(Landed { page_id, rev, exact: None, pending: Some(Check { job, target, rev, text: text.to_string() }) }))
            }
            Written::Refused(why) => {
                // A conflict, a deletion meanwhile, protection: the job is
                // superseded; the next run decides again from what is there.
                write(store, |s| s.finish_job(job))?;
                self.report.failed += 1;
                self.report.say(format!("[[{title}]] on {name}: not written ({why}); deciding again next run"));
                Ok(None)
            }
            Written::Unknown(why) => {
                // The job stays sent, and the next run looks at the target
                // before anything is sent again.
                self.report.failed += 1;
                self.report.say(format!("[[{title}]] on {name}: outcome unknown ({why}); will check before retrying"));
                Ok(None)
            }
            Written::Carried => {
                write(store, |s| s.finish_job(job))?;
                self.report.say(format!("[[{title}]]: {name} writes it from this site's next package"));
                Ok(None)
            }
            Written::Failed(why) => {
                let delay = retry_delay(attempts);
                write(store, |s| s.retry_later(job, now() + delay, &why))?;
                self.report.failed += 1;
                self.report.say(format!("[[{title}]] on {name}: failed ({why}); retrying in {} min (attempt {attempts})", delay / 60));
                Ok(None)
            }
        }
    }

    /// Records a conflict with both texts, keeps the other side's text beside a
    /// checkout's file, and announces it on the talk page (on `wiki`; the sync
    /// carries the notice to the other side).
    async fn record_conflict(&mut self, pair: &Pair, note: &plan::ConflictNote) -> anyhow::Result<()> {
        let (store, opts, with) = (self.store, self.opts, self.with);
        // Who made the `wiki` side's edit, and on which wiki: in a group, a
        // hub revision another spoke's pair wrote is that spoke's edit.
        let author = match self.wiki {
            Peer::Wiki(wiki) => Some(self.wiki_side_author(wiki, pair, note)),
            Peer::Checkout(_) | Peer::Carried(_) => None,
        };
        let row = ConflictRow {
            conflict_id: 0,
            pair_id: pair.pair_id,
            title: note.title.clone(),
            policy: note.policy,
            wiki_rev: note.wiki_rev,
            with_rev: note.with_rev,
            wiki_user: author.as_ref().map_or_else(|| note.wiki_user.clone(), |(user, _, _)| user.clone()),
            with_user: note.with_user.clone(),
            wiki_text: note.wiki_text.clone(),
            with_text: note.with_text.clone(),
            resolved_text: note.resolved_text.clone(),
            // Before the pair agrees on the settled text: the base of the clash.
            base_text: Some(pair.base_text.clone()),
            created_at: 0,
            resolved_at: None,
        };
        // The same conflict seen again (the other site of a sync by packages
        // has not received this site's settlement yet): recorded once.
        let earlier = lock(store).conflicts(&opts.name, true)?.into_iter().find(|c| {
            c.pair_id == pair.pair_id
                && c.resolved_text.trim_end() == note.resolved_text.trim_end()
                && (c.with_text == note.with_text || c.wiki_text == note.wiki_text)
        });
        if let Some(c) = earlier {
            self.report.say(format!("[[{}]]: the same conflict as conflict {}, recorded already", note.title, c.conflict_id));
            return Ok(());
        }
        let id = write(store, |s| s.add_conflict(&opts.name, &row, now()))?;
        let mut kept_beside = None;
        if note.policy == ConflictPolicy::KeepBoth {
            let other_text = if opts.prefer == Target::Wiki { &note.with_text } else { &note.wiki_text };
            kept_beside = match with.keep_beside(store, pair.with_page, id, other_text) {
                Ok(kept) => kept,
                Err(e) => {
                    // The text is in the store either way; the run goes on.
                    self.report
                        .say(format!("[[{}]]: the other text of conflict {id} could not be kept beside the file ({e:#}); it is in the store", note.title));
                    None
                }
            };
        }
        if let Some(file) = &kept_beside {
            let whose = if opts.prefer == Target::Wiki { "checkout's" } else { "wiki's" };
            self.report.say(format!("[[{}]]: the {whose} text of conflict {id} is kept beside the file, in {file:?}", note.title));
        }
        let Peer::Wiki(wiki) = self.wiki else { return Ok(()) };
        if !opts.announce {
            self.report.say(format!("[[{}]]: conflict {id} recorded, both texts kept; the other site posts the notice", note.title));
            return Ok(());
        }
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
        let (wiki_user, wiki_desc, wiki_origin) = author.unwrap_or_else(|| self.wiki_side_author(wiki, pair, note));
        let notice = format!(
            "\n\n== Edit conflict synced by oai-mirror ==\n[[{}]] was changed on both sides of sync ''{}'' in the same place: by {} ({}) and by {} ({}). {kept} ~~~~\n",
            note.title,
            opts.name,
            wiki_user,
            wiki_desc,
            note.with_user,
            with.describe_rev(store, pair.with_page, note.with_rev)
        );
        let origin: &Wiki = wiki_origin.as_deref().unwrap_or(wiki.wiki);
        let group = opts.members.is_some();
        // Where each notice goes: the page's talk page on `wiki` (a pair
        // carries it to the other side), or, in a group, whose talk pages
        // are no members, on the wikis of both edits; and each
        // contributor's talk page on the wiki of their edit.
        let mut places: Vec<(&Wiki, String)> = Vec::new();
        if opts.notify.contains(&Notice::PageTalk) {
            places.push((origin, talk_title(&note.title)));
            if group && let Peer::Wiki(other) = with {
                places.push((other.wiki, talk_title(&note.title)));
            }
        }
        if opts.notify.contains(&Notice::UserTalk) {
            places.push((origin, format!("User talk:{wiki_user}")));
            if let Peer::Wiki(other) = with {
                places.push((other.wiki, format!("User talk:{}", note.with_user)));
            }
        }
        for (on, talk) in places {
            // A talk page that cannot be written (a blocked user, a protected
            // page) is reported; the conflict is recorded either way.
            match leave_notice(on, &talk, &notice).await {
                Ok(()) => self.report.say(format!("[[{}]]: conflict {id} recorded, both texts kept; notice posted on [[{talk}]]", note.title)),
                Err(why) => self.report.say(format!("[[{}]]: conflict {id} recorded, both texts kept; the notice on [[{talk}]] failed: {why}", note.title)),
            }
        }
        Ok(())
    }
}

impl Run<'_> {
    /// The user and revision of the `wiki` side of a conflict, and the
    /// wiki where it was made if not the `wiki` side itself: in a group, a
    /// hub revision that another spoke's pair wrote (its base, at that
    /// revision) is that spoke's edit, by the author of its revision there.
    fn wiki_side_author(&self, wiki: &Side<'_>, pair: &Pair, note: &plan::ConflictNote) -> (String, String, Option<Arc<Wiki>>) {
        for up in &self.opts.upstream {
            let s = lock(self.store);
            let written = s
                .sync_pairs(&up.sync)
                .ok()
                .into_iter()
                .flatten()
                .find(|p| p.wiki_page.is_some() && p.wiki_page == pair.wiki_page && p.wiki_rev == note.wiki_rev);
            let Some(p) = written else { continue };
            if let Ok(Some(r)) = s.wiki_revision(&up.wiki, p.with_rev) {
                return (r.user, format!("revision {} on {}", p.with_rev, up.wiki), Some(up.client.clone()));
            }
        }
        (note.wiki_user.clone(), format!("revision {} on {}", note.wiki_rev, wiki.pull.wiki), None)
    }
}

/// Appends `notice` to the talk page `talk` on `wiki`.
async fn leave_notice(wiki: &Wiki, talk: &str, notice: &str) -> Result<(), String> {
    let existing = wiki.pages(&[PageRef::Title(talk)]).await.map_err(|e| format!("{e:#}"))?;
    let (current, base) = match existing.first().and_then(|p| p.revision.as_ref()) {
        Some(r) => (r.text.clone().unwrap_or_default(), Some(r.revid)),
        None => (String::new(), None),
    };
    let text = format!("{}{notice}", current.trim_end());
    let edit = Edit {
        page: PageRef::Title(talk),
        text: text.trim_start(),
        summary: "oai-mirror: edit conflict",
        base_revid: base,
        start_timestamp: None,
        mode: CreateMode::Either,
        minor: false,
        tags: &[],
    };
    match wiki.edit(&edit).await {
        Ok(EditOutcome::Saved { .. }) => Ok(()),
        Ok(other) => Err(format!("{other:?}")),
        Err(e) => Err(format!("{e:#}")),
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

fn rev_of(s: &State) -> u64 {
    match s {
        State::Present { rev, .. } => *rev,
        State::Deleted | State::Absent | State::Unknown => 0,
    }
}

fn describe(a: &Action, wname: &str, yname: &str) -> String {
    let name = |t: Target| if t == Target::Wiki { wname } else { yname };
    match a {
        Action::Nothing => "nothing".into(),
        Action::Hold => "held back until its conflict markers are removed".into(),
        Action::Create { target, .. } => format!("new on {}, creating it on {}", name(target.other()), name(*target)),
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

/// The text that settles a conflict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Take {
    /// What that side had when the conflict was recorded.
    Side(Target),
    /// A text of one's own.
    Text(String),
}

/// Settles the open conflict on `title` with the text `take` names: the
/// pair's base becomes it at both sides' current revisions, and a push is
/// queued to each side that does not hold it yet; the next run sends them.
pub fn resolve(s: &Store, sync: &str, title: &str, take: Take) -> anyhow::Result<u32> {
    let open: Vec<ConflictRow> = s.conflicts(sync, true)?.into_iter().filter(|c| c.title == title).collect();
    let latest = open.last().with_context(|| format!("no open conflict on [[{title}]] in sync {sync}"))?;
    let text = match take {
        Take::Side(Target::Wiki) => latest.wiki_text.clone(),
        Take::Side(Target::With) => latest.with_text.clone(),
        Take::Text(text) => text,
    };
    let text = text.trim_end();
    let mut pair = s.sync_pair(latest.pair_id)?.with_context(|| format!("the pair of [[{title}]] is gone"))?;
    // The pair's revisions, not the mirror's: they include the sync's own
    // last writes, which the mirror sees only at the next pull. A side that
    // already holds the text answers "no change".
    for (target, page, rev) in [(Target::Wiki, pair.wiki_page, pair.wiki_rev), (Target::With, pair.with_page, pair.with_rev)] {
        let md5 = md5_hex(text);
        s.queue_push(sync, &NewPush { pair_id: pair.pair_id, target, title: &pair.title, page_id: page, base_rev: rev, text, md5: &md5 }, now())?;
    }
    pair.base_text = text.to_string();
    pair.held = false;
    s.update_sync_pair(&pair, now())?;
    for c in &open {
        s.resolve_conflict(c.conflict_id, now())?;
    }
    Ok(2)
}

/// Runs a write to the store off the async worker it is called on: a
/// commit may wait for another connection's transaction (the daemon's
/// harvests write at the same time) or for a checkpoint's fsync.
fn write<T>(store: &Mutex<Store>, f: impl FnOnce(&Store) -> checkpoints::Result<T>) -> anyhow::Result<T> {
    Ok(crate::util::blocking(|| f(&lock(store)))?)
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
    fn a_failed_push_waits_one_minute_then_twice_as_long_each_time_up_to_a_day() {
        let minutes: Vec<i64> = (1..=13).map(|n| retry_delay(n) / 60).collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440, 1440]);
        assert_eq!(retry_delay(u32::MAX), 86_400);
    }

    #[test]
    fn new_pages_pair_by_title_or_alone() {
        let mut pairs = vec![pair(1, Some(1), Some(11), "Known")];
        let new =
            pair_new_pages(&mut pairs, &live(&[(1, "Known"), (2, "Both"), (3, "Wiki only")]), &live(&[(11, "Known"), (12, "Both"), (13, "Other only")]), false);
        let got: Vec<(Option<u64>, Option<u64>, &str)> = new.iter().map(|p| (p.wiki_page, p.with_page, p.title.as_str())).collect();
        assert_eq!(got, [(Some(2), Some(12), "Both"), (None, Some(13), "Other only"), (Some(3), None, "Wiki only")]);
    }

    #[test]
    fn a_pair_missing_a_side_adopts_the_page_a_killed_run_created() {
        // The run created the page on the other side and died before recording it.
        let mut pairs = vec![pair(1, Some(1), None, "Made"), pair(2, None, Some(12), "Made back")];
        let new = pair_new_pages(&mut pairs, &live(&[(1, "Made"), (2, "Made back")]), &live(&[(11, "Made"), (12, "Made back")]), false);
        assert!(new.is_empty(), "no second pair: {new:?}");
        assert_eq!((pairs[0].with_page, pairs[1].wiki_page), (Some(11), Some(2)));
    }

    #[test]
    fn the_other_site_of_a_sync_by_packages_re_creates_a_page_under_a_new_id() {
        // Page 11 was deleted on the other site, then re-created there as 15.
        let other = live(&[(15, "Back")]);
        let mut pairs = vec![pair(1, Some(1), Some(11), "Back")];
        let new = pair_new_pages(&mut pairs, &live(&[(1, "Back")]), &other, true);
        assert!(new.is_empty(), "{new:?}");
        assert_eq!(pairs[0].with_page, Some(15));
        // A wiki on the other side deletes and creates through this sync, which
        // records the ids it writes: no adoption there.
        let mut pairs = vec![pair(1, Some(1), Some(11), "Back")];
        let new = pair_new_pages(&mut pairs, &live(&[(1, "Back")]), &other, false);
        assert_eq!((pairs[0].with_page, new.len()), (Some(11), 1));
    }
}
