//! The outbox: the one owner of "a base moves only after read-back".
//!
//! Every write is a push queued in the store before it is sent, and leaves
//! the queue only when the target's saved revision has been read back (or
//! its outcome is otherwise known). A push whose outcome is unknown (the
//! process died, the connection broke after sending) is checked on its
//! target before anything is sent again, so no revision is pushed twice. A
//! pair's base moves (`agree`) only with revisions read back from their
//! targets.

use std::collections::{HashMap, HashSet};

use checkpoints::{NewPush, Pair, Push};

use super::super::peer::Written;
use super::super::plan::Target;
use super::{Run, now, page_on, revs, set_page, write};
use crate::util::{lock, md5_hex};

/// One write to one side: the text, and the target's revision it is based
/// on (0: a page to create).
pub(super) struct Outgoing<'t> {
    pub(super) target: Target,
    pub(super) title: &'t str,
    pub(super) page_id: Option<u64>,
    pub(super) base_rev: u64,
    pub(super) text: &'t str,
    /// Its summary; `None`: "oai-mirror sync (NAME)".
    pub(super) summary: Option<&'t str>,
    /// The other side's revision it replays (its text as it was there).
    pub(super) source_rev: Option<u64>,
}

/// A write that landed on its target.
#[derive(Clone, Debug)]
pub(super) struct Landed {
    pub(super) page_id: u64,
    pub(super) rev: u64,
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
pub(super) struct Deferred {
    pair: Pair,
    checks: Vec<Check>,
    agree: Option<(String, u64, u64)>,
    exact: bool,
}

/// Seconds before a push that failed `attempts` times is sent again: 1, 2,
/// 4 … minutes after the first, second, third failure, at most a day.
pub(super) fn retry_delay(attempts: u32) -> i64 {
    (60i64 << attempts.saturating_sub(1).min(11)).min(86_400)
}

impl Run<'_> {
    /// Moves a pair's base to `text`, agreed at these revisions, and stores
    /// the pair. The one place a base moves: callers pass only revisions
    /// read back from their targets (or, for a side not written, the one
    /// the decision saw), so a base never gets ahead of what the sides hold.
    pub(super) fn agree(&self, pair: &mut Pair, text: &str, wiki_rev: u64, with_rev: u64) -> anyhow::Result<()> {
        pair.base_text = text.trim_end().to_string();
        pair.wiki_rev = wiki_rev;
        pair.with_rev = with_rev;
        write(self.store, |s| s.update_sync_pair(pair, now()))?;
        Ok(())
    }

    /// Jobs left by an earlier run: a sent one is checked on its target first.
    pub(super) async fn settle_outbox(&mut self) -> anyhow::Result<()> {
        let jobs = lock(self.store).pushes(&self.opts.name)?;
        for job in jobs {
            let target = job.target;
            let side = self.side(target);
            if job.sent {
                // Did it land? The revision it saved says, if the run that
                // sent it lived to record it; else the target's current text.
                let landed = match self.landed(&job).await {
                    Ok(landed) => landed,
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
                write(self.store, |s| s.finish_push(job.push_id))?;
                // A replayed revision that landed moves the pair's base to
                // it: the other side had that text at the revision it
                // replays, so the next run replays on from there.
                if let (Some(rev), Some(source_rev)) = (landed, job.source_rev)
                    && let Some(mut pair) = write(self.store, |s| s.sync_pair(job.pair_id))?
                {
                    let (wiki_rev, with_rev) = revs(target, rev, source_rev);
                    self.agree(&mut pair, &job.text, wiki_rev, with_rev)?;
                }
                self.report.say(format!(
                    "[[{}]] on {}: an earlier push {}",
                    job.title,
                    side.name(),
                    if landed.is_some() { "had landed; not sent again" } else { "had not landed; deciding again" }
                ));
            } else if job.next_try > now() {
                self.report.say(format!("[[{}]] on {}: waiting to retry ({})", job.title, side.name(), job.last_error.as_deref().unwrap_or("")));
            } else {
                // Due (a resolution, or a retry): send it, against the
                // revision it was based on, as the same job: it keeps its
                // count of attempts, and stays queued until its outcome is known.
                let Some(mut pair) = lock(self.store).sync_pair(job.pair_id)? else {
                    write(self.store, |s| s.finish_push(job.push_id))?;
                    continue;
                };
                let outgoing =
                    Outgoing { target, title: &job.title, page_id: job.page_id, base_rev: job.base_rev, text: &job.text, summary: None, source_rev: None };
                let Some(landed) = self.push(&pair, outgoing, Some(&job)).await? else { continue };
                set_page(target, &mut pair, landed.page_id);
                // The pair's base moves to this text only if the other side
                // holds it too. A job left by a killed run may be the first
                // of a merge's two writes, the other side still holding
                // only its own edit: taking the merge as the base would make
                // that side's text look like the newer edit and undo the
                // rest of the merge. Left as it was, the base makes the new
                // revision an edit, merged with the other side's as usual.
                let other = self.side(target.other()).current(self.store, page_on(target.other(), &pair), &job.title).await;
                let other_holds_it = other.is_ok_and(|c| c.is_some_and(|(_, t)| t.trim_end() == job.text.trim_end()));
                let other_rev = if target == Target::Wiki { pair.with_rev } else { pair.wiki_rev };
                let (wiki_rev, with_rev) = revs(target, landed.rev, other_rev);
                let agree = other_holds_it.then(|| (job.text.clone(), wiki_rev, with_rev));
                self.settle(pair, vec![landed], agree, true)?;
            }
        }
        self.verify_deferred().await
    }

    /// The target's revision holding a sent push's text, if it landed: the
    /// revision it saved, read back, or (the run died before recording it)
    /// the page's current revision if it holds the text.
    async fn landed(&self, job: &Push) -> anyhow::Result<Option<u64>> {
        let side = self.side(job.target);
        if let Some(rev) = job.landed_rev {
            let texts = side.read_back(&[rev]).await?;
            return Ok(texts.get(&rev).is_some_and(|t| t.trim_end() == job.text.trim_end()).then_some(rev));
        }
        let current = side.current(self.store, job.page_id, &job.title).await?;
        Ok(current.filter(|(_, t)| md5_hex(t) == job.md5).map(|(rev, _)| rev))
    }

    /// Moves a pair's base once its writes are read back, or at once if
    /// they were: to `agree` if every write holds exactly what was sent
    /// (or, without `exact`, whatever it holds); otherwise only the pair's
    /// page ids are stored.
    pub(super) fn settle(&mut self, pair: Pair, landed: Vec<Landed>, agree: Option<(String, u64, u64)>, exact: bool) -> anyhow::Result<()> {
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
    pub(super) async fn verify_deferred(&mut self) -> anyhow::Result<()> {
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
                write(self.store, |s| s.finish_push(c.job))?;
                all_exact &= texts.get(&(c.target, c.rev)).is_some_and(|t| *t == c.text);
            }
            self.conclude(d.pair, d.agree, all_exact || !d.exact)?;
        }
        Ok(())
    }

