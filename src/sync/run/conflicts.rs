//! Conflicts: recorded with both texts (and the base they clashed over),
//! announced on talk pages, settled by a person (`resolve`).

use std::sync::Arc;

use anyhow::Context;
use checkpoints::{ConflictRow, NewPush, Pair, Store};

use super::super::peer::{Peer, Side};
use super::super::plan::{self, ConflictPolicy, Target};
use super::super::scope::Notice;
use super::{Run, now, write};
use crate::mediawiki::{CreateMode, Edit, EditOutcome, PageRef, Wiki};
use crate::util::{lock, md5_hex};

impl Run<'_> {
    /// Records a conflict with both texts, keeps the other side's text beside a
    /// checkout's file, and announces it on the talk page (on `wiki`; the sync
    /// carries the notice to the other side).
    pub(super) async fn record_conflict(&mut self, pair: &Pair, note: &plan::ConflictNote) -> anyhow::Result<()> {
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
        if note.policy == ConflictPolicy::KeepBoth && self.read_only(Target::With).is_none() {
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
            // Named, not "this wiki": the notice is carried to the other
            // side, where it must say the same thing.
            ConflictPolicy::KeepBoth => {
                let (kept_from, other) = if opts.prefer == Target::Wiki { (self.wiki.name(), with.name()) } else { (with.name(), self.wiki.name()) };
                format!(
                    "The overlapping parts now hold the text from {kept_from}; the other version is kept whole {} and in the mirror (conflict {id}).",
                    match &kept_beside {
                        Some(file) => format!("in the file {file:?} beside the page's file"),
                        None => format!("in the history of {other}"),
                    }
                )
            }
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
        // Nothing is written to a side this sync only reads: no notice goes
        // to a wiki without an account (it would be signed by an IP address)
        // or against the sync's direction.
        let unwritable: Vec<&str> = [Target::Wiki, Target::With]
            .into_iter()
            .filter(|t| self.read_only(*t).is_some())
            .filter_map(|t| match self.side(t) {
                Peer::Wiki(s) => Some(s.wiki.name()),
                _ => None,
            })
            .collect();
        places.retain(|(on, talk)| {
            let skip = !on.has_account() || unwritable.contains(&on.name());
            if skip {
                self.report.say(format!("[[{}]]: no notice on [[{talk}]] of {}: this sync does not write there", note.title, on.name()));
            }
            !skip
        });
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

    /// The user and revision of the `wiki` side of a conflict, and the
    /// wiki where it was made if not the `wiki` side itself: in a group, a
    /// hub revision that another spoke's pair wrote (its base, at that
    /// revision) is that spoke's edit, by the author of its revision there.
    fn wiki_side_author(&self, wiki: &Side<'_>, pair: &Pair, note: &plan::ConflictNote) -> (String, String, Option<Arc<Wiki>>) {
        for up in &self.opts.upstream {
            let Some(page) = pair.wiki_page else { continue };
            let s = lock(self.store);
            // The one pair that wrote this revision, not every spoke's pairs.
            let written = crate::util::blocking(|| s.sync_pair_at(&up.sync, page, note.wiki_rev)).ok().flatten();
            let Some(p) = written else { continue };
            if let Ok(Some(r)) = s.wiki_revision(&up.wiki, p.with_rev) {
                return (r.user, format!("revision {} on {}", p.with_rev, up.wiki), Some(up.client.clone()));
            }
        }
        (note.wiki_user.clone(), format!("revision {} on {}", note.wiki_rev, wiki.pull.wiki), None)
    }
}

/// Appends `notice` to the talk page `talk` on `wiki`.
pub(super) async fn leave_notice(wiki: &Wiki, talk: &str, notice: &str) -> Result<(), String> {
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
    // One step: a run that writes the pair meanwhile (its lock is taken by
    // the callers too) can neither interleave nor be overwritten by an
    // earlier read of the pair.
    s.in_write(|s| settle(s, sync, title, take))
}

fn settle(s: &Store, sync: &str, title: &str, take: Take) -> anyhow::Result<u32> {
    let open: Vec<ConflictRow> = s.conflicts(sync, true)?.into_iter().filter(|c| c.title == title).collect();
    let latest = open.last().with_context(|| format!("no open conflict on [[{title}]] in sync {sync}"))?;
    let text = match take {
        Take::Side(Target::Wiki) => latest.wiki_text.clone(),
        Take::Side(Target::With) => latest.with_text.clone(),
        Take::Text(text) => text,
    };
    let text = text.trim_end();
    let pair = s.sync_pair(latest.pair_id)?.with_context(|| format!("the pair of [[{title}]] is gone"))?;
    // The pair's revisions, not the mirror's: they include the sync's own
    // last writes, which the mirror sees only at the next pull. A side that
    // already holds the text answers "no change".
    for (target, page, rev) in [(Target::Wiki, pair.wiki_page, pair.wiki_rev), (Target::With, pair.with_page, pair.with_rev)] {
        let md5 = md5_hex(text);
        s.queue_push(
            sync,
            &NewPush { pair_id: pair.pair_id, target, title: &pair.title, page_id: page, base_rev: rev, text, md5: &md5, source_rev: None },
            now(),
        )?;
    }
    s.set_sync_base(pair.pair_id, text, now())?;
    for c in &open {
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
