use super::*;

#[test]
fn globs_and_selections() {
    assert!(glob("Rnd *", "Rnd 12 x"));
    assert!(glob("a?c*", "abcdef"));
    assert!(!glob("a?c", "abcd"));
    let s = Selection {
        namespaces: vec![0, 1],
        exclude_namespaces: vec![1],
        prefixes: vec!["Keep ".into()],
        patterns: vec!["*draft*".into()],
        ..Selection::default()
    };
    assert!(s.includes(0, "Keep me"));
    assert!(s.includes(0, "A draft page"));
    assert!(!s.includes(0, "Other"));
    assert!(!s.includes(1, "Keep talk"));
    assert!(!s.includes(2, "Keep user"));
    assert!(Selection::default().includes(14, "Category:Anything"));
    // A used file's page, outside the rules, is in.
    let used = Selection { also: ["File:Used.png".to_string()].into(), ..s };
    assert!(used.includes(6, "File:Used.png") && used.may_include("File:Used.png"));
    assert!(!used.includes(6, "File:Other.png"));
}

#[test]
fn redirect_targets_and_identifiers() {
    assert_eq!(redirect_target("#REDIRECT [[Delta moved]]").as_deref(), Some("Delta moved"));
    assert_eq!(redirect_target("#redirect [[A#Section|label]]\n").as_deref(), Some("A"));
    assert_eq!(redirect_target("no link"), None);
    assert_eq!(page_id_of("oai:127.0.0.1:wiki:42"), Some(42));
    assert_eq!(page_id_of("oai:127.0.0.1:wiki:x"), None);
}

#[test]
fn a_row_that_shows_up_late_with_a_smaller_rcid_is_not_taken_as_handled() {
    // The last pull started at 12:00:00 and read rcids 7 (11:57:30,
    // before the next window), 10 and 12. Rcid 11, a slower edit, was
    // not visible then.
    let read = [(7, "2026-11-22T11:57:30Z"), (10, "2026-11-22T11:59:00Z"), (12, "2026-11-22T11:59:50Z")];
    let checkpoint = ApiCheckpoint::after("2026-11-22T12:00:00Z", read);
    assert_eq!(checkpoint.to_string(), "2026-11-22T12:00:00Z|seen:10,12", "only what the next pull reads again");
    let back = ApiCheckpoint::parse(&checkpoint.to_string());
    assert_eq!(back, checkpoint);
    assert!(back.was_handled(10) && back.was_handled(12));
    assert!(!back.was_handled(11), "the late row is handled when it shows up");
    assert!(!back.was_handled(13));
    let empty = ApiCheckpoint::after("2026-11-22T12:00:00Z", []);
    assert_eq!(ApiCheckpoint::parse(&empty.to_string()), empty);
}

#[test]
fn checkpoints_written_before_are_read_as_they_were_meant() {
    let old = ApiCheckpoint::parse("2026-11-22T12:00:00Z|12");
    assert_eq!(old.start, "2026-11-22T12:00:00Z");
    // As the old format meant it, wrong as it was: rcid 11, shown late,
    // counts as handled. The next pull writes the new form.
    assert!(old.was_handled(11) && old.was_handled(12) && !old.was_handled(13));
    assert!(!ApiCheckpoint::parse("2026-11-22T12:00:00Z").was_handled(1), "no rcid: nothing handled");
}

#[test]
fn each_api_pull_reads_the_last_two_minutes_again() {
    assert_eq!(overlapped("2026-11-22T15:03:26Z"), "2026-11-22T15:01:26Z");
    assert_eq!(overlapped("2026-01-01T00:01:00Z"), "2025-12-31T23:59:00Z");
    assert_eq!(overlapped("garbage"), "garbage", "left for the wiki to refuse, with its error");
}