    /// Sends one write through the outbox: a new job, or `queued`, a job
    /// already there (a resolution, or a retry), which keeps its identity
    /// and its count of attempts. `Some` once the target's saved revision
    /// has been read back; `None` if it did not save. The job leaves the
    /// outbox only when its outcome is known.
    pub(super) async fn push(&mut self, pair: &Pair, out: Outgoing<'_>, queued: Option<&Push>) -> anyhow::Result<Option<Landed>> {
        let (store, opts) = (self.store, self.opts);
        let Outgoing { target, title, page_id, base_rev, text, summary, source_rev } = out;
        // A side this sync only reads is never written: the change stays
        // where it was made, and the pair's base does not move.
        if let Some(why) = self.read_only(target) {
            if let Some(job) = queued {
                write(store, |s| s.finish_push(job.push_id))?;
            }
            self.hold_back(format!("[[{title}]]: not written to {} ({why}); the change stays pending where it was made", self.side(target).name()));
            return Ok(None);
        }
        // MediaWiki strips trailing white space from every saved text.
        let text = text.trim_end();
        let (job, attempts) = match queued {
            Some(job) => (job.push_id, job.attempts + 1),
            None => {
                let md5 = md5_hex(text);
                let new = NewPush { pair_id: pair.pair_id, target, title, page_id, base_rev, text, md5: &md5, source_rev };
                (write(store, |s| s.queue_push(&opts.name, &new, now()))?, 1)
            }
        };
        write(store, |s| s.mark_sent(job))?;
        let summary = summary.map_or_else(|| format!("oai-mirror sync ({})", opts.name), str::to_string);
        let side = self.side(target);
        let name = side.name();
        match side.write(store, title, page_id, base_rev, text, &summary).await? {
            Written::Saved { page_id, rev, exact } => {
                write(store, |s| s.finish_push(job))?;
                self.report.pushes += 1;
                self.report.wiki_writes += (target == Target::Wiki) as u64;
                Ok(Some(Landed { page_id, rev, exact: Some(exact), pending: None }))
            }
            Written::Sent { page_id, rev } => {
                // The job stays sent until its text is read back; the
                // revision it saved is kept for a run that must check it.
                write(store, |s| s.set_landed_rev(job, rev))?;
                self.report.pushes += 1;
                self.report.wiki_writes += (target == Target::Wiki) as u64;
                Ok(Some(Landed { page_id, rev, exact: None, pending: Some(Check { job, target, rev, text: text.to_string() }) }))
            }
            Written::Refused(why) => {
                // A conflict, a deletion meanwhile, protection: the job is
                // superseded; the next run decides again from what is there.
                write(store, |s| s.finish_push(job))?;
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
                write(store, |s| s.finish_push(job))?;
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
}
