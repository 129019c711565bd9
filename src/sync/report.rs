//! What a sync run did: lines for people, numbers for machines.

use super::plan::{Action, Target};

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
    /// Revisions carried as the revisions they were, each with its author.
    pub replayed: u64,
    /// File versions uploaded to the other side and read back there.
    pub files: u64,
    pub failed: u64,
    /// Changes not carried to a side this sync only reads: still where they
    /// were made, pending.
    pub held_back: u64,
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
    pub(super) fn say(&mut self, line: String) {
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
        self.replayed += other.replayed;
        self.files += other.files;
        self.failed += other.failed;
        self.held_back += other.held_back;
        self.requests += other.requests;
        self.pages_examined += other.pages_examined;
        self.wiki_writes += other.wiki_writes;
    }

    /// Counts what `action` would do, as a dry run reports it: the same
    /// numbers a real run would count when everything goes through. What
    /// would go to a side the run only reads (`read_only`) is held back.
    pub(super) fn count_planned(&mut self, action: &Action, read_only: impl Fn(Target) -> bool) {
        match action {
            Action::Nothing | Action::Hold | Action::Forget => {}
            Action::Create { target, .. } | Action::Move { target, .. } | Action::Delete { target, .. } | Action::Revive { target, .. }
                if read_only(*target) =>
            {
                self.held_back += 1
            }
            Action::Create { .. } => self.created += 1,
            Action::Move { .. } => self.moves += 1,
            Action::Delete { .. } => self.deletes += 1,
            Action::Revive { .. } => self.revived += 1,
            Action::Write { pushes, conflict, .. } => {
                let held = pushes.iter().filter(|p| read_only(p.target)).count() as u64;
                self.held_back += held;
                self.pushes += pushes.len() as u64 - held;
                self.merged += (pushes.len() == 2) as u64;
                self.conflicts += conflict.is_some() as u64;
            }
        }
    }
}

/// A decision in words, for the run's lines.
pub(super) fn describe(a: &Action, wname: &str, yname: &str) -> String {
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
