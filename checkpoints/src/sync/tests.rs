use super::*;

fn pair(title: &str, base: &str) -> Pair {
    Pair { pair_id: 0, wiki_page: Some(1), with_page: Some(11), title: title.into(), base_text: base.into(), wiki_rev: 3, with_rev: 4, held: false }
}

#[test]
fn a_run_reads_pairs_without_their_bases_and_writes_back_only_what_it_changed() {
    let store = Store::open_in_memory().unwrap();
    let big = "base text ".repeat(100_000);
    let id = store.add_sync_pair("ab", &pair("Water", &big), 0).unwrap();
    store.add_sync_pair("ab", &Pair { wiki_page: Some(5), with_page: Some(15), ..pair("Fire", "small") }, 0).unwrap();
    let light = store.sync_pairs_without_base("ab").unwrap();
    assert_eq!(light.len(), 2);
    assert!(light.iter().all(|p| p.base_text.is_empty()), "no base read");
    assert_eq!(store.sync_base(id).unwrap(), big, "read alone when a decision needs it");
    // A page paired anew: its ids move, its base stays.
    store.set_sync_pages(id, Some(2), Some(12), 1).unwrap();
    let now = store.sync_pair(id).unwrap().unwrap();
    assert_eq!((now.wiki_page, now.with_page, now.base_text.len(), now.wiki_rev), (Some(2), Some(12), big.len(), 3));
    // Settling sets the base alone: a run's revisions stay.
    store.set_sync_base(id, "settled", 2).unwrap();
    let now = store.sync_pair(id).unwrap().unwrap();
    assert_eq!((now.base_text.as_str(), now.wiki_rev, now.with_rev, now.held), ("settled", 3, 4, false));
    assert_eq!(store.sync_pair_at("ab", 2, 3).unwrap().map(|p| p.pair_id), Some(id));
    assert_eq!(store.sync_backlog("ab").unwrap(), (0, 0));
}
