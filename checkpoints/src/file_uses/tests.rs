use super::*;
use crate::testing::wiki_page as page;
use crate::wiki::PageOp;

#[test]
fn a_pages_uses_are_read_again_when_it_changes_and_used_titles_the_mirror_lacks_are_listed() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[page(1, 0, "Text", 10), page(2, 6, "File:Kept.png", 20)], None, 1).unwrap();
    let gaps: Vec<u64> = s.use_gaps("w", 0, 10).unwrap().into_iter().map(|g| g.pageid).collect();
    assert_eq!(gaps, [1], "File: pages use no files here");
    s.set_file_uses("w", &[(1, 10, vec!["File:Kept.png".into(), "File:Other.png".into()])]).unwrap();
    assert!(s.use_gaps("w", 0, 10).unwrap().is_empty());
    assert_eq!(s.used_file_titles("w").unwrap().into_iter().collect::<Vec<_>>(), ["File:Kept.png", "File:Other.png"]);
    assert_eq!(s.used_titles_missing("w").unwrap(), ["File:Other.png"]);

    // Edited to use one file only: read again, the old use forgotten.
    s.apply_wiki_batch("w", &[page(1, 0, "Text", 11)], None, 2).unwrap();
    assert_eq!(s.use_gaps("w", 0, 10).unwrap().len(), 1);
    s.set_file_uses("w", &[(1, 11, vec!["File:Kept.png".into()])]).unwrap();
    assert!(s.used_titles_missing("w").unwrap().is_empty());
    // A deleted page uses nothing.
    s.apply_wiki_batch("w", &[PageOp::Delete { pageid: 1 }], None, 3).unwrap();
    assert!(s.used_file_titles("w").unwrap().is_empty());
}
