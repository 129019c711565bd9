//! Three-way merge of page texts. Pure.
//!
//! Built on `similar`'s line merge, with two rules of our own:
//! * the merge laws hold exactly, whatever the diff does with line endings:
//!   `merge(b, x, b) = x`, `merge(b, b, y) = y`, `merge(b, x, x) = x`;
//! * a "clean" merge is checked: every hunk each side made must be in the
//!   result, and the result must have the number of lines both sides' edits
//!   imply. A diff can align runs of identical lines (wikitext is full of
//!   blank lines) so that a change is silently dropped; then the result is
//!   a conflict instead. Unattended sync writes nothing it cannot vouch for.

use similar::{ChangeTag, MergeResolution, TextDiff, TextMerge};

/// Which side of a merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Ours,
    Theirs,
}

/// The outcome of a three-way merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Merged {
    /// Both sides' changes, combined.
    Clean(String),
    /// Changes that overlap (or could not be verified).
    Conflict(Conflict),
}

/// A merge that needs a person, with everything needed to lose nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The clean regions merged, each conflicting region taken from `ours`.
    pub preferring_ours: String,
    /// The same, taking `theirs` in conflicting regions.
    pub preferring_theirs: String,
    /// Git-style markers around each conflicting region.
    pub with_markers: String,
    /// How many conflicting regions (0 when a clean-looking merge failed its check).
    pub regions: usize,
}

impl Conflict {
    pub fn preferring(&self, side: Side) -> &str {
        match side {
            Side::Ours => &self.preferring_ours,
            Side::Theirs => &self.preferring_theirs,
        }
    }
}

/// Merges `ours` and `theirs`, both derived from `base`. `labels` name the
/// sides in conflict markers.
pub fn three_way(base: &str, ours: &str, theirs: &str, labels: (&str, &str)) -> Merged {
    if ours == theirs || theirs == base {
        return Merged::Clean(ours.to_string());
    }
    if ours == base {
        return Merged::Clean(theirs.to_string());
    }
    let mut merge = TextMerge::from_lines(base, ours, theirs);
    merge.labels("base", labels.0, labels.1);
    let pick = |prefer: Side| -> String {
        let mut out = String::new();
        for region in merge.regions() {
            let from_theirs = match region.resolution() {
                MergeResolution::Theirs => true,
                MergeResolution::Conflict => prefer == Side::Theirs,
                _ => false,
            };
            let range = if from_theirs { region.theirs_range() } else { region.ours_range() };
            for i in range {
                let l = if from_theirs { merge.theirs_line(i) } else { merge.ours_line(i) }.unwrap_or_default();
                // A last line without a newline followed by more lines.
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(l);
            }
        }
        out
    };
    let conflict = |regions: usize| {
        Merged::Conflict(Conflict { preferring_ours: pick(Side::Ours), preferring_theirs: pick(Side::Theirs), with_markers: merge.to_string(), regions })
    };
    if merge.is_conflicted() {
        return conflict(merge.conflict_count());
    }
    let result = merge.to_string();
    if keeps_all_changes(base, ours, theirs, &result) { Merged::Clean(result) } else { conflict(0) }
}

/// Whether `text` still holds a conflict's markers as [`three_way`] writes
/// them: a line that opens (`<<<<<<< `) or closes (`>>>>>>> `) a
/// conflicting region. A page saved with markers is held back until a
/// person has removed them.
pub fn has_markers(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("<<<<<<<") || l.starts_with(">>>>>>>"))
}

/// Whether `result` holds every hunk that `ours` and `theirs` made to `base`,
/// and has as many lines as base plus both sides' additions minus removals.
pub fn keeps_all_changes(base: &str, ours: &str, theirs: &str, result: &str) -> bool {
    let lines = |s: &str| s.lines().count() as i64;
    let delta = |side: &str| lines(side) - lines(base);
    if lines(result) != lines(base) + delta(ours) + delta(theirs) {
        return false;
    }
    [ours, theirs].iter().all(|side| inserted_blocks(base, side).iter().all(|block| contains_block(result, block)))
}

/// The runs of lines `side` inserted (or put in place of others) relative to `base`.
fn inserted_blocks(base: &str, side: &str) -> Vec<Vec<String>> {
    let diff = TextDiff::from_lines(base, side);
    let mut blocks = Vec::new();
    let mut current: Vec<String> = Vec::new();
    for change in diff.iter_all_changes() {
        if change.tag() == ChangeTag::Insert {
            current.push(change.value().trim_end_matches(['\r', '\n']).to_string());
        } else if !current.is_empty() {
            blocks.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

fn contains_block(text: &str, block: &[String]) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    block.is_empty() || lines.windows(block.len()).any(|w| w.iter().zip(block).all(|(a, b)| *a == b))
}

#[cfg(test)]
mod tests;
