//! A package's manifest: what MediaWiki's XML cannot say (moves,
//! deletions, which stream and which changes it holds, checksums), and the
//! rule that decides whether a store may apply a package. Pure.

use serde::{Deserialize, Serialize};

/// Written as the manifest's `format`; a reader refuses any other.
pub const FORMAT: &str = "oai-mirror package 1";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// The exporting store's name of the wiki.
    pub wiki: String,
    /// The wiki's API, where the exporter's config names it.
    pub site: Option<String>,
    /// The exporter's stream of packages of this wiki: made at random by
    /// its first export, the same for every later one.
    pub stream: String,
    /// 1, 2, … within the stream.
    pub sequence: u64,
    /// The package this one continues (`None`: a full package).
    pub follows: Option<Follows>,
    /// The exporter's store sequence the package reaches: it holds every
    /// change after `follows.end` (after 0 for a full package) up to this.
    pub end: i64,
    /// Every revision stored, or only the current one of each page.
    pub history: bool,
    /// When it was written (RFC 3339).
    pub created: String,
    pub pages: u64,
    pub revisions: u64,
    /// The XML, gzip-compressed: what importDump.php reads.
    pub xml: Part,
    /// The titles to delete on a wiki that imports with importDump.php
    /// before importing (deleteBatch.php's list): moved and deleted pages.
    pub delete_first: Part,
    pub moves: Vec<Moved>,
    pub deletions: Vec<Removed>,
    pub undeletions: Vec<Removed>,
    /// The `[sync.NAME]` that wrote it (both sites name their sync alike);
    /// `None` for a package written by `export`.
    pub sync: Option<String>,
    /// In a sync by packages: the last package of the other site's that
    /// the writer had applied when it wrote this one.
    pub ack: Option<Ack>,
    /// The files of its File: pages, with `export --files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<FilesPart>,
}

/// What a package holds of files (`export --files`; see `package::files`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesPart {
    pub list: Part,
    /// File versions listed.
    pub versions: u64,
    /// Contents held (each once), and their bytes.
    pub contents: u64,
    pub bytes: u64,
}

/// "I have applied your package `sequence` of `stream`, which reached your
/// store sequence `end`": what the other site's next package starts after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    pub stream: String,
    pub sequence: u64,
    pub end: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Follows {
    pub sequence: u64,
    pub end: i64,
}

/// A file in the package, with its length and SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Part {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moved {
    pub page: u64,
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Removed {
    pub page: u64,
    pub title: String,
}

/// What a store that imported packages of a wiki last applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub stream: String,
    pub origin: String,
    pub sequence: u64,
    pub end: i64,
}

/// What to do with a package that is whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Apply,
    /// Everything it holds is here already: nothing to do.
    AlreadyApplied,
}

/// Whether package `m` may be applied to local wiki `local`, which holds
/// pages (`holds_pages`) and last applied `applied`. `Err` says why not
/// and what to do instead.
pub fn admit(m: &Manifest, local: &str, applied: Option<&Applied>, holds_pages: bool) -> Result<Verdict, String> {
    let what = describe(m);
    if let Some(f) = m.follows
        && m.end < f.end
    {
        return Err(format!("{what} says it reaches store sequence {} but follows a package that reached {}: a damaged or forged manifest", m.end, f.end));
    }
    let Some(applied) = applied else {
        if holds_pages {
            return Err(format!(
                "{what} cannot go into wiki '{local}' here: it holds pages that did not come from packages (mirrored over HTTP); \
                 import it under another name with --as NAME"
            ));
        }
        return match m.follows {
            None => Ok(Verdict::Apply),
            Some(f) => Err(format!(
                "{what} continues package {}, but wiki '{local}' here has no package of it yet: import a full package first \
                 (`oai-mirror export {} --full` where it was written)",
                f.sequence, m.wiki
            )),
        };
    };
    if applied.stream != m.stream {
        return Err(format!(
            "{what} is from another stream than wiki '{local}' here, which holds packages of '{}' (stream {}): \
             a package from another wiki or another exporting store; import it under another name with --as NAME",
            applied.origin,
            short(&applied.stream)
        ));
    }
    if m.end <= applied.end {
        return Ok(Verdict::AlreadyApplied);
    }
    match m.follows {
        Some(f) if f.end > applied.end => Err(format!(
            "{what} continues package {}, but the last package applied to wiki '{local}' here is {}: \
             import the packages after {} first (or a full package)",
            f.sequence, applied.sequence, applied.sequence
        )),
        _ => Ok(Verdict::Apply),
    }
}

/// "package 3 of wiki 'hq' (stream 1a2b3c4d)".
pub fn describe(m: &Manifest) -> String {
    format!("package {} of wiki '{}' (stream {})", m.sequence, m.wiki, short(&m.stream))
}

fn short(stream: &str) -> &str {
    stream.get(..8).unwrap_or(stream)
}

#[cfg(test)]
mod tests;
