use super::*;

fn rev(user: &str, at: &str, comment: &str) -> RevisionRow {
    RevisionRow { user: user.into(), timestamp: at.into(), comment: comment.into(), ..Default::default() }
}

#[test]
fn a_replayed_edit_names_its_author_wiki_and_time_then_their_summary() {
    assert_eq!(attributed(&rev("Otheruser", "2026-12-04T10:15:42Z", "fix typo"), "a"), "Otheruser on a, 2026-12-04 10:15: fix typo");
    assert_eq!(attributed(&rev("192.0.2.7", "2026-12-04T10:15:42Z", ""), "a"), "192.0.2.7 on a, 2026-12-04 10:15");
    assert_eq!(attributed(&rev("", "2026-12-04T10:15:42Z", "x"), "a"), "(hidden user) on a, 2026-12-04 10:15: x");
    let long = attributed(&rev("Ann", "2026-12-04T10:15:42Z", &"é".repeat(600)), "a");
    assert_eq!(long.chars().count(), SUMMARY_CHARS, "MediaWiki's limit, cut on a character");
    assert!(long.ends_with('…'));
}

#[test]
fn beyond_the_limit_the_rest_is_one_edit_naming_every_author_once() {
    let revs: Vec<RevisionRow> = (0..MAX_EDITS + 5).map(|i| rev(["Ann", "Bob", "Cy"][i % 3], &format!("2026-12-04T10:{:02}:00Z", i), "")).collect();
    let (each, rest) = split_edits(&revs);
    assert_eq!((each.len(), rest.len()), (MAX_EDITS - 1, 6), "50 edits in all");
    assert_eq!(split_edits(&revs[..MAX_EDITS]).1.len(), 0);
    let s = squashed(rest, "a", "ab");
    assert_eq!(s, "oai-mirror sync (ab): 6 revisions on a, 2026-12-04 10:49 to 2026-12-04 10:54, by Bob, Cy, Ann");
}

#[test]
fn imports_are_cut_by_count_and_by_text_size() {
    assert_eq!(import_chunks(&[1; 120]), [0..50, 50..100, 100..120]);
    let big = IMPORT_BYTES / 2 + 1;
    assert_eq!(import_chunks(&[big, big, 10, IMPORT_BYTES * 3, 5]), [0..1, 1..3, 3..4, 4..5], "a large revision goes alone");
    assert!(import_chunks(&[]).is_empty());
}
