use super::*;

const BASE: &str = "= A =\none\n\n= B =\ntwo\n";

fn base() -> Base {
    Base { title: "Page".into(), text: BASE.into(), wiki_rev: 10, with_rev: 20, held: false }
}

fn at(title: &str, rev: u64, text: &str) -> State {
    State::Present { title: title.into(), rev, text: text.into(), user: format!("user{rev}") }
}

fn decide_kb(wiki: &State, with: &State) -> Action {
    decide(&base(), wiki, with, ConflictPolicy::KeepBoth, Target::Wiki)
}

#[test]
fn unchanged_sides_do_nothing_and_our_own_writes_are_not_edits() {
    assert_eq!(decide_kb(&at("Page", 10, BASE), &at("Page", 20, BASE)), Action::Nothing);
}

#[test]
fn one_sided_edits_fast_forward_the_other_side() {
    let edited = BASE.replace("one", "ONE");
    assert_eq!(
        decide_kb(&at("Page", 11, &edited), &at("Page", 20, BASE)),
        Action::Write { pushes: vec![Push { target: Target::With, text: edited.clone(), base_rev: 20 }], agreed: edited.clone(), conflict: None }
    );
    assert_eq!(
        decide_kb(&at("Page", 10, BASE), &at("Page", 21, &edited)),
        Action::Write { pushes: vec![Push { target: Target::Wiki, text: edited.clone(), base_rev: 10 }], agreed: edited, conflict: None }
    );
}

#[test]
fn edits_on_both_sides_in_different_sections_merge_into_both() {
    let (w, y) = (BASE.replace("one", "ONE"), BASE.replace("two", "TWO"));
    let merged = BASE.replace("one", "ONE").replace("two", "TWO");
    assert_eq!(
        decide_kb(&at("Page", 11, &w), &at("Page", 21, &y)),
        Action::Write {
            pushes: vec![Push { target: Target::Wiki, text: merged.clone(), base_rev: 11 }, Push { target: Target::With, text: merged.clone(), base_rev: 21 }],
            agreed: merged,
            conflict: None
        }
    );
}

#[test]
fn a_conflict_under_keep_both_takes_the_preferred_side_and_keeps_the_other() {
    let (w, y) = (BASE.replace("two", "two (wiki)"), BASE.replace("two", "two (with)"));
    let Action::Write { pushes, agreed, conflict: Some(note) } = decide_kb(&at("Page", 11, &w), &at("Page", 21, &y)) else { panic!() };
    assert_eq!(agreed, w);
    assert_eq!(pushes, [Push { target: Target::With, text: w.clone(), base_rev: 21 }]);
    assert_eq!((note.wiki_text.as_str(), note.with_text.as_str()), (w.as_str(), y.as_str()), "both texts are kept");
    assert_eq!((note.wiki_user.as_str(), note.with_user.as_str(), note.wiki_rev, note.with_rev), ("user11", "user21", 11, 21));
    // Preferring the other side.
    let Action::Write { agreed, .. } = decide(&base(), &at("Page", 11, &w), &at("Page", 21, &y), ConflictPolicy::KeepBoth, Target::With) else { panic!() };
    assert_eq!(agreed, y);
}

#[test]
fn a_conflict_under_markers_writes_markers_to_both() {
    let (w, y) = (BASE.replace("two", "two (wiki)"), BASE.replace("two", "two (with)"));
    let Action::Write { pushes, agreed, conflict: Some(_) } = decide(&base(), &at("Page", 11, &w), &at("Page", 21, &y), ConflictPolicy::Markers, Target::Wiki)
    else {
        panic!()
    };
    assert!(agreed.contains("<<<<<<< wiki\ntwo (wiki)\n=======\ntwo (with)\n>>>>>>> with\n"), "{agreed}");
    assert_eq!(pushes.len(), 2);
}

#[test]
fn a_move_on_one_side_is_replayed_as_a_move_before_the_edit_is_merged() {
    let edited = BASE.replace("one", "ONE");
    assert_eq!(
        decide_kb(&at("Page moved", 11, BASE), &at("Page", 21, &edited)),
        Action::Move { target: Target::With, from: "Page".into(), to: "Page moved".into() }
    );
    assert_eq!(
        decide_kb(&at("Page", 10, BASE), &at("Page moved", 21, BASE)),
        Action::Move { target: Target::Wiki, from: "Page".into(), to: "Page moved".into() }
    );
    // Once the titles agree, the edit follows the page.
    let b = Base { title: "Page moved".into(), ..base() };
    assert!(matches!(decide(&b, &at("Page moved", 11, BASE), &at("Page moved", 21, &edited), ConflictPolicy::KeepBoth, Target::Wiki), Action::Write { .. }));
}

#[test]
fn deletions_propagate_unless_the_other_side_edited() {
    assert_eq!(decide_kb(&State::Deleted, &at("Page", 20, BASE)), Action::Delete { target: Target::With, title: "Page".into() });
    assert_eq!(decide_kb(&at("Page", 10, BASE), &State::Deleted), Action::Delete { target: Target::Wiki, title: "Page".into() });
    let edited = BASE.replace("one", "ONE");
    assert!(matches!(decide_kb(&State::Deleted, &at("Page", 21, &edited)), Action::Revive { target: Target::Wiki, text, .. } if text == edited));
    assert!(matches!(decide_kb(&at("Page", 11, &edited), &State::Deleted), Action::Revive { target: Target::With, .. }));
    assert_eq!(decide_kb(&State::Deleted, &State::Deleted), Action::Forget);
}

