//! What one sync run covers and how it behaves, as its caller (a pair, or a
//! group's spoke) sets it: the options, where conflict notices go, a
//! group's members and the other spokes a conflict may come from. Both the
//! run and the group read these; neither owns them.

use std::collections::HashSet;
use std::sync::Arc;

use super::plan::{ConflictPolicy, Target};
use crate::mediawiki::Wiki;
use crate::mirror::pull::Selection;

/// How one run of a sync behaves.
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
    pub members: Option<Arc<Members>>,
    /// In a group, the other spokes' pairs: a hub revision one of them
    /// wrote is that spoke's edit, and its notices go to that spoke.
    pub upstream: Vec<Upstream>,
    /// Which sides are written (`[sync.NAME] direction`).
    pub direction: Direction,
    /// How a change goes to the other side (`[sync.NAME] history`).
    pub history: super::replay::History,
}

/// Which way a sync carries changes. A side it does not write still has
/// its changes read; an edit that would go to it stays where it was made,
/// pending, and every run says so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Both sides are written.
    #[default]
    Both,
    /// From the `wiki` side to the other: the `wiki` is only read.
    Pull,
    /// From the other side to the `wiki`: the other side is only read.
    Push,
}

impl SyncOptions {
    /// A pair's options, as `[sync.NAME]` gives them.
    pub fn pair(name: &str, policy: ConflictPolicy, prefer: Target, notify: Vec<Notice>, dry_run: bool) -> SyncOptions {
        SyncOptions {
            name: name.to_string(),
            policy,
            prefer,
            dry_run,
            announce: true,
            notify,
            members: None,
            upstream: Vec::new(),
            direction: Direction::Both,
            history: Default::default(),
        }
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

/// The pages of a group this run: titles in its categories on some member
/// (`None`: the group names none, so every page), that its selection takes.
#[derive(Clone, Debug, Default)]
pub struct Members {
    pub titles: Option<HashSet<String>>,
    pub selection: Selection,
}

impl Members {
    pub fn holds(&self, title: &str) -> bool {
        self.titles.as_ref().is_none_or(|t| t.contains(title)) && self.selection.may_include(title)
    }
}

/// Another spoke's pair, as a pair's conflict sees it: a hub revision
/// that pair wrote is an edit made on `wiki`.
#[derive(Clone)]
pub struct Upstream {
    pub sync: String,
    pub wiki: String,
    pub client: Arc<Wiki>,
}
