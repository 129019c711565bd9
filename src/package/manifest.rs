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
mod tests {
    use super::*;

    fn manifest(sequence: u64, follows: Option<(u64, i64)>, end: i64) -> Manifest {
        let part = |name: &str| Part { name: name.into(), bytes: 0, sha256: String::new() };
        Manifest {
            format: FORMAT.into(),
            wiki: "hq".into(),
            site: None,
            stream: "aaaa1111bbbb2222".into(),
            sequence,
            follows: follows.map(|(sequence, end)| Follows { sequence, end }),
            end,
            history: true,
            created: String::new(),
            pages: 0,
            revisions: 0,
            xml: part("pages.xml.gz"),
            delete_first: part("delete-first.txt"),
            moves: vec![],
            deletions: vec![],
            undeletions: vec![],
            sync: None,
            ack: None,
        }
    }

    fn applied(sequence: u64, end: i64) -> Applied {
        Applied { stream: "aaaa1111bbbb2222".into(), origin: "hq".into(), sequence, end }
    }

    #[test]
    fn a_chain_of_packages_applies_in_order_and_each_only_once() {
        let full = manifest(1, None, 100);
        let second = manifest(2, Some((1, 100)), 150);
        let third = manifest(3, Some((2, 150)), 170);
        assert_eq!(admit(&full, "hq", None, false), Ok(Verdict::Apply));
        assert_eq!(admit(&second, "hq", Some(&applied(1, 100)), true), Ok(Verdict::Apply));
        assert_eq!(admit(&second, "hq", Some(&applied(2, 150)), true), Ok(Verdict::AlreadyApplied));
        assert_eq!(admit(&full, "hq", Some(&applied(2, 150)), true), Ok(Verdict::AlreadyApplied), "an older full package");
        assert_eq!(admit(&third, "hq", Some(&applied(2, 150)), true), Ok(Verdict::Apply));
        // A newer full package replaces whatever came before it.
        assert_eq!(admit(&manifest(4, None, 200), "hq", Some(&applied(2, 150)), true), Ok(Verdict::Apply));
    }

    #[test]
    fn a_gap_is_refused_and_says_which_packages_are_missing() {
        let third = manifest(3, Some((2, 150)), 170);
        let e = admit(&third, "hq", Some(&applied(1, 100)), true).unwrap_err();
        assert!(e.contains("continues package 2") && e.contains("last package applied to wiki 'hq' here is 1"), "{e}");
        let e = admit(&third, "hq", None, false).unwrap_err();
        assert!(e.contains("import a full package first"), "{e}");
    }

    #[test]
    fn a_package_made_from_an_older_one_than_the_last_applied_overlaps_harmlessly() {
        // Exported --since package 1 after package 2 had been made: it
        // holds everything package 2 held and more.
        let again = manifest(3, Some((1, 100)), 180);
        assert_eq!(admit(&again, "hq", Some(&applied(2, 150)), true), Ok(Verdict::Apply));
    }

    #[test]
    fn foreign_packages_and_mirrored_wikis_are_refused() {
        let mut other = manifest(1, None, 100);
        other.stream = "cccc3333".into();
        let e = admit(&other, "hq", Some(&applied(1, 100)), true).unwrap_err();
        assert!(e.contains("another stream") && e.contains("--as NAME"), "{e}");
        let e = admit(&manifest(1, None, 100), "hq", None, true).unwrap_err();
        assert!(e.contains("did not come from packages") && e.contains("--as NAME"), "{e}");
    }
}
