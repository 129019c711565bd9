//! Replaying one side's revisions on the other (`[sync.NAME] history =
//! "replay"`, the default).
//!
//! A change made on one side only goes to the other as the revisions that
//! made it, oldest first, read from the source side's mirror (a replaying
//! sync keeps both sides' full history). Where the target's account may
//! import, they go through the API's import, up to 50 to a request: each
//! keeps its author (`a>Name`), time, summary and minor flag. Otherwise
//! each is one edit by the sync's account whose summary names the author,
//! the wiki and the time, at most `replay::MAX_EDITS` a page a run.
//!
//! The outbox's rules hold. A replayed edit is a push that names the
//! source revision it replays; once read back, the pair's base moves to
//! that revision, so a run that dies in the middle leaves the next one to
//! go on from the first revision not verified on the target: none twice,
//! none skipped. An import is one push, of the text the page must end
//! with; MediaWiki skips the revisions a page has already (same time and
//! SHA-1), so an import sent again adds nothing twice.

use checkpoints::{NewPush, Pair, RevisionRow, StoredPage};

use super::outbox::Outgoing;
use super::{Run, now, page_on, revs, set_page, write};
use crate::mediawiki::MwError;
use crate::merge::{self, Merged};
use crate::package::xml;
use crate::sync::peer::Peer;
use crate::sync::plan::ConflictNote;
use crate::sync::plan::{State, Target};
use crate::sync::replay::{self, History};
use crate::util::md5_hex;

/// Where replayed revisions come from: the side's wiki in the store, and
/// the name people know it by (in summaries, and as the import's prefix
/// of user names): a wiki's config name, or the other site of a sync by
/// packages by its site name.
struct Origin {
    wiki: String,
    label: String,
}

/// Revisions listed at most (without their texts) for one page's replay.
const LISTED: usize = 100_000;

