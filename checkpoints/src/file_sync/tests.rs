use super::*;
use crate::sync::Pair;

fn page(pageid: u64, ns: i64, title: &str) -> crate::wiki::PageOp {
    crate::testing::wiki_page(pageid, ns, title, pageid * 10)
}

fn pair(s: &Store, wiki_page: u64, with_page: Option<u64>, title: &str) -> i64 {
    let p = Pair { pair_id: 0, wiki_page: Some(wiki_page), with_page, title: title.into(), base_text: String::new(), wiki_rev: 0, with_rev: 0, held: false };
    s.add_sync_pair("s", &p, 1).unwrap()
}

fn push<'a>(pair_id: i64, sha1: &'a str, conflict: bool) -> NewFilePush<'a> {
    NewFilePush { pair_id, target: SyncSide::With, title: "File:A.png", sha1, size: 3, comment: "c", text: "d", conflict }
}

#[test]
fn only_file_pages_pair_for_files_and_an_upload_moves_the_base_only_once_landed() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("a", &[page(1, 6, "File:A.png"), page(2, 0, "Text")], None, 1).unwrap();
    s.apply_wiki_batch("b", &[page(7, 6, "File:A.png")], None, 1).unwrap();
    let file = pair(&s, 1, Some(7), "File:A.png");
    pair(&s, 2, None, "Text");
    let pairs = s.file_pairs("s", "a", "b").unwrap();
    assert_eq!(pairs, [FilePair { pair_id: file, wiki_page: Some(1), with_page: Some(7), base: None }]);

    let sha = "a".repeat(40);
    assert!(s.queue_file_push("s", &push(file, &sha, false)).unwrap());
    assert!(!s.queue_file_push("s", &push(file, &sha, false)).unwrap(), "queued once");
    let queued = s.file_pushes("s").unwrap();
    assert_eq!((queued.len(), queued[0].sent), (1, false));
    s.file_push_sent(queued[0].push_id).unwrap();
    s.file_push_failed(queued[0].push_id, "HTTP 503", 99).unwrap();
    let again = &s.file_pushes("s").unwrap()[0];
    assert_eq!((again.sent, again.attempts, again.next_try), (false, 1, 99));
    assert_eq!(s.file_pairs("s", "a", "b").unwrap()[0].base, None, "nothing agreed before it is read back");
    s.file_push_landed(again).unwrap();
    assert_eq!(s.file_pairs("s", "a", "b").unwrap()[0].base, Some(sha.clone()));
    assert_eq!(s.file_pushes("s").unwrap().len(), 0);

    // A conflicting version kept aside moves no base.
    let other = "b".repeat(40);
    s.queue_file_push("s", &push(file, &other, true)).unwrap();
    let aside = s.file_pushes("s").unwrap().remove(0);
    s.file_push_landed(&aside).unwrap();
    assert_eq!(s.file_pairs("s", "a", "b").unwrap()[0].base, Some(sha));
}
