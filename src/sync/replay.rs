//! What a replay sends, decided without I/O: the summary that attributes
//! a replayed edit to its author, which revisions go one by one and which
//! are squashed into one edit, and how an import is cut into requests.
//!
//! A sync carries a change made on one side as the revisions that made it,
//! in time order. Where the target's account may import, through the API's
//! import (each revision keeps its author, as `a>Name`, its time and its
//! summary); otherwise as one edit per revision by the sync's account,
//! whose summary names the author, the wiki and the time.

use checkpoints::RevisionRow;

/// How a sync carries a change made on one side (`[sync.NAME] history`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum History {
    /// As the revisions that made it, each with its author.
    #[default]
    Replay,
    /// As one edit by the sync's account.
    Squash,
}

/// Revisions of a page one run replays as edits, one each; beyond that the
/// rest go as one edit whose summary names every author.
pub const MAX_EDITS: usize = 50;

/// Revisions sent in one import request, and their text at most: the XML
/// goes as an uploaded file, and PHP's default `upload_max_filesize` is 2 MB
/// (a request over it is refused, and the page then replayed as edits).
pub const IMPORT_REVISIONS: usize = 50;
pub const IMPORT_BYTES: u64 = 1536 << 10;

/// MediaWiki keeps 500 characters of a summary.
const SUMMARY_CHARS: usize = 500;

/// The summary of an edit replaying `r`, made on `wiki`: "Ann on a,
/// 2026-12-04 10:15: what Ann wrote".
pub fn attributed(r: &RevisionRow, wiki: &str) -> String {
    let user = if r.user.is_empty() { "(hidden user)" } else { &r.user };
    let when = r.timestamp.get(..16).unwrap_or(&r.timestamp).replace('T', " ");
    let head = format!("{user} on {wiki}, {when}");
    if r.comment.is_empty() { head } else { clip(&format!("{head}: {}", r.comment)) }
}

/// The summary of one edit standing for several revisions: every author,
/// once each, in the order they first edited.
pub fn squashed(revisions: &[RevisionRow], wiki: &str, sync: &str) -> String {
    let mut authors: Vec<&str> = Vec::new();
    for r in revisions {
        let user = if r.user.is_empty() { "(hidden user)" } else { r.user.as_str() };
        if !authors.contains(&user) {
            authors.push(user);
        }
    }
    let (first, last) = match (revisions.first(), revisions.last()) {
        (Some(f), Some(l)) => {
            (f.timestamp.get(..16).unwrap_or(&f.timestamp).replace('T', " "), l.timestamp.get(..16).unwrap_or(&l.timestamp).replace('T', " "))
        }
        _ => (String::new(), String::new()),
    };
    clip(&format!("oai-mirror sync ({sync}): {} revisions on {wiki}, {first} to {last}, by {}", revisions.len(), authors.join(", ")))
}

/// Which revisions go one by one and which, if any, are squashed into one
/// edit: at most [`MAX_EDITS`] edits in all.
pub fn split_edits(revisions: &[RevisionRow]) -> (&[RevisionRow], &[RevisionRow]) {
    if revisions.len() <= MAX_EDITS { (revisions, &[]) } else { revisions.split_at(MAX_EDITS - 1) }
}

/// Whether an import request holding `count` revisions of `bytes` of text
/// is sent before a revision of `size` bytes is added to it: requests hold
/// at most [`IMPORT_REVISIONS`] revisions and [`IMPORT_BYTES`] of text (a
/// larger revision goes alone).
pub fn send_before(count: usize, bytes: u64, size: u64) -> bool {
    count > 0 && (count == IMPORT_REVISIONS || bytes + size > IMPORT_BYTES)
}

/// Revisions of these text sizes cut into import requests ([`send_before`]):
/// the range of each.
pub fn import_chunks(sizes: &[u64]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, size) in sizes.iter().enumerate() {
        if send_before(i - start, bytes, *size) {
            out.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < sizes.len() {
        out.push(start..sizes.len());
    }
    out
}

fn clip(s: &str) -> String {
    match s.char_indices().nth(SUMMARY_CHARS - 1) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests;
