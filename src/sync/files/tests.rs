use super::*;

fn now(sha: char, stored: bool) -> FileNow {
    FileNow { sha1: sha.to_string().repeat(40), size: 3, timestamp: "2026-12-04T10:15:00Z".into(), user: "Ann".into(), comment: "new logo".into(), stored }
}

fn sha(c: char) -> String {
    c.to_string().repeat(40)
}

#[test]
fn a_file_changed_on_one_side_goes_to_the_other_and_the_same_file_on_both_is_agreed() {
    let (a, b) = (now('a', true), now('b', true));
    let upload = |from: Target| FileAction::Upload { target: from.other(), from };
    // New on one side.
    assert_eq!(decide(None, Some(&a), None, Target::Wiki), upload(Target::Wiki));
    assert_eq!(decide(None, None, Some(&b), Target::Wiki), upload(Target::With));
    // Changed on one side against the agreed file.
    assert_eq!(decide(Some(&sha('b')), Some(&a), Some(&b), Target::Wiki), upload(Target::Wiki));
    assert_eq!(decide(Some(&sha('a')), Some(&a), Some(&b), Target::Wiki), upload(Target::With));
    // The same on both.
    assert_eq!(decide(None, Some(&a), Some(&a), Target::Wiki), FileAction::Agree(sha('a')));
    assert_eq!(decide(Some(&sha('a')), Some(&a), Some(&a), Target::Wiki), FileAction::Nothing);
    assert_eq!(decide(None, None, None, Target::Wiki), FileAction::Nothing);
    // Gone on one side after they agreed: its page's deletion carries that.
    assert_eq!(decide(Some(&sha('a')), Some(&a), None, Target::Wiki), FileAction::Nothing);
}

#[test]
fn both_changed_is_a_conflict_won_by_the_preferred_side_and_bytes_not_yet_held_wait() {
    let (a, b) = (now('a', true), now('b', true));
    assert_eq!(decide(Some(&sha('c')), Some(&a), Some(&b), Target::With), FileAction::Conflict { winner: Target::With });
    assert_eq!(decide(None, Some(&a), Some(&b), Target::Wiki), FileAction::Conflict { winner: Target::Wiki }, "both new, unlike");
    let waiting = now('a', false);
    assert_eq!(decide(None, Some(&waiting), None, Target::Wiki), FileAction::Wait);
    assert_eq!(decide(Some(&sha('c')), Some(&waiting), Some(&b), Target::Wiki), FileAction::Wait);
}

#[test]
fn a_conflicting_version_is_named_after_its_side_and_time_and_a_carried_one_after_its_author() {
    assert_eq!(conflict_name("Logo.png", "b", "2026-12-04T10:15:00Z"), "Logo (from b, 20261204101500).png");
    assert_eq!(conflict_name("README", "w/x", "2026-12-04T10:15:00Z"), "README (from w-x, 20261204101500)");
    assert_eq!(carried_comment(&now('a', true), "a"), "Ann on a, 2026-12-04 10:15:00: new logo");
}
