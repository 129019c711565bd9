use super::*;
use crate::testing::{Given, commit};

fn key(set: Option<&str>) -> SourceKey {
    SourceKey { base_url: "http://r/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: set.map(str::to_string) }
}

/// Stores (identifier, datestamp_unix, deleted, sets) records in a source.
fn harvest(store: &mut Store, key: &SourceKey, records: &[(&str, i64, bool, &[&str])]) -> i64 {
    let given: Vec<Given<'_>> =
        records.iter().map(|r| Given { id: r.0, unix: r.1, metadata: (!r.2).then(|| format!("<m>{}@{}</m>", r.0, r.1)), sets: r.3 }).collect();
    commit(store, key, 0, &given)
}

fn listed(store: &Store, filter: &RecordFilter) -> Vec<String> {
    let mut out = Vec::new();
    store
        .for_each_latest(filter, |r| {
            let m = r.metadata.map(|m| String::from_utf8(m).unwrap()).unwrap_or_else(|| "deleted".into());
            out.push(format!("{} {}", r.identifier, m));
            true
        })
        .unwrap();
    out
}

#[test]
fn filters_take_sets_with_their_subsets_dates_inclusive_and_deleted_as_asked() {
    let mut store = Store::open_in_memory().unwrap();
    harvest(&mut store, &key(None), &[("a", 10, false, &["math"]), ("b", 20, false, &["math:alg"]), ("c", 30, true, &[]), ("d", 40, false, &["mathx"])]);
    let all = RecordFilter::default();
    assert_eq!(listed(&store, &all), ["a <m>a@10</m>", "b <m>b@20</m>", "c deleted", "d <m>d@40</m>"]);
    let math = RecordFilter { set: Some("math".into()), ..all.clone() };
    assert_eq!(listed(&store, &math), ["a <m>a@10</m>", "b <m>b@20</m>"], "a set takes its subsets, not a set that only starts alike");
    let range = RecordFilter { from_unix: Some(20), until_unix: Some(30), ..all.clone() };
    assert_eq!(listed(&store, &range), ["b <m>b@20</m>", "c deleted"]);
    assert_eq!(listed(&store, &RecordFilter { deleted: Deleted::Only, ..all.clone() }), ["c deleted"]);
    assert_eq!(listed(&store, &RecordFilter { deleted: Deleted::Exclude, ..all.clone() }).len(), 3);
    assert!(listed(&store, &RecordFilter { prefix: Some("marc".into()), ..all }).is_empty());
}

#[test]
fn a_record_held_by_two_sets_of_one_repository_comes_once_at_its_newest() {
    let mut store = Store::open_in_memory().unwrap();
    harvest(&mut store, &key(Some("x")), &[("a", 10, false, &["x", "y"]), ("b", 10, false, &["x"])]);
    harvest(&mut store, &key(Some("y")), &[("a", 50, false, &["x", "y"]), ("c", 10, false, &["y"])]);
    assert_eq!(listed(&store, &RecordFilter::default()), ["a <m>a@50</m>", "b <m>b@10</m>", "c <m>c@10</m>"]);
    let mut seen = 0;
    store
        .for_each_latest(&RecordFilter::default(), |_| {
            seen += 1;
            false
        })
        .unwrap();
    assert_eq!(seen, 1, "false stops the stream");
}

#[test]
fn forgetting_a_source_leaves_the_others() {
    let mut store = Store::open_in_memory().unwrap();
    let x = harvest(&mut store, &key(Some("x")), &[("a", 10, false, &[]), ("b", 10, false, &[])]);
    harvest(&mut store, &key(Some("y")), &[("c", 10, false, &[])]);
    assert_eq!(store.forget_source(x, 0).unwrap(), 2);
    assert_eq!(listed(&store, &RecordFilter::default()), ["c <m>c@10</m>"]);
    assert!(store.find_source(&key(Some("x"))).unwrap().is_none());
    assert!(store.find_source(&key(Some("y"))).unwrap().is_some());
    assert!(store.last_run(x).unwrap().is_none());
    // The repository's own description stays: its records are still
    // served, as deletions.
    let format = crate::OriginFormat { prefix: "oai_dc".into(), schema: "s".into(), namespace: "n".into() };
    store.save_origin_description("http://r/oai", std::slice::from_ref(&format), &[]).unwrap();
    let y = store.find_source(&key(Some("y"))).unwrap().unwrap().id;
    store.forget_source(y, 0).unwrap();
    assert_eq!(store.origin_formats("http://r/oai").unwrap(), [format]);
    assert_eq!(store.served_sources().unwrap().len(), 2);
    assert!(store.sources().unwrap().is_empty());
}