impl Run<'_> {
    /// The origin of revisions replayed from the side `source`, if it is a
    /// wiki in the store.
    fn origin(&self, source: Target) -> anyhow::Result<Option<Origin>> {
        let side = self.side(source);
        let Some(wiki) = side.stored_wiki().map(str::to_string) else { return Ok(None) };
        let label = match side {
            Peer::Carried(_) => {
                let site = write(self.store, |s| s.wiki_site(&wiki))?;
                site.map(|s| s.sitename).filter(|n| !n.is_empty()).unwrap_or_else(|| "the other site".into())
            }
            _ => wiki.clone(),
        };
        Ok(Some(Origin { wiki, label }))
    }

    /// What a replay on `target` carries: the other side's revisions of the
    /// pair's page after its revision `after` (`None`: from its first)
    /// through `through`, with where they come from and the page's id
    /// there. `None` when nothing is replayed: history = "squash", a target
    /// this sync only reads or that is not a wiki, a source not in the
    /// store, or revisions the store lacks.
    fn to_replay(&self, pair: &Pair, target: Target, after: Option<u64>, through: u64) -> anyhow::Result<Option<(Origin, u64, Vec<RevisionRow>)>> {
        if self.opts.history != History::Replay || self.read_only(target).is_some() || !matches!(self.side(target), Peer::Wiki(_)) {
            return Ok(None);
        }
        let (Some(origin), Some(src_page)) = (self.origin(target.other())?, page_on(target.other(), pair)) else { return Ok(None) };
        let listed = write(self.store, |s| s.revisions_between(&origin.wiki, src_page, after, through, LISTED))?;
        Ok(listed.filter(|r| !r.is_empty()).map(|revisions| (origin, src_page, revisions)))
    }

    /// Replays on `target` the revisions the other side made to the pair's
    /// page after its revision `after` (`None`: every one, the page being
    /// created on `target`) through its current one, `source`. `Ok(None)`:
    /// not replayed (history = "squash", a side that is not a wiki,
    /// revisions the store lacks): the caller writes the text as one edit.
    /// `Ok(Some(all))`: replayed, `all` if the target took every revision.
    pub(super) async fn replay(
        &mut self,
        pair: &mut Pair,
        target: Target,
        after: Option<u64>,
        source: &State,
        target_base: u64,
    ) -> anyhow::Result<Option<bool>> {
        let (Peer::Wiki(dst_side), State::Present { rev: current, text: final_text, .. }) = (self.side(target), source) else { return Ok(None) };
        let Some((origin, src_page, revisions)) = self.to_replay(pair, target, after, *current)? else { return Ok(None) };
        let importing = match self.can_import[target as usize] {
            Some(known) => known,
            None => {
                let known = dst_side.wiki.can_import().await.unwrap_or(false);
                self.can_import[target as usize] = Some(known);
                known
            }
        };
        let imported = match importing {
            true => self.replay_by_import(pair, target, &origin, src_page, &revisions, (*current, final_text), target_base).await?,
            false => None,
        };
        // Without the right, or the import refused before anything went in (said).
        let all = match imported {
            Some(all) => all,
            None => self.replay_by_edits(pair, target, &origin, &revisions, (*current, final_text), target_base).await?,
        };
        Ok(Some(all))
    }

    /// Both sides changed since they agreed: the other side's revisions but
    /// the last, each merged onto what `target` holds (at `target_rev`,
    /// `target_text`) as one attributed edit, as long as each merges
    /// cleanly; the merge of both sides' texts then goes as the last write.
    /// Returns the target's revision that write goes on from, and its
    /// summary, which names every author it carries (and the conflict, if
    /// the sides clashed). `source_rev` is the other side's current revision.
    pub(super) async fn replay_merged(
        &mut self,
        pair: &mut Pair,
        target: Target,
        (target_rev, target_text): (u64, &str),
        source_rev: u64,
        conflict: Option<&ConflictNote>,
    ) -> anyhow::Result<(u64, Option<String>)> {
        let after = if target == Target::Wiki { pair.with_rev } else { pair.wiki_rev };
        let Some((origin, _, revisions)) = self.to_replay(pair, target, Some(after), source_rev)? else { return Ok((target_rev, None)) };
        let on = self.side(target).name();
        let merged_here = format!("(merged with the edits on {on})");
        let (mut before, mut now_there, mut rev) = (pair.base_text.clone(), target_text.to_string(), target_rev);
        let title = pair.title.clone();
        let mut done = 0;
        for r in &revisions[..(revisions.len() - 1).min(replay::MAX_EDITS - 1)] {
            let Some(text) = write(self.store, |s| s.wiki_revision(&origin.wiki, r.revid))?.map(|r| r.text) else { break };
            match merge::three_way(&before, &text, &now_there, ("source", "target")) {
                // Its change is there already.
                Merged::Clean(t) if t.trim_end() == now_there.trim_end() => {}
                Merged::Clean(t) => {
                    let summary = format!("{} {merged_here}", replay::attributed(r, &origin.label));
                    let out =
                        Outgoing { target, title: &title, page_id: page_on(target, pair), base_rev: rev, text: &t, summary: Some(&summary), source_rev: None };
                    let Some(landed) = self.push(pair, out, None).await? else { break };
                    set_page(target, pair, landed.page_id);
                    rev = landed.rev;
                    self.settle(pair.clone(), vec![landed], None, true)?;
                    self.report.replayed += 1;
                    now_there = t;
                }
                // Overlapping: it goes with the rest, in the last write.
                Merged::Conflict(_) => break,
            }
            before = text;
            done += 1;
        }
        let rest = &revisions[done..];
        let mut summary = match rest {
            [one] => format!("{} {merged_here}", replay::attributed(one, &origin.label)),
            _ => format!("{} {merged_here}", replay::squashed(rest, &origin.label, &self.opts.name)),
        };
        if let Some(c) = conflict {
            let theirs = if target == Target::Wiki { &c.wiki_user } else { &c.with_user };
            summary = format!("{summary}; conflict with the edit of {theirs} on {on}: both texts kept, see the talk page");
        }
        Ok((rev, Some(summary)))
    }

    /// One edit per revision, attributed in its summary; past
    /// `replay::MAX_EDITS`, the rest as one edit naming every author.
    async fn replay_by_edits(
        &mut self,
        pair: &mut Pair,
        target: Target,
        origin: &Origin,
        revisions: &[RevisionRow],
        (current, final_text): (u64, &str),
        target_base: u64,
    ) -> anyhow::Result<bool> {
        let (each, rest) = replay::split_edits(revisions);
        let mut base = target_base;
        let title = pair.title.clone();
        for r in each {
            let Some(text) = write(self.store, |s| s.wiki_revision(&origin.wiki, r.revid))?.map(|r| r.text) else { return Ok(false) };
            let summary = replay::attributed(r, &origin.label);
            let out = Outgoing {
                target,
                title: &title,
                page_id: page_on(target, pair),
                base_rev: base,
                text: &text,
                summary: Some(&summary),
                source_rev: Some(r.revid),
            };
            let Some(landed) = self.push(pair, out, None).await? else { return Ok(false) };
            set_page(target, pair, landed.page_id);
            base = landed.rev;
            self.report.replayed += 1;
            let (w, y) = revs(target, landed.rev, r.revid);
            self.settle(pair.clone(), vec![landed], Some((text, w, y)), true)?;
        }
        if !rest.is_empty() {
            let summary = replay::squashed(rest, &origin.label, &self.opts.name);
            let out = Outgoing {
                target,
                title: &title,
                page_id: page_on(target, pair),
                base_rev: base,
                text: final_text,
                summary: Some(&summary),
                source_rev: Some(current),
            };
            let Some(landed) = self.push(pair, out, None).await? else { return Ok(false) };
            set_page(target, pair, landed.page_id);
            let (w, y) = revs(target, landed.rev, current);
            self.settle(pair.clone(), vec![landed], Some((final_text.to_string(), w, y)), true)?;
        }
        Ok(true)
    }

    /// The revisions through the API's import, then, if the page's text is
    /// not the source's (imported revisions older than the page's newest
    /// do not become its text), one edit that makes it so. `None`: the
    /// import was refused before any revision went in.
    #[allow(clippy::too_many_arguments)]
    async fn replay_by_import(
        &mut self,
        pair: &mut Pair,
        target: Target,
        origin: &Origin,
        src_page: u64,
        revisions: &[RevisionRow],
        (current, final_text): (u64, &str),
        target_base: u64,
    ) -> anyhow::Result<Option<bool>> {
        let (store, opts) = (self.store, self.opts);
        let final_text = final_text.trim_end();
        let md5 = md5_hex(final_text);
        let title = pair.title.clone();
        let new = NewPush {
            pair_id: pair.pair_id,
            target,
            title: &title,
            page_id: page_on(target, pair),
            base_rev: target_base,
            text: final_text,
            md5: &md5,
            source_rev: Some(current),
        };
        let job = write(store, |s| s.queue_push(&opts.name, &new, now()))?;
        write(store, |s| s.mark_sent(job))?;
        let (site, page) =
            write(store, |s| Ok((s.wiki_site(&origin.wiki)?.unwrap_or_default(), s.wiki_lookup(&origin.wiki, &[src_page], &[])?.0.remove(&src_page))))?;
        let Some(page) = page else {
            write(store, |s| s.finish_push(job))?;
            return Ok(Some(false));
        };
        // Under the title both sides agreed on.
        let page = StoredPage { title: title.clone(), ..page };
        let name = self.side(target).name();
        let Peer::Wiki(side) = self.side(target) else { unreachable!("replay checked the target is a wiki") };
        let summary = format!("oai-mirror sync ({}): revisions of [[{title}]] from {}", opts.name, origin.label);
        let mut chunk: Vec<RevisionRow> = Vec::new();
        let mut bytes = 0u64;
        let mut sent = false;
        for (i, r) in revisions.iter().enumerate() {
            let Some(full) = write(store, |s| s.wiki_revision(&origin.wiki, r.revid))? else {
                write(store, |s| s.finish_push(job))?;
                return Ok(Some(false));
            };
            let size = full.text.len() as u64;
            if replay::send_before(chunk.len(), bytes, size) {
                if !self.import((side.wiki, target), job, &site, origin, &page, &std::mem::take(&mut chunk), &summary).await? {
                    return Ok(self.stopped(target, sent));
                }
                (bytes, sent) = (0, true);
            }
            bytes += size;
            chunk.push(full);
            if i + 1 == revisions.len() && !self.import((side.wiki, target), job, &site, origin, &page, &chunk, &summary).await? {
                return Ok(self.stopped(target, sent));
            }
        }
        self.report.replayed += revisions.len() as u64;
        // What the page holds now says whether the import made its text.
        let now_there = match self.side(target).current(store, page_on(target, pair), &title).await {
            Ok(now_there) => now_there,
            Err(e) => {
                // The push stays sent: the next run checks the page first.
                self.report.failed += 1;
                self.report.say(format!("[[{title}]] on {name}: imported, but its text could not be read back ({e:#}); checked next run"));
                return Ok(Some(false));
            }
        };
        write(store, |s| s.finish_push(job))?;
        let Some((rev, text)) = now_there else {
            self.report.failed += 1;
            self.report.say(format!("[[{title}]] on {name}: imported, but the page is not there; deciding again next run"));
            return Ok(Some(false));
        };
        let page_id = match page_on(target, pair) {
            Some(id) => id,
            None => match side.wiki.pages(&[crate::mediawiki::PageRef::Title(&title)]).await?.first().and_then(|p| p.pageid) {
                Some(id) => id,
                None => return Ok(Some(false)),
            },
        };
        set_page(target, pair, page_id);
        self.report.pushes += 1;
        if text.trim_end() == final_text {
            let (w, y) = revs(target, rev, current);
            self.agree(pair, final_text, w, y)?;
            return Ok(Some(true));
        }
        // The imported revisions are in its history, below a newer one:
        // one edit gives the page the source's text.
        let last = revisions.last().expect("not empty");
        let summary = format!(
            "oai-mirror sync ({}): the text of {} as on {} ({}), whose revisions were imported below this page's newer ones",
            opts.name,
            title,
            origin.label,
            replay::attributed(last, &origin.label)
        );
        let out =
            Outgoing { target, title: &title, page_id: Some(page_id), base_rev: rev, text: final_text, summary: Some(&summary), source_rev: Some(current) };
        let Some(landed) = self.push(pair, out, None).await? else { return Ok(Some(false)) };
        let (w, y) = revs(target, landed.rev, current);
        self.settle(pair.clone(), vec![landed], Some((final_text.to_string(), w, y)), true)?;
        Ok(Some(true))
    }

    /// After an import request that did not go through: `None` (replay as
    /// edits) if the wiki refused it before any revision went in; else a
    /// write that failed.
    fn stopped(&mut self, target: Target, sent: bool) -> Option<bool> {
        let refused = self.can_import[target as usize] == Some(false);
        if refused && !sent {
            self.report.say("nothing of it was imported: replayed as edits instead".into());
            return None;
        }
        if refused {
            self.report.failed += 1;
            self.report.say("the revisions imported before stay; the rest is decided again next run".into());
        }
        Some(false)
    }

    /// Sends one import request; false (the push left as the outcome
    /// requires, and said) if it did not go through.
    #[allow(clippy::too_many_arguments)]
    async fn import(
        &mut self,
        (wiki, target): (&crate::mediawiki::Wiki, Target),
        job: i64,
        site: &checkpoints::WikiSite,
        origin: &Origin,
        page: &StoredPage,
        revisions: &[RevisionRow],
        summary: &str,
    ) -> anyhow::Result<bool> {
        let mut doc = xml::header(site, &origin.wiki);
        xml::page(&mut doc, page, revisions);
        doc.push_str(xml::FOOTER);
        match wiki.import_xml(doc.into_bytes(), &origin.label, summary, &page.title).await {
            Ok(_) => Ok(true),
            Err(e @ (MwError::Unreachable { .. } | MwError::RetriesExhausted { .. })) => {
                // Whether it landed is unknown: the push stays sent, and
                // the next run looks at the page before sending again.
                self.report.failed += 1;
                self.report.say(format!("[[{}]] on {}: import outcome unknown ({e}); will check before retrying", page.title, wiki.name()));
                Ok(false)
            }
            Err(e) => {
                // Refused (a right taken away, an upload limit): this run
                // replays as edits to this wiki, this page at once.
                write(self.store, |s| s.finish_push(job))?;
                self.can_import[target as usize] = Some(false);
                self.report.say(format!("[[{}]] on {}: import refused ({e})", page.title, wiki.name()));
                Ok(false)
            }
        }
    }
}
