use super::*;
use crate::wiki::{PageOp, PageRow, RevisionRow};

/// A page with one revision holding `text`.
fn page(pageid: u64, title: &str, rev_id: u64, text: &str) -> PageOp {
    let mut op = crate::testing::wiki_page(pageid, 0, title, rev_id);
    if let PageOp::Upsert { revisions, .. } = &mut op {
        revisions[0].text = text.into();
    }
    op
}

fn titles(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.title.as_str()).collect()
}

#[test]
fn typed_words_are_quoted_so_nothing_typed_is_read_as_query_syntax() {
    assert_eq!(fts_query("water  cycle", false).as_deref(), Some("\"water\" \"cycle\""));
    assert_eq!(fts_query("wat", true).as_deref(), Some("\"wat\"*"));
    // FTS5's operators and quotes are only separators here.
    assert_eq!(fts_query("a\" OR title:b* NEAR(c)", false).as_deref(), Some("\"a\" \"OR\" \"title\" \"b\" \"NEAR\" \"c\""));
    assert_eq!(fts_query(" \"*:() ", false), None);
    assert_eq!(fts_query("", true), None);
}

#[test]
fn the_index_follows_edits_moves_and_deletions_in_the_transaction_that_stores_them() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[page(1, "Water", 10, "Water is a [[liquid]] at room temperature."), page(2, "Ice", 20, "Frozen water.")], None, 1).unwrap();
    s.apply_wiki_batch("v", &[page(1, "Steam", 10, "Hot water vapour.")], None, 1).unwrap();
    assert_eq!(titles(&s.search_pages("liquid", None, 10, 0).unwrap()), ["Water"]);
    // A word in the title ranks first; the wiki filter keeps to one wiki.
    assert_eq!(titles(&s.search_pages("water", Some("w"), 10, 0).unwrap()), ["Water", "Ice"]);
    assert_eq!(titles(&s.search_pages("water", None, 10, 0).unwrap()).len(), 3);
    let hit = &s.search_pages("liquid", None, 10, 0).unwrap()[0];
    assert!(hit.snippet.contains(&format!("{MARK_START}liquid{MARK_END}")), "{:?}", hit.snippet);

    // Edited: the new word is found, the old one no more.
    s.apply_wiki_batch("w", &[page(1, "Water", 11, "Water is a fluid.")], None, 2).unwrap();
    assert_eq!(titles(&s.search_pages("fluid", None, 10, 0).unwrap()), ["Water"]);
    assert!(s.search_pages("liquid", None, 10, 0).unwrap().is_empty());
    // Moved: found under its new title only.
    s.apply_wiki_batch("w", &[PageOp::Rename { pageid: 2, title: "Frozen water".into() }], None, 3).unwrap();
    assert_eq!(titles(&s.search_pages("frozen", Some("w"), 10, 0).unwrap()), ["Frozen water"]);
    // Deleted: gone; brought back: found again.
    s.apply_wiki_batch("w", &[PageOp::Delete { pageid: 1 }], None, 4).unwrap();
    assert!(s.search_pages("fluid", None, 10, 0).unwrap().is_empty());
    assert_eq!(s.search_rows("w").unwrap(), 1);
    s.apply_wiki_batch("w", &[page(1, "Water", 11, "Water is a fluid.")], None, 5).unwrap();
    assert_eq!(titles(&s.search_pages("fluid", None, 10, 0).unwrap()), ["Water"]);
}

#[test]
fn a_page_moved_aside_is_not_found_until_it_has_its_title_back() {
    let mut s = Store::open_in_memory().unwrap();
    s.apply_wiki_batch("w", &[page(1, "Alpha", 10, "first")], None, 1).unwrap();
    s.apply_wiki_batch("w", &[PageOp::Displace { pageid: 1, title: "Alpha (moved aside)".into() }], None, 2).unwrap();
    assert!(s.search_pages("first", None, 10, 0).unwrap().is_empty());
    let back = PageOp::Upsert {
        page: PageRow { pageid: 1, ns: 0, title: "Beta".into(), redirect: None, displaced: false, rev_id: 10 },
        revisions: Vec::<RevisionRow>::new(),
    };
    s.apply_wiki_batch("w", &[back], None, 3).unwrap();
    assert_eq!(titles(&s.search_pages("first", None, 10, 0).unwrap()), ["Beta"]);
}

#[test]
fn titles_are_suggested_by_their_beginning_shortest_first_folding_case_and_accents() {
    let mut s = Store::open_in_memory().unwrap();
    let pages = [page(1, "Water cycle", 10, "x"), page(2, "Water", 20, "x"), page(3, "Café au lait", 30, "x"), page(4, "Hot water", 40, "x")];
    s.apply_wiki_batch("w", &pages, None, 1).unwrap();
    let suggested = |typed: &str| s.suggest_titles(typed, None, 10).unwrap().into_iter().map(|t| t.title).collect::<Vec<_>>();
    assert_eq!(suggested("wat"), ["Water", "Water cycle"], "not [[Hot water]]: its title does not begin so");
    assert_eq!(suggested("water cy"), ["Water cycle"]);
    assert_eq!(suggested("cafe A"), ["Café au lait"]);
    assert!(suggested("\"").is_empty());
}

#[test]
fn pages_stored_before_the_index_existed_are_indexed_by_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let mut s = Store::open(&path).unwrap();
        s.apply_wiki_batch("w", &[page(1, "Old", 10, "ancient words")], None, 1).unwrap();
        // As a store of version 19 was: no index.
        s.conn().execute_batch("DROP TABLE wiki_search; DROP TABLE wiki_render; PRAGMA user_version = 19;").unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(titles(&s.search_pages("ancient", None, 10, 0).unwrap()), ["Old"]);
}
