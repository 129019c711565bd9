//! What to do with one page pair. Pure.
//!
//! The base is the last text both sides agreed on, with the revision each
//! side had then. A side whose current revision is the base's has not
//! changed, which is also how the sync's own writes, coming back through
//! the feeds, are told from new edits: their revision ids are in the base.

use crate::merge::{self, Merged, Side};

/// A side of a sync (`Target::Wiki`, `Target::With`) and how a conflict is
/// settled: the store's types, so the outbox and the conflict log hold them
/// as they are.
pub use checkpoints::{ConflictPolicy, SyncSide as Target};

/// What was agreed last time. Both revisions 0: nothing was agreed yet
/// (a page found on one side, or on both under one title).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    pub title: String,
    pub text: String,
    pub wiki_rev: u64,
    pub with_rev: u64,
    /// The last write held conflict markers: nothing is synced until they are gone.
    pub held: bool,
}

impl Base {
    fn never_agreed(&self) -> bool {
        self.wiki_rev == 0 && self.with_rev == 0
    }
}

/// One side's page now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    Present {
        title: String,
        rev: u64,
        text: String,
        user: String,
    },
    /// The pair's page on this side is gone.
    Deleted,
    /// The pair has no page on this side (yet).
    Absent,
    /// The side has the page but cannot say what it holds now (a checkout
    /// file that is there but cannot be read): nothing is decided.
    Unknown,
}

/// A write to one side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub target: Target,
    pub text: String,
    /// The target's revision the text is based on (0: create).
    pub base_rev: u64,
}

/// A conflict to record and announce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConflictNote {
    pub title: String,
    pub wiki_text: String,
    pub with_text: String,
    pub wiki_rev: u64,
    pub with_rev: u64,
    pub wiki_user: String,
    pub with_user: String,
    pub resolved_text: String,
    pub policy: ConflictPolicy,
}

/// The decision for a pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Nothing,
    /// The page exists on one side only and was never synced: create it on
    /// `target` with the other side's text (at its revision `source_rev`).
    Create {
        target: Target,
        title: String,
        text: String,
        source_rev: u64,
    },
    /// The pair is held for its conflict markers, still on a side.
    Hold,
    /// Write these; then both sides hold `agreed`. With a conflict under
    /// `Markers`, the pair is held afterwards.
    Write {
        pushes: Vec<Push>,
        agreed: String,
        conflict: Option<ConflictNote>,
    },
    /// Move the page on `target` to `to` (a move is replayed as a move),
    /// then decide again.
    Move {
        target: Target,
        from: String,
        to: String,
    },
    /// Delete the page on `target`: the other side deleted it and this one did not change.
    Delete {
        target: Target,
        title: String,
    },
    /// Both sides deleted it: forget the pair.
    Forget,
    /// A side deleted the page while the other edited it: the edited text
    /// survives and is written back to the deleting side.
    Revive {
        target: Target,
        text: String,
        note: String,
    },
}

