//! A run's files: the file outbox settled, each File: page pair's files
//! decided (`sync::files::decide`), uploads queued and sent. Between two
//! wikis whose mirrors keep their files (`files = true`, the default): a
//! pair, or each spoke of a group with its hub.
//!
//! An upload is queued first, marked sent before it goes, and leaves the
//! queue only once the target's current file reads back with its SHA-1;
//! then, in the same transaction, the pair's agreed file moves. A run that
//! dies mid-upload leaves the push marked sent: the next run reads the
//! target first and sends again only if the file is not there.

use std::collections::HashMap;

use anyhow::Context;
use checkpoints::{Blobs, FilePush, FileState, NewFilePush};

use super::{Run, now, write};
use crate::mediawiki::{PageRef, Wiki};
use crate::sync::files::{FileAction, FileNow, carried_comment, conflict_name, decide};
use crate::sync::peer::{Live, Peer};
use crate::sync::plan::Target;
use crate::util::lock;

impl Run<'_> {
    /// Settles the file outbox, decides every File: page pair, sends what it queued.
    pub(super) async fn sync_files(&mut self) -> anyhow::Result<()> {
        let (Peer::Wiki(w), Peer::Wiki(y)) = (self.wiki, self.with) else { return Ok(()) };
        let (Some(files), Some(_)) = (w.files, y.files) else { return Ok(()) };
        if self.opts.dry_run {
            return Ok(());
        }
        let blobs = crate::mirror::files::blobs(&lock(self.store), files.opts.dir.as_deref())?;
        self.send_files(&blobs).await?;
        let sync = self.opts.name.clone();
        let pairs = write(self.store, |s| s.file_pairs(&sync, &w.pull.wiki, &y.pull.wiki))?;
        let queued: std::collections::HashSet<i64> = write(self.store, |s| s.file_pushes(&sync))?.into_iter().map(|p| p.pair_id).collect();
        if pairs.iter().all(|p| queued.contains(&p.pair_id)) {
            // No file pair to decide (what was queued went above): the
            // sides' pages are not read again.
            return Ok(());
        }
        let pages = [self.wiki.pages(self.store)?, self.with.pages(self.store)?];
        for pair in pairs.iter().filter(|p| !queued.contains(&p.pair_id)) {
            let ids = [pair.wiki_page, pair.with_page];
            let now_of = |t: Target| -> anyhow::Result<Option<FileNow>> {
                let side = self.side(t);
                let (Some(id), Some(wiki)) = (ids[t as usize], side.stored_wiki()) else { return Ok(None) };
                let current = lock(self.store).current_file(wiki, id)?;
                Ok(current.filter(|f| !f.deleted && pages[t as usize].contains_key(&id)).map(|f| FileNow {
                    stored: f.version.state == FileState::Stored && blobs.has(&f.version.sha1, f.version.size),
                    sha1: f.version.sha1,
                    size: f.version.size,
                    timestamp: f.version.timestamp,
                    user: f.version.user,
                    comment: f.version.comment,
                }))
            };
            let both = [now_of(Target::Wiki)?, now_of(Target::With)?];
            match decide(pair.base.as_deref(), both[0].as_ref(), both[1].as_ref(), self.opts.prefer) {
                FileAction::Nothing | FileAction::Wait => {}
                FileAction::Agree(sha1) => {
                    lock(self.store).set_sync_file_base(pair.pair_id, &sha1)?;
                }
                FileAction::Upload { target, from } => {
                    let f = both[from as usize].as_ref().expect("an upload has a file to send");
                    self.queue_file(pair.pair_id, &ids, &pages, target, from, f, None)?;
                }
                FileAction::Conflict { winner } => {
                    let loser = winner.other();
                    let (wf, lf) = (both[winner as usize].as_ref(), both[loser as usize].as_ref());
                    let (Some(wf), Some(lf)) = (wf, lf) else { continue };
                    let title = self.title_of(&ids, &pages, winner).unwrap_or_default();
                    let name = file_name(&title);
                    let aside = format!("File:{}", conflict_name(name, &self.side(loser).name(), &lf.timestamp));
                    self.queue_file(pair.pair_id, &ids, &pages, loser, winner, wf, None)?;
                    self.queue_file(pair.pair_id, &ids, &pages, winner, loser, lf, Some(&aside))?;
                    self.report.conflicts += 1;
                    let (won, lost) = (self.side(winner).name(), self.side(loser).name());
                    self.report.say(format!(
                        "[[{title}]]: its file changed on both {} and {}: {won}'s version is current on both, {lost}'s is kept beside it as [[{aside}]] (and in {lost}'s file history)",
                        self.wiki.name(),
                        self.with.name(),
                    ));
                    self.file_notice(&title, &aside, (&won, wf), (&lost, lf), winner).await;
                }
            }
        }
        self.send_files(&blobs).await
    }

    /// Tells of a file conflict on the file's talk page on the winner's wiki
    /// (with `notify` holding `"page-talk"`, as for pages).
    async fn file_notice(&mut self, title: &str, aside: &str, won: (&str, &FileNow), lost: (&str, &FileNow), winner: Target) {
        let Peer::Wiki(side) = self.side(winner) else { return };
        if !self.opts.notify.contains(&crate::sync::scope::Notice::PageTalk) || self.read_only(winner).is_some() {
            return;
        }
        let talk = super::conflicts::talk_title(title);
        let by = |(side, f): (&str, &FileNow)| format!("by {} on {side} at {}", if f.user.is_empty() { "(hidden)" } else { &f.user }, f.timestamp);
        let notice = format!(
            "\n\n== File conflict synced by oai-mirror ==\n[[:{title}]] was uploaded anew on both sides of sync ''{}'': {} and {}. \
             The version from {} is now current on both; the one from {} is kept as [[:{aside}]] and in the file history of {}. ~~~~\n",
            self.opts.name,
            by(won),
            by(lost),
            won.0,
            lost.0,
            lost.0
        );
        match super::conflicts::leave_notice(side.wiki, &talk, &notice).await {
            Ok(()) => self.report.say(format!("[[{title}]]: notice posted on [[{talk}]]")),
            Err(why) => self.report.say(format!("[[{title}]]: the notice on [[{talk}]] failed: {why}")),
        }
    }

    /// The title of a pair's page on a side, if it has one there.
    fn title_of(&self, ids: &[Option<u64>; 2], pages: &[HashMap<u64, Live>; 2], side: Target) -> Option<String> {
        ids[side as usize].and_then(|id| pages[side as usize].get(&id)).map(|l| l.title.clone())
    }

    /// Queues `f`, the current file of `from`, for `target`: under the pair's
    /// title there (else `from`'s), or under `aside` (a conflict's name).
    #[allow(clippy::too_many_arguments)]
    fn queue_file(
        &mut self,
        pair_id: i64,
        ids: &[Option<u64>; 2],
        pages: &[HashMap<u64, Live>; 2],
        target: Target,
        from: Target,
        f: &FileNow,
        aside: Option<&str>,
    ) -> anyhow::Result<()> {
        let source_title = self.title_of(ids, pages, from).unwrap_or_default();
        let title = match aside {
            Some(a) => a.to_string(),
            None => self.title_of(ids, pages, target).unwrap_or_else(|| source_title.clone()),
        };
        if let Some(why) = self.read_only(target) {
            self.hold_back(format!("[[{title}]]: a new file on {} is not uploaded to {}: {why}", self.side(from).name(), self.side(target).name()));
            return Ok(());
        }
        // A file new on the target gets the source's description.
        let text = match (ids[from as usize].and_then(|id| pages[from as usize].get(&id)), self.side(from).stored_wiki()) {
            (Some(live), Some(wiki)) => lock(self.store).wiki_revision(wiki, live.rev)?.map(|r| r.text).unwrap_or_default(),
            _ => String::new(),
        };
        let comment = carried_comment(f, &self.side(from).name());
        let push = NewFilePush { pair_id, target, title: &title, sha1: &f.sha1, size: f.size, comment: &comment, text: &text, conflict: aside.is_some() };
        if lock(self.store).queue_file_push(&self.opts.name, &push)? {
            self.report.say(format!("[[{title}]]: its file from {} goes to {}", self.side(from).name(), self.side(target).name()));
        }
        Ok(())
    }

    /// Sends every queued upload that is due; one marked sent is read back
    /// on its target first, and sent again only if it is not there.
    async fn send_files(&mut self, blobs: &Blobs) -> anyhow::Result<()> {
        let pushes = write(self.store, |s| s.file_pushes(&self.opts.name))?;
        for push in pushes.into_iter().filter(|p| p.next_try <= now()) {
            let Peer::Wiki(side) = self.side(push.target) else { continue };
            let wiki = side.wiki;
            if push.sent && current_sha1(wiki, &push.title).await?.as_deref() == Some(push.sha1.as_str()) {
                self.file_landed(&push)?;
                continue;
            }
            match self.upload(wiki, blobs, &push).await {
                Ok(()) => self.file_landed(&push)?,
                Err(e) => {
                    let wait = 60i64 << push.attempts.min(6);
                    lock(self.store).file_push_failed(push.push_id, &format!("{e:#}"), now() + wait)?;
                    self.report.failed += 1;
                    self.report.say(format!("[[{}]]: uploading its file to {} failed, tried again in {} min: {e:#}", push.title, side.pull.wiki, wait / 60));
                }
            }
        }
        Ok(())
    }

    /// One upload, marked sent before it goes, then read back.
    async fn upload(&self, wiki: &Wiki, blobs: &Blobs, push: &FilePush) -> anyhow::Result<()> {
        if !blobs.has(&push.sha1, push.size) {
            anyhow::bail!("its bytes ({}) are not in the files directory {}", push.sha1, blobs.root().display());
        }
        lock(self.store).file_push_sent(push.push_id)?;
        let mut file = blobs.open(&push.sha1).with_context(|| format!("opening {}", push.sha1))?;
        let result = wiki.upload_file(file_name(&push.title), &mut file, push.size, &push.comment, &push.text).await?;
        match current_sha1(wiki, &push.title).await? {
            Some(sha1) if sha1 == push.sha1 => Ok(()),
            got => anyhow::bail!("the upload answered {result}, and the file there reads back as {got:?}, not {}", push.sha1),
        }
    }

    fn file_landed(&mut self, push: &FilePush) -> anyhow::Result<()> {
        lock(self.store).file_push_landed(push)?;
        self.report.files += 1;
        // A group's other spokes take what reached the hub.
        if push.target == Target::Wiki {
            self.report.wiki_writes += 1;
        }
        Ok(())
    }
}

/// A File: title's file name (the title without its namespace).
fn file_name(title: &str) -> &str {
    title.split_once(':').map_or(title, |(_, name)| name)
}

/// The SHA-1 of the current file of `title` on a wiki, if it has one.
async fn current_sha1(wiki: &Wiki, title: &str) -> anyhow::Result<Option<String>> {
    let pages = wiki.pages(&[PageRef::Title(title)]).await?;
    let Some(id) = pages.first().and_then(|p| p.pageid) else { return Ok(None) };
    let info = wiki.file_info(&[id], false).await?;
    Ok(info.first().and_then(|i| i.versions.first()).map(|v| v.sha1.clone()))
}
