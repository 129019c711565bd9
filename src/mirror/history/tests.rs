use super::*;

fn rev(revid: u64, at: &str, text: Option<&str>) -> Revision {
    Revision {
        revid,
        parentid: 0,
        timestamp: at.into(),
        user: "Ann".into(),
        comment: "c".into(),
        sha1: String::new(),
        text: text.map(str::to_string),
        minor: false,
        user_id: Some(3),
    }
}

fn gap(through: Option<(&str, u64)>) -> HistoryGap {
    HistoryGap { pageid: 1, title: "A".into(), rev_id: 9, through: through.map(|(t, r)| (t.to_string(), r)) }
}

#[test]
fn a_chunk_with_more_after_it_moves_the_page_to_its_last_revision() {
    let s = step(&gap(None), &[rev(1, "2026-01-01T00:00:01Z", Some("a")), rev(4, "2026-01-01T00:00:02Z", Some("b"))], true);
    assert_eq!(s.through, ("2026-01-01T00:00:02Z".into(), 4));
    assert!(!s.complete);
    assert_eq!(s.rows.len(), 2);
    assert_eq!(s.rows[1].sha1, crate::util::sha1_hex("b"), "the hash of the text stored");
}

#[test]
fn the_last_chunk_completes_the_page_at_its_current_revision() {
    // The current revision shares its second with one of a higher id.
    let s = step(&gap(Some(("2026-01-01T00:00:02Z", 4))), &[rev(4, "2026-01-01T00:00:02Z", Some("b")), rev(9, "2026-01-01T00:00:03Z", Some("c"))], false);
    assert_eq!(s.through, ("2026-01-01T00:00:03Z".into(), 9));
    assert!(s.complete);
    let empty = step(&gap(Some(("2026-01-01T00:00:02Z", 4))), &[], false);
    assert_eq!(empty.through, ("2026-01-01T00:00:02Z".into(), 9), "nothing new: complete where it was");
}

#[test]
fn revisions_whose_text_is_hidden_are_counted_not_stored() {
    let s = step(&gap(None), &[rev(1, "2026-01-01T00:00:01Z", None), rev(2, "2026-01-01T00:00:02Z", Some("b"))], true);
    assert_eq!((s.rows.len(), s.hidden), (1, 1));
    assert_eq!(s.through.1, 2, "a hidden revision is passed, not read again");
}
