//! Files in two-way sync, decided: a File: page pair's current file on
//! each side against the file both last agreed on (its SHA-1), as pages
//! are decided against their base text. Pure.
//!
//! A file changed on one side only is uploaded to the other; changed on
//! both to different contents, it is a conflict that keeps both: the
//! preferred side's version becomes current on both, the other's stays in
//! its own wiki's file history and is uploaded beside the preferred one
//! under a conflict name. A file whose bytes the mirror does not hold yet
//! waits for the next run.

use crate::sync::plan::Target;

/// A side's current file, as its mirror holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileNow {
    pub sha1: String,
    pub size: u64,
    pub timestamp: String,
    pub user: String,
    pub comment: String,
    /// Its bytes are in the files directory.
    pub stored: bool,
}

/// What to do with a pair's files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileAction {
    Nothing,
    /// Both sides hold this content: it becomes the agreed one.
    Agree(String),
    /// `from`'s current file goes to `target`.
    Upload {
        target: Target,
        from: Target,
    },
    /// Both changed: `winner`'s goes to the other side, the other's is kept
    /// beside the winner's under a conflict name.
    Conflict {
        winner: Target,
    },
    /// The bytes to send are not in the mirror yet.
    Wait,
}

/// Decides a pair's files. `base`: the SHA-1 both sides last agreed on.
pub fn decide(base: Option<&str>, wiki: Option<&FileNow>, with: Option<&FileNow>, prefer: Target) -> FileAction {
    let upload = |from: Target, f: &FileNow| if f.stored { FileAction::Upload { target: from.other(), from } } else { FileAction::Wait };
    match (wiki, with) {
        (None, None) => FileAction::Nothing,
        (Some(w), Some(y)) if w.sha1 == y.sha1 => {
            if base == Some(w.sha1.as_str()) {
                FileAction::Nothing
            } else {
                FileAction::Agree(w.sha1.clone())
            }
        }
        // A file on one side only: new there, unless the sides agreed on one
        // (then the other side's is gone, which its page's deletion carries).
        (Some(w), None) => {
            if base.is_none() {
                upload(Target::Wiki, w)
            } else {
                FileAction::Nothing
            }
        }
        (None, Some(y)) => {
            if base.is_none() {
                upload(Target::With, y)
            } else {
                FileAction::Nothing
            }
        }
        (Some(w), Some(y)) => match base {
            Some(b) if b == y.sha1 => upload(Target::Wiki, w),
            Some(b) if b == w.sha1 => upload(Target::With, y),
            _ if w.stored && y.stored => FileAction::Conflict { winner: prefer },
            _ => FileAction::Wait,
        },
    }
}

/// The name a conflicting version is kept under beside `name` (a file
/// name, without `File:`): `Name (from SIDE, YYYYMMDDHHMMSS).ext`.
pub fn conflict_name(name: &str, side: &str, timestamp: &str) -> String {
    let stamp: String = timestamp.chars().filter(char::is_ascii_digit).collect();
    let side: String = side.chars().map(|c| if c.is_alphanumeric() || c == '-' { c } else { '-' }).collect();
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{stem} (from {side}, {stamp}).{ext}"),
        _ => format!("{name} (from {side}, {stamp})"),
    }
}

/// An upload's summary, naming who made the version where and when.
pub fn carried_comment(f: &FileNow, side: &str) -> String {
    let user = if f.user.is_empty() { "(hidden)" } else { f.user.as_str() };
    let when = f.timestamp.replace('T', " ").trim_end_matches('Z').to_string();
    if f.comment.is_empty() { format!("{user} on {side}, {when}") } else { format!("{user} on {side}, {when}: {}", f.comment) }
}

#[cfg(test)]
mod tests;
