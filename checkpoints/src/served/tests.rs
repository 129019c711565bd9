use super::*;
use crate::store::SourceKey;
use crate::testing::{Given, commit};

fn key() -> SourceKey {
    SourceKey { base_url: "http://r/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None }
}

/// Stores (identifier, origin datestamp, metadata, sets) at store time `now`.
fn store_at(store: &mut Store, now: i64, records: &[(&str, i64, &str, &[&str])]) -> i64 {
    store_in(store, &key(), now, records)
}

/// [`store_at`], into the source of `key`.
fn store_in(store: &mut Store, key: &SourceKey, now: i64, records: &[(&str, i64, &str, &[&str])]) -> i64 {
    let given: Vec<Given<'_>> = records.iter().map(|r| Given { id: r.0, unix: r.1, metadata: Some(r.2.to_string()), sets: r.3 }).collect();
    commit(store, key, now, &given)
}

fn query(store: &Store, source: i64) -> ServedQuery {
    ServedQuery { sources: vec![source], max_seq: store.last_stored_seq().unwrap(), ..ServedQuery::default() }
}

fn ids(page: &[ServedRecord]) -> Vec<String> {
    page.iter().map(|r| r.record.identifier.clone()).collect()
}

#[test]
fn a_version_moves_in_store_order_only_when_its_content_changes_and_store_time_never_goes_back() {
    let mut store = Store::open_in_memory().unwrap();
    let source = store_at(&mut store, 1000, &[("a", 10, "<m>a</m>", &[]), ("b", 10, "<m>b</m>", &[])]);
    let first = store.served_page(&query(&store, source), 0, 10).unwrap();
    assert_eq!(ids(&first), ["a", "b"]);
    assert!(first.iter().all(|r| r.stored_at == 1000));

    // Seen again unchanged: nothing moves. Changed: it moves to the end,
    // and a clock that went back does not take its store time back.
    store_at(&mut store, 2000, &[("a", 10, "<m>a</m>", &[])]);
    store_at(&mut store, 500, &[("b", 20, "<m>b, second</m>", &[])]);
    let now = store.served_page(&query(&store, source), 0, 10).unwrap();
    assert_eq!(ids(&now), ["a", "b"]);
    assert_eq!((now[0].stored_seq, now[0].stored_at), (first[0].stored_seq, 1000), "unchanged: not new to anyone");
    assert!(now[1].stored_seq > first[1].stored_seq);
    assert_eq!(now[1].stored_at, 2000, "monotonic: the store's time never goes back");
    assert_eq!(now[1].record.metadata.as_deref(), Some(&b"<m>b, second</m>"[..]));
    // An older origin datestamp does not replace a version, nor move it.
    store_at(&mut store, 3000, &[("b", 15, "<m>b, stale</m>", &[])]);
    assert_eq!(store.served_page(&query(&store, source), 0, 10).unwrap()[1].stored_seq, now[1].stored_seq);
}

#[test]
fn a_list_walked_while_the_store_changes_neither_skips_nor_repeats_what_was_unchanged() {
    let mut store = Store::open_in_memory().unwrap();
    let records: Vec<(String, String)> = (0..10).map(|i| (format!("r{i}"), format!("<m>{i}</m>"))).collect();
    let refs: Vec<(&str, i64, &str, &[&str])> = records.iter().map(|(i, m)| (i.as_str(), 1, m.as_str(), &[][..])).collect();
    let source = store_at(&mut store, 100, &refs);
    let q = query(&store, source);
    let mut seen = Vec::new();
    let mut after = 0;
    let mut round = 0;
    loop {
        let page = store.served_page(&q, after, 3).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().unwrap().stored_seq;
        seen.extend(ids(&page));
        // Between pages a harvest changes a record already listed and one
        // not yet listed, and adds a new one.
        round += 1;
        let new = format!("new{round}");
        store_at(&mut store, 200, &[("r0", 2 + round, "<m>changed</m>", &[]), ("r8", 2 + round, "<m>changed</m>", &[]), (&new, 1, "<m>n</m>", &[])]);
    }
    let unchanged: Vec<String> = (1..10).filter(|i| *i != 8).map(|i| format!("r{i}")).collect();
    for id in &unchanged {
        assert_eq!(seen.iter().filter(|s| *s == id).count(), 1, "{id} in {seen:?}");
    }
    assert!(seen.iter().all(|s| !s.starts_with("new")), "versions stored after the list began come to the next harvest: {seen:?}");
    assert_eq!(store.served_count(&q).unwrap(), 8, "the list as it stands now: the unchanged ones, r0 and r8 moved past its end");
}

#[test]
fn sets_take_their_subsets_and_dates_are_the_stores() {
    let mut store = Store::open_in_memory().unwrap();
    let source = store_at(&mut store, 100, &[("a", 1, "<m/>", &["math"]), ("b", 1, "<m/>", &["math:alg", "cs"]), ("c", 1, "<m/>", &["mathx"])]);
    store_at(&mut store, 200, &[("d", 1, "<m/>", &["cs"])]);
    let q = |set: Option<&str>, from: Option<i64>, until: Option<i64>| ServedQuery { set: set.map(str::to_string), from, until, ..query(&store, source) };
    assert_eq!(ids(&store.served_page(&q(Some("math"), None, None), 0, 10).unwrap()), ["a", "b"]);
    assert_eq!(ids(&store.served_page(&q(Some("cs"), None, None), 0, 10).unwrap()), ["b", "d"]);
    assert_eq!(ids(&store.served_page(&q(None, Some(150), None), 0, 10).unwrap()), ["d"]);
    assert_eq!(ids(&store.served_page(&q(None, None, Some(100)), 0, 10).unwrap()), ["a", "b", "c"]);
    assert_eq!(store.served_count(&q(Some("math"), None, None)).unwrap(), 2);
    assert_eq!(store.served_earliest(&[source]).unwrap(), Some(100));
    let headers = store.served_page(&ServedQuery { headers_only: true, ..q(None, None, None) }, 0, 1).unwrap();
    assert_eq!(headers[0].record.metadata, None, "ListIdentifiers reads no metadata");
    assert_eq!(store.served_record(&[source], "b").unwrap().unwrap().record.sets, ["math:alg", "cs"]);
    assert_eq!(store.served_record(&[source], "zz").unwrap(), None);
}

#[test]
fn an_origins_description_is_replaced_whole() {
    let mut store = Store::open_in_memory().unwrap();
    let f = |p: &str| OriginFormat { prefix: p.into(), schema: format!("http://s/{p}.xsd"), namespace: format!("http://n/{p}") };
    let s = |spec: &str| OriginSet { spec: spec.into(), name: spec.to_uppercase() };
    store.save_origin_description("http://r/oai", &[f("oai_dc"), f("marc")], &[s("a"), s("a:b")]).unwrap();
    store.save_origin_description("http://r/oai", &[f("oai_dc")], &[s("a")]).unwrap();
    assert_eq!(store.origin_formats("http://r/oai").unwrap(), [f("oai_dc")]);
    assert_eq!(store.origin_sets("http://r/oai").unwrap(), [s("a")]);
    assert!(store.origin_formats("http://other/oai").unwrap().is_empty());
}

#[test]
fn a_record_held_by_two_set_harvests_is_listed_once_at_its_newest_version() {
    let mut store = Store::open_in_memory().unwrap();
    let set = |spec: &str| SourceKey { set_spec: Some(spec.into()), ..key() };
    let a = store_in(&mut store, &set("a"), 100, &[("both", 1, "<m>old</m>", &["a"]), ("only-a", 1, "<m/>", &["a"])]);
    let b = store_in(&mut store, &set("b"), 200, &[("both", 2, "<m>new</m>", &["b"]), ("only-b", 1, "<m/>", &["b"])]);
    let q = ServedQuery { sources: vec![a, b], max_seq: store.last_stored_seq().unwrap(), ..ServedQuery::default() };
    let page = store.served_page(&q, 0, 10).unwrap();
    assert_eq!(ids(&page), ["only-a", "both", "only-b"]);
    assert_eq!(page[1].record.metadata.as_deref(), Some(&b"<m>new</m>"[..]));
    assert_eq!(store.served_count(&q).unwrap(), 3);
    // A list that began before the newer version was stored lists the
    // older one, not nothing.
    let earlier = ServedQuery { max_seq: page[0].stored_seq, ..q };
    assert_eq!(ids(&store.served_page(&earlier, 0, 10).unwrap()), ["both", "only-a"]);
}