/// Decides for one pair. `prefer` is the side whose text fills conflicting
/// regions under `KeepBoth`.
pub fn decide(base: &Base, wiki: &State, with: &State, policy: ConflictPolicy, prefer: Target) -> Action {
    if base.never_agreed() {
        let create = |target: Target, state: &State| match state {
            State::Present { title, rev, text, .. } => Action::Create { target, title: title.clone(), text: text.clone(), source_rev: *rev },
            State::Deleted | State::Absent | State::Unknown => Action::Nothing,
        };
        match (wiki, with) {
            (State::Absent, other) => return create(Target::Wiki, other),
            (other, State::Absent) => return create(Target::With, other),
            _ => {}
        }
    }
    let markers = |s: &State| matches!(s, State::Present { text, .. } if merge::has_markers(text));
    if base.held && (markers(wiki) || markers(with)) {
        return Action::Hold;
    }
    let changed = |state: &State, base_rev: u64| match state {
        State::Present { rev, .. } => *rev != base_rev,
        State::Deleted | State::Absent | State::Unknown => true,
    };
    let (wiki_changed, with_changed) = (changed(wiki, base.wiki_rev), changed(with, base.with_rev));
    match (wiki, with) {
        (State::Unknown, _) | (_, State::Unknown) => Action::Nothing,
        (State::Deleted | State::Absent, State::Deleted | State::Absent) => Action::Forget,
        (State::Deleted | State::Absent, State::Present { text, .. }) => {
            if with_changed && *text != base.text {
                Action::Revive {
                    target: Target::Wiki,
                    text: text.clone(),
                    note: format!("[[{}]] was deleted on one side and edited on the other; the edit was kept", base.title),
                }
            } else {
                Action::Delete { target: Target::With, title: title_of(with).to_string() }
            }
        }
        (State::Present { text, .. }, State::Deleted | State::Absent) => {
            if wiki_changed && *text != base.text {
                Action::Revive {
                    target: Target::With,
                    text: text.clone(),
                    note: format!("[[{}]] was deleted on one side and edited on the other; the edit was kept", base.title),
                }
            } else {
                Action::Delete { target: Target::Wiki, title: title_of(wiki).to_string() }
            }
        }
        (State::Present { title: wt, rev: wr, text: wx, user: wu }, State::Present { title: yt, rev: yr, text: yx, user: yu }) => {
            // Titles first: a move on one side is replayed on the other, and
            // the pair is decided again once both agree on the title.
            if wt != yt {
                if *wt != base.title && *yt == base.title {
                    return Action::Move { target: Target::With, from: yt.clone(), to: wt.clone() };
                }
                if *yt != base.title && *wt == base.title {
                    return Action::Move { target: Target::Wiki, from: wt.clone(), to: yt.clone() };
                }
                // Both moved, to different titles: the preferred side's title wins.
                return match prefer {
                    Target::Wiki => Action::Move { target: Target::With, from: yt.clone(), to: wt.clone() },
                    Target::With => Action::Move { target: Target::Wiki, from: wt.clone(), to: yt.clone() },
                };
            }
            if wx == yx {
                // Same text on both sides: agree, whatever the revisions.
                return if wiki_changed || with_changed || *wx != base.text {
                    Action::Write { pushes: vec![], agreed: wx.clone(), conflict: None }
                } else {
                    Action::Nothing
                };
            }
            match (wiki_changed && *wx != base.text, with_changed && *yx != base.text) {
                (false, false) => Action::Nothing,
                (true, false) => {
                    Action::Write { pushes: vec![Push { target: Target::With, text: wx.clone(), base_rev: *yr }], agreed: wx.clone(), conflict: None }
                }
                (false, true) => {
                    Action::Write { pushes: vec![Push { target: Target::Wiki, text: yx.clone(), base_rev: *wr }], agreed: yx.clone(), conflict: None }
                }
                (true, true) => match merge::three_way(&base.text, wx, yx, ("wiki", "with")) {
                    Merged::Clean(text) => Action::Write { pushes: pushes_for(&text, wx, *wr, yx, *yr), agreed: text, conflict: None },
                    Merged::Conflict(c) => {
                        let resolved = match policy {
                            ConflictPolicy::KeepBoth => c.preferring(if prefer == Target::Wiki { Side::Ours } else { Side::Theirs }).to_string(),
                            ConflictPolicy::Markers => c.with_markers.clone(),
                        };
                        let note = ConflictNote {
                            title: wt.clone(),
                            wiki_text: wx.clone(),
                            with_text: yx.clone(),
                            wiki_rev: *wr,
                            with_rev: *yr,
                            wiki_user: wu.clone(),
                            with_user: yu.clone(),
                            resolved_text: resolved.clone(),
                            policy,
                        };
                        Action::Write { pushes: pushes_for(&resolved, wx, *wr, yx, *yr), agreed: resolved, conflict: Some(note) }
                    }
                },
            }
        }
    }
}

fn title_of(s: &State) -> &str {
    match s {
        State::Present { title, .. } => title,
        State::Deleted | State::Absent | State::Unknown => "",
    }
}

/// Writes `text` to each side that does not hold it already.
fn pushes_for(text: &str, wiki_text: &str, wiki_rev: u64, with_text: &str, with_rev: u64) -> Vec<Push> {
    let mut out = Vec::new();
    if text != wiki_text {
        out.push(Push { target: Target::Wiki, text: text.to_string(), base_rev: wiki_rev });
    }
    if text != with_text {
        out.push(Push { target: Target::With, text: text.to_string(), base_rev: with_rev });
    }
    out
}

#[cfg(test)]
mod tests;
