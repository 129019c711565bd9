use super::*;
use crate::wiki::{PageOp, PageRow};

fn rev(revid: u64, text: &str) -> RevisionRow {
    RevisionRow {
        revid,
        parentid: revid.saturating_sub(1),
        timestamp: format!("2026-01-01T00:00:{:02}Z", revid % 60),
        user: "Ann".into(),
        comment: String::new(),
        sha1: String::new(),
        text: text.into(),
        minor: false,
        user_id: None,
    }
}

fn upsert(pageid: u64, title: &str, revisions: &[RevisionRow]) -> PageOp {
    let rev_id = revisions.last().map_or(0, |r| r.revid);
    PageOp::Upsert { page: PageRow { pageid, ns: 0, title: title.into(), redirect: None, displaced: false, rev_id }, revisions: revisions.to_vec() }
}

/// (page id, title now, deleted now, (title, deleted) then).
type Change = (u64, String, bool, Option<(String, bool)>);

fn changed(store: &Store, after: i64) -> Vec<Change> {
    let mut out = Vec::new();
    store
        .for_each_changed_page::<Error>("w", after, |c| {
            out.push((c.now.pageid, c.now.title, c.now.deleted, c.before.map(|b| (b.title, b.deleted))));
            Ok(())
        })
        .unwrap();
    out
}

#[test]
fn changes_since_a_sequence_say_what_each_page_was_then() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[upsert(1, "A", &[rev(1, "a")]), upsert(2, "B", &[rev(2, "b")]), upsert(3, "C", &[rev(3, "c")])], None, 10).unwrap();
    let first = s.last_stored_seq().unwrap();
    assert_eq!(changed(&s, 0).len(), 3, "every page for a full package");
    assert!(changed(&s, first).is_empty());

    // A moved (two phases, as plans do), B deleted, C edited twice, D new.
    let moved = [PageOp::Rename { pageid: 1, title: "\u{1}placeholder<1>".into() }, upsert(1, "A2", &[rev(4, "a")])];
    s.apply_wiki_batch("w", &moved, None, 11).unwrap();
    s.apply_wiki_batch("w", &[PageOp::Delete { pageid: 2 }, upsert(3, "C", &[rev(5, "c2")]), upsert(4, "D", &[rev(6, "d")])], None, 12).unwrap();
    s.apply_wiki_batch("w", &[upsert(3, "C", &[rev(7, "c3")])], None, 13).unwrap();
    let got = changed(&s, first);
    assert_eq!(
        got,
        [
            (1, "A2".into(), false, Some(("A".into(), false))),
            (2, "B".into(), true, Some(("B".into(), false))),
            (3, "C".into(), false, Some(("C".into(), false))),
            (4, "D".into(), false, None),
        ]
    );
    // Revisions stored after the first package, and all of them.
    let texts = |after| s.wiki_revisions_stored_after("w", 3, after).unwrap().into_iter().map(|r| r.text).collect::<Vec<_>>();
    assert_eq!(texts(Some(first)), ["c2", "c3"]);
    assert_eq!(texts(None), ["c", "c2", "c3"]);

    // An undeletion: deleted at `second`, live again after it.
    let second = s.last_stored_seq().unwrap();
    s.apply_wiki_batch("w", &[upsert(2, "B", &[rev(2, "b")])], None, 14).unwrap();
    assert_eq!(changed(&s, second), [(2, "B".into(), false, Some(("B".into(), true)))]);
}

#[test]
fn a_write_dropped_unfinished_changes_nothing_and_import_state_commits_with_it() {
    let mut s = Store::open_in_memory().unwrap();
    {
        let mut w = s.begin_wiki_write("w", 10).unwrap();
        w.apply(&[upsert(1, "A", &[rev(1, "a")])]).unwrap();
        assert_eq!(w.live_page_ids().unwrap(), [1], "the write sees its own pages");
        w.record_package_import(&ImportState { stream: "s".into(), origin: "hq".into(), sequence: 1, end_seq: 9, acked: Some((2, 7)) }, 10).unwrap();
    }
    assert!(!s.has_wiki("w").unwrap());
    assert_eq!(s.package_import_state("w").unwrap(), None);
    assert_eq!(s.last_stored_seq().unwrap(), 0, "the store clock did not move either");

    let mut w = s.begin_wiki_write("w", 10).unwrap();
    w.apply(&[upsert(1, "A", &[rev(1, "a")])]).unwrap();
    let state = ImportState { stream: "s".into(), origin: "hq".into(), sequence: 1, end_seq: 9, acked: Some((2, 7)) };
    w.record_package_import(&state, 10).unwrap();
    w.finish(None).unwrap();
    assert_eq!(s.package_import_state("w").unwrap(), Some(state));
    assert_eq!(s.wiki_pages("w").unwrap().len(), 1);
}

#[test]
fn an_export_stream_keeps_its_name_and_its_highest_sequence() {
    let mut s = Store::open_in_memory().unwrap();
    assert_eq!(s.package_export_stream("w").unwrap(), None);
    s.record_package_export("w", "abc", 1, 10).unwrap();
    s.record_package_export("w", "other", 3, 30).unwrap();
    s.record_package_export("w", "other", 2, 20).unwrap();
    assert_eq!(s.package_export_stream("w").unwrap(), Some(ExportStream { stream: "abc".into(), last_sequence: 3, last_end_seq: 30 }));
}

#[test]
fn a_page_claiming_another_pages_revision_is_refused_and_a_restored_one_moves() {
    let mut store = Store::open_in_memory().unwrap();
    let mine = RevisionRow { sha1: "aa".into(), ..rev(7, "mine") };
    store.apply_wiki_batch("w", &[upsert(1, "Mine", std::slice::from_ref(&mine))], None, 0).unwrap();
    // Another text under the same revision id: refused whole.
    let forged = RevisionRow { sha1: "bb".into(), ..rev(7, "forged") };
    let e = store.apply_wiki_batch("w", &[upsert(3, "Other", &[rev(6, "x")]), upsert(2, "Thief", &[forged])], None, 0).unwrap_err();
    assert!(matches!(e, Error::RevisionOfAnotherPage { revid: 7, page: 2, owner: 1, .. }), "{e}");
    assert!(store.wiki_page_by_title("w", "Other").unwrap().is_none(), "nothing of the batch stored");
    assert_eq!(store.wiki_revision("w", 7).unwrap().unwrap().text, "mine");
    // The same revision, claimed while its page still shows it: refused too.
    assert!(store.apply_wiki_batch("w", &[upsert(2, "Thief", std::slice::from_ref(&mine))], None, 0).is_err());
    // Deleted, then restored into a page recreated on the title: it moves.
    store.apply_wiki_batch("w", &[PageOp::Delete { pageid: 1 }], None, 0).unwrap();
    store.apply_wiki_batch("w", &[upsert(4, "Mine", &[mine.clone(), rev(9, "new")])], None, 0).unwrap();
    assert_eq!(store.wiki_revisions("w", 4).unwrap().iter().map(|r| r.revid).collect::<Vec<_>>(), [7, 9]);
    assert!(store.wiki_revisions("w", 1).unwrap().is_empty());
}
