use super::*;
use crate::error::Error;
use crate::wiki::{PageOp, PageRow};

fn rev(revid: u64, second: u64, text: &str) -> RevisionRow {
    RevisionRow {
        revid,
        parentid: 0,
        timestamp: format!("2026-01-01T00:00:{second:02}Z"),
        user: "Ann".into(),
        comment: String::new(),
        sha1: format!("sha{revid}"),
        text: text.into(),
        minor: false,
        user_id: Some(7),
    }
}

fn upsert(pageid: u64, title: &str, current: RevisionRow) -> PageOp {
    PageOp::Upsert { page: PageRow { pageid, ns: 0, title: title.into(), redirect: None, displaced: false, rev_id: current.revid }, revisions: vec![current] }
}

#[test]
fn a_page_is_a_gap_until_its_history_reaches_its_current_revision_and_again_once_it_changes() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[upsert(1, "A", rev(30, 30, "a3")), upsert(2, "B", rev(31, 31, "b"))], None, 10).unwrap();
    s.apply_wiki_batch("w", &[PageOp::Delete { pageid: 2 }], None, 11).unwrap();
    let gaps = s.history_gaps("w", 0, 10).unwrap();
    assert_eq!(gaps, [HistoryGap { pageid: 1, title: "A".into(), rev_id: 30, through: None }], "deleted pages are not read");

    // Two chunks, the second reaching the current revision.
    s.add_history("w", 1, "A", &[rev(10, 1, "a1")], ("2026-01-01T00:00:01Z", 10), 12).unwrap();
    assert_eq!(s.history_gaps("w", 0, 10).unwrap()[0].through, Some(("2026-01-01T00:00:01Z".into(), 10)));
    let added = s.add_history("w", 1, "A", &[rev(20, 2, "a2"), rev(30, 30, "a3")], ("2026-01-01T00:00:30Z", 30), 13).unwrap();
    assert_eq!(added, 1, "the current revision was there");
    assert!(s.history_gaps("w", 0, 10).unwrap().is_empty());
    let texts: Vec<String> = s.wiki_revisions("w", 1).unwrap().into_iter().map(|r| r.text).collect();
    assert_eq!(texts, ["a1", "a2", "a3"], "the current revision stored once");
    assert_eq!(s.wiki_page_by_title("w", "A").unwrap().unwrap().rev_id, Some(30), "the current revision stays");

    // An edit makes it a gap again, from where it was.
    s.apply_wiki_batch("w", &[upsert(1, "A", rev(50, 50, "a5"))], None, 14).unwrap();
    assert_eq!(s.history_gaps("w", 0, 10).unwrap()[0].through, Some(("2026-01-01T00:00:30Z".into(), 30)));
    assert!(s.history_gaps("w", 1, 10).unwrap().is_empty(), "after a page id");
}

#[test]
fn history_added_is_logged_so_that_the_next_package_carries_it() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[upsert(1, "A", rev(30, 30, "a3"))], None, 10).unwrap();
    let before = s.last_stored_seq().unwrap();
    s.add_history("w", 1, "A", &[rev(10, 1, "a1")], ("2026-01-01T00:00:01Z", 10), 12).unwrap();
    let mut changed = Vec::new();
    s.for_each_changed_page::<Error>("w", before, |c| {
        changed.push(c.now.pageid);
        Ok(())
    })
    .unwrap();
    assert_eq!(changed, [1]);
}

#[test]
fn a_revision_of_another_page_is_refused_and_nothing_of_the_chunk_is_kept() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[upsert(1, "A", rev(30, 30, "a")), upsert(2, "B", rev(31, 31, "b"))], None, 10).unwrap();
    let err = s.add_history("w", 1, "A", &[rev(5, 1, "a0"), rev(31, 31, "not b")], ("2026-01-01T00:00:31Z", 31), 12).unwrap_err();
    assert!(matches!(err, Error::RevisionOfAnotherPage { revid: 31, .. }), "{err}");
    assert!(s.wiki_revision("w", 5).unwrap().is_none());
    assert_eq!(s.history_through("w", 1).unwrap(), None);
}

#[test]
fn revisions_between_two_are_listed_in_the_wikis_order_without_text() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[upsert(1, "A", rev(50, 50, "a5"))], None, 10).unwrap();
    // Revision 40 was imported: a higher id than 20, an earlier time.
    s.add_history("w", 1, "A", &[rev(10, 1, "a1"), rev(40, 2, "a4"), rev(20, 3, "a2")], ("2026-01-01T00:00:50Z", 50), 12).unwrap();
    let ids = |after, through| s.revisions_between("w", 1, after, through, 10).unwrap().map(|v| v.iter().map(|r| r.revid).collect::<Vec<_>>());
    assert_eq!(ids(Some(10), 50), Some(vec![40, 20, 50]));
    assert_eq!(ids(None, 20), Some(vec![10, 40, 20]));
    assert_eq!(ids(Some(99), 50), None, "an end the store lacks");
    assert!(s.revisions_between("w", 1, None, 50, 10).unwrap().unwrap().iter().all(|r| r.text.is_empty()));
    assert_eq!(s.revisions_between("w", 1, None, 50, 2).unwrap().unwrap().len(), 2);
}

#[test]
fn a_history_started_here_reads_no_past_but_what_comes_after_and_new_pages_whole() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[upsert(1, "A", rev(30, 30, "a3"))], None, 10).unwrap();
    assert_eq!(s.start_history_here("w", 10).unwrap(), 1);
    assert!(s.history_gaps("w", 0, 10).unwrap().is_empty(), "the past is not read");
    s.apply_wiki_batch("w", &[upsert(1, "A", rev(50, 50, "a5")), upsert(2, "B", rev(51, 51, "b"))], None, 11).unwrap();
    assert_eq!(s.start_history_here("w", 11).unwrap(), 0, "once for a wiki");
    let gaps = s.history_gaps("w", 0, 10).unwrap();
    assert_eq!(gaps[0].through, Some(("2026-01-01T00:00:30Z".into(), 30)), "read on from where it started");
    assert_eq!(gaps[1].through, None, "a page new since is read whole");
    // A page read again whole (it took imported revisions) stays so.
    s.forget_history("w", &[1]).unwrap();
    assert_eq!(s.start_history_here("w", 12).unwrap(), 0);
    assert_eq!(s.history_gaps("w", 0, 10).unwrap()[0].through, None);
}
