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
        s.conn()
            .execute_batch("DROP TABLE wiki_search; DROP TABLE wiki_render; DROP INDEX wiki_page_by_title; DROP TABLE record_search; PRAGMA user_version = 19;")
            .unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(titles(&s.search_pages("ancient", None, 10, 0).unwrap()), ["Old"]);
}

#[test]
fn a_record_is_found_by_its_current_version_and_no_more_once_deleted_or_vanished() {
    use crate::runs::{PageCommit, Position, RecordIn, RunPlan};
    use crate::store::SourceKey;
    let mut s = Store::open_in_memory().unwrap();
    let key = SourceKey { base_url: "http://repo.example/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
    let source = s.source(&key, 0).unwrap();
    let text =
        |title: &str, creator: &str| RecordText { title: title.into(), creator: creator.into(), subject: "Hydrology".into(), description: String::new() };
    let commit = |s: &mut Store, records: &[(&str, i64, Option<&RecordText>)]| {
        let run = s.start_run(source.id, &RunPlan::default(), &Position::default(), 1).unwrap();
        let stamps: Vec<String> = records.iter().map(|r| format!("2026-01-0{}", r.1)).collect();
        let records = records
            .iter()
            .enumerate()
            .map(|(i, (id, unix, t))| RecordIn {
                identifier: id,
                datestamp: &stamps[i],
                datestamp_unix: *unix,
                deleted: t.is_none(),
                sets: &[],
                metadata: t.map(|_| b"<dc/>".as_slice()),
                about: None,
                text: *t,
            })
            .collect();
        s.commit_page(run.id, &PageCommit::of_records(records, 1)).unwrap();
        run.id
    };
    let found = |s: &Store, words: &str| s.search_records(words, None, 10, 0).unwrap().into_iter().map(|h| h.identifier).collect::<Vec<_>>();
    let (v1, v2, other) = (text("Water and ice", "Müller, Anna"), text("Water, ice and steam", "Müller, Anna"), text("Salt", "Okafor, Chidi"));
    commit(&mut s, &[("oai:a", 2, Some(&v1)), ("oai:b", 2, Some(&other))]);
    assert_eq!(found(&s, "muller"), ["oai:a"], "by the creator's name, accents folded");
    let hit = &s.search_records("okafor", None, 10, 0).unwrap()[0];
    assert_eq!((hit.title.as_deref(), hit.base_url.as_str()), (Some("Salt"), "http://repo.example/oai"));
    // A newer version replaces the entry; an older one seen later does not.
    commit(&mut s, &[("oai:a", 3, Some(&v2))]);
    assert_eq!(found(&s, "steam"), ["oai:a"]);
    commit(&mut s, &[("oai:a", 1, Some(&v1))]);
    assert_eq!(found(&s, "steam"), ["oai:a"], "an older version seen again leaves the newer one's entry");
    // Deleted: not found.
    commit(&mut s, &[("oai:a", 4, None)]);
    assert!(found(&s, "muller").is_empty());
    // Vanished from a complete harvest of the whole range: not found.
    let run = commit(&mut s, &[("oai:c", 5, Some(&v1))]);
    assert_eq!(found(&s, "muller"), ["oai:c"]);
    s.finish_run(run, None, 9, true).unwrap();
    assert_eq!(found(&s, "okafor"), Vec::<String>::new(), "oai:b was not seen by the last complete run");
    assert_eq!(found(&s, "muller"), ["oai:c"]);
    // A forgotten source's records are found no more.
    s.forget_source(source.id, 10).unwrap();
    assert!(found(&s, "muller").is_empty());
}

#[test]
fn a_snippet_is_cut_around_the_first_match_with_every_match_marked() {
    let (s, e) = (MARK_START, MARK_END);
    let words = ["water".to_string(), "cafe".to_string()];
    let text = format!("{} Boiling Water, then a Café; water again.", "word ".repeat(30));
    assert_eq!(
        snippet(&text, &words),
        format!("…word word word word word word word word word word word Boiling {s}Water{e}, then a {s}Café{e}; {s}water{e} again.")
    );
    assert_eq!(snippet("nothing here", &words), "nothing here", "the start, without a match");
    assert_eq!(snippet("", &words), "");
    assert_eq!(snippet("[[Water]] is wet", &words), format!("[[{s}Water{e}]] is wet"));
}