#[test]
fn a_page_created_on_both_sides_merges_against_an_empty_base() {
    let b = Base { title: "New".into(), text: String::new(), wiki_rev: 0, with_rev: 0, held: false };
    let same = decide(&b, &at("New", 5, "x\n"), &at("New", 6, "x\n"), ConflictPolicy::KeepBoth, Target::Wiki);
    assert_eq!(same, Action::Write { pushes: vec![], agreed: "x\n".into(), conflict: None });
    let differ = decide(&b, &at("New", 5, "x\n"), &at("New", 6, "y\n"), ConflictPolicy::KeepBoth, Target::Wiki);
    assert!(matches!(differ, Action::Write { conflict: Some(_), .. }));
}

/// A checkout's revisions are fingerprints of its files' texts; the
/// planner treats them like any revision id.
#[test]
fn a_checkout_file_renamed_and_edited_is_moved_first_then_merged() {
    use crate::sync::checkout::fingerprint;
    let b = Base { title: "Page".into(), text: BASE.into(), wiki_rev: 10, with_rev: fingerprint(BASE), held: false };
    let local = BASE.replace("two", "TWO");
    let wiki_edit = BASE.replace("one", "ONE");
    let renamed = State::Present { title: "Renamed".into(), rev: fingerprint(&local), text: local.clone(), user: "a local edit".into() };
    // The rename goes first, as a move on the wiki; the edits wait for it.
    assert_eq!(
        decide(&b, &at("Page", 11, &wiki_edit), &renamed, ConflictPolicy::KeepBoth, Target::Wiki),
        Action::Move { target: Target::Wiki, from: "Page".into(), to: "Renamed".into() }
    );
    // Once the titles agree, both edits merge.
    let moved = Base { title: "Renamed".into(), ..b.clone() };
    let merged = BASE.replace("one", "ONE").replace("two", "TWO");
    assert!(matches!(
        decide(&moved, &at("Renamed", 12, &wiki_edit), &renamed, ConflictPolicy::KeepBoth, Target::Wiki),
        Action::Write { agreed, conflict: None, .. } if agreed == merged
    ));
    // A file the sync itself wrote (its fingerprint is the base's) is no edit.
    assert_eq!(
        decide(
            &b,
            &at("Page", 10, BASE),
            &State::Present { title: "Page".into(), rev: fingerprint(BASE), text: BASE.into(), user: String::new() },
            ConflictPolicy::KeepBoth,
            Target::Wiki
        ),
        Action::Nothing
    );
    // A deleted file whose page the wiki did not change: delete it there.
    assert_eq!(
        decide(&b, &at("Page", 10, BASE), &State::Deleted, ConflictPolicy::KeepBoth, Target::Wiki),
        Action::Delete { target: Target::Wiki, title: "Page".into() }
    );
}

#[test]
fn a_page_on_one_side_only_never_synced_is_created_on_the_other() {
    let new = Base { title: "New".into(), text: String::new(), wiki_rev: 0, with_rev: 0, held: false };
    let kb = |wiki: &State, with: &State| decide(&new, wiki, with, ConflictPolicy::KeepBoth, Target::Wiki);
    let create = |target: Target, rev: u64| Action::Create { target, title: "New".into(), text: "x\n".into(), source_rev: rev };
    let table = [
        (State::Absent, at("New", 6, "x\n"), create(Target::Wiki, 6)),
        (at("New", 5, "x\n"), State::Absent, create(Target::With, 5)),
        // Gone before it could be copied: nothing to create, nothing to delete.
        (State::Absent, State::Deleted, Action::Nothing),
        (State::Deleted, State::Absent, Action::Nothing),
        (State::Absent, State::Absent, Action::Nothing),
    ];
    for (wiki, with, expected) in table {
        assert_eq!(kb(&wiki, &with), expected, "{wiki:?} / {with:?}");
    }
    // Once synced, a side without a page is a deletion there, as usual.
    assert_eq!(decide_kb(&State::Absent, &at("Page", 20, BASE)), Action::Delete { target: Target::With, title: "Page".into() });
}

#[test]
fn a_held_pair_waits_until_its_markers_are_gone_from_both_sides() {
    let held = Base { held: true, ..base() };
    let marked = "<<<<<<< wiki\none\n=======\nuno\n>>>>>>> with\n";
    let mk = |wiki: &State, with: &State| decide(&held, wiki, with, ConflictPolicy::Markers, Target::Wiki);
    let table = [
        (at("Page", 11, marked), at("Page", 20, BASE), Action::Hold),
        (at("Page", 10, BASE), at("Page", 21, marked), Action::Hold),
        // A marker-like text inside a line is no marker.
        (at("Page", 10, BASE), at("Page", 20, BASE), Action::Nothing),
    ];
    for (wiki, with, expected) in table {
        assert_eq!(mk(&wiki, &with), expected, "{wiki:?} / {with:?}");
    }
    let cleaned = BASE.replace("one", "one, cleaned");
    assert!(matches!(mk(&at("Page", 12, &cleaned), &at("Page", 20, BASE)), Action::Write { agreed, .. } if agreed == cleaned), "markers gone: synced again");
    let inline = BASE.replace("one", "one <<<<<<< not a marker");
    assert!(matches!(mk(&at("Page", 12, &inline), &at("Page", 20, BASE)), Action::Write { .. }));
    // A pair that is not held syncs a text with markers like any other.
    assert!(matches!(decide_kb(&at("Page", 11, marked), &at("Page", 20, BASE)), Action::Write { .. }));
}
