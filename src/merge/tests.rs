use proptest::prelude::*;

use super::*;

const BASE: &str = "= Intro =\nline one\nline two\n\n= Usage =\nline three\nline four\n\n= History =\nline five\n";

fn merged(base: &str, ours: &str, theirs: &str) -> Merged {
    three_way(base, ours, theirs, ("ours", "theirs"))
}

#[test]
fn edits_in_different_sections_merge() {
    let ours = BASE.replace("line one", "line one (ours)");
    let theirs = BASE.replace("line five", "line five (theirs)");
    assert_eq!(merged(BASE, &ours, &theirs), Merged::Clean(BASE.replace("line one", "line one (ours)").replace("line five", "line five (theirs)")));
}

#[test]
fn the_same_line_changed_twice_is_a_conflict_that_keeps_both() {
    let ours = BASE.replace("line three", "line three (ours)");
    let theirs = BASE.replace("line three", "line three (theirs)");
    let Merged::Conflict(c) = merged(BASE, &ours, &theirs) else { panic!("expected a conflict") };
    assert_eq!(c.regions, 1);
    assert_eq!(c.preferring(Side::Ours), ours);
    assert_eq!(c.preferring(Side::Theirs), theirs);
    assert!(c.with_markers.contains("<<<<<<< ours\nline three (ours)\n=======\nline three (theirs)\n>>>>>>> theirs\n"), "{}", c.with_markers);
}

#[test]
fn adjacent_lines_conflict_like_mediawiki() {
    let ours = BASE.replace("line three", "line 3");
    let theirs = BASE.replace("line four", "line 4");
    assert!(matches!(merged(BASE, &ours, &theirs), Merged::Conflict(_)));
}

#[test]
fn identical_changes_and_a_moved_section_with_an_edit_elsewhere() {
    let both = BASE.replace("line two", "line 2");
    assert_eq!(merged(BASE, &both, &both), Merged::Clean(both.clone()));
    // Ours moves History to the top; theirs edits Usage.
    let moved = format!("= History =\nline five\n\n{}", BASE.replace("\n= History =\nline five\n", ""));
    let theirs = BASE.replace("line three", "line three (theirs)");
    match merged(BASE, &moved, &theirs) {
        Merged::Clean(text) => {
            assert!(text.starts_with("= History =\nline five\n"));
            assert!(text.contains("line three (theirs)"));
        }
        Merged::Conflict(c) => panic!("{}", c.with_markers),
    }
}

#[test]
fn a_merge_that_loses_a_line_is_caught() {
    // Hand-made wrong result: one blank line fewer.
    let ours = "a\n\n\n\nb\nX\n";
    let theirs = "Y\na\n\n\n\nb\n";
    let base = "a\n\n\n\nb\n";
    assert!(keeps_all_changes(base, ours, theirs, "Y\na\n\n\n\nb\nX\n"));
    assert!(!keeps_all_changes(base, ours, theirs, "Y\na\n\n\nb\nX\n"));
    assert!(!keeps_all_changes(base, ours, theirs, "a\n\n\n\nb\nX\nZ\n"));
}

fn page() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec("[a-c ]{0,3}", 0..12)
}

fn join(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

proptest! {
    #[test]
    fn merge_laws(b in page(), x in page(), y in page()) {
        let (b, x, y) = (join(&b), join(&x), join(&y));
        prop_assert_eq!(merged(&b, &x, &b), Merged::Clean(x.clone()));
        prop_assert_eq!(merged(&b, &b, &y), Merged::Clean(y.clone()));
        prop_assert_eq!(merged(&b, &x, &x), Merged::Clean(x.clone()));
    }

    /// Edits far apart always merge, and the result holds both.
    #[test]
    fn distant_edits_merge_and_keep_both(lines in prop::collection::vec("[a-z]{1,6}", 8..30), i in 0usize..4, ours in "[A-Z]{1,6}", theirs in "[A-Z]{1,6}") {
        let base = join(&lines);
        let j = lines.len() - 1 - i;
        let mut o = lines.clone();
        o[i] = ours.clone();
        let mut t = lines.clone();
        t[j] = theirs.clone();
        prop_assume!(j > i + 2);
        let mut both = lines.clone();
        both[i] = ours;
        both[j] = theirs;
        prop_assert_eq!(merged(&base, &join(&o), &join(&t)), Merged::Clean(join(&both)));
    }

    /// Whatever the inputs, a clean result keeps every change, and a
    /// conflict keeps each side whole in its preferred rendering when the
    /// other side made no change outside the conflict.
    #[test]
    fn clean_results_always_pass_the_check(b in page(), x in page(), y in page()) {
        let (b, x, y) = (join(&b), join(&x), join(&y));
        if let Merged::Clean(r) = merged(&b, &x, &y) {
            prop_assert!(r == x || r == y || keeps_all_changes(&b, &x, &y, &r));
        }
    }
}
