use super::outbox::retry_delay;
use super::*;

fn live(pages: &[(u64, &str)]) -> HashMap<u64, Live> {
    pages.iter().map(|(id, t)| (*id, Live { title: t.to_string(), rev: 1 })).collect()
}

fn pair(id: i64, wiki: Option<u64>, with: Option<u64>, title: &str) -> Pair {
    Pair { pair_id: id, wiki_page: wiki, with_page: with, title: title.into(), base_text: String::new(), wiki_rev: 0, with_rev: 0, held: false }
}

#[test]
fn a_failed_push_waits_one_minute_then_twice_as_long_each_time_up_to_a_day() {
    let minutes: Vec<i64> = (1..=13).map(|n| retry_delay(n) / 60).collect();
    assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 1440, 1440]);
    assert_eq!(retry_delay(u32::MAX), 86_400);
}

#[test]
fn new_pages_pair_by_title_or_alone() {
    let mut pairs = vec![pair(1, Some(1), Some(11), "Known")];
    let new =
        pair_new_pages(&mut pairs, &live(&[(1, "Known"), (2, "Both"), (3, "Wiki only")]), &live(&[(11, "Known"), (12, "Both"), (13, "Other only")]), false);
    let got: Vec<(Option<u64>, Option<u64>, &str)> = new.iter().map(|p| (p.wiki_page, p.with_page, p.title.as_str())).collect();
    assert_eq!(got, [(Some(2), Some(12), "Both"), (None, Some(13), "Other only"), (Some(3), None, "Wiki only")]);
}

#[test]
fn a_pair_missing_a_side_adopts_the_page_a_killed_run_created() {
    // The run created the page on the other side and died before recording it.
    let mut pairs = vec![pair(1, Some(1), None, "Made"), pair(2, None, Some(12), "Made back")];
    let new = pair_new_pages(&mut pairs, &live(&[(1, "Made"), (2, "Made back")]), &live(&[(11, "Made"), (12, "Made back")]), false);
    assert!(new.is_empty(), "no second pair: {new:?}");
    assert_eq!((pairs[0].with_page, pairs[1].wiki_page), (Some(11), Some(2)));
}

#[test]
fn the_other_site_of_a_sync_by_packages_re_creates_a_page_under_a_new_id() {
    // Page 11 was deleted on the other site, then re-created there as 15.
    let other = live(&[(15, "Back")]);
    let mut pairs = vec![pair(1, Some(1), Some(11), "Back")];
    let new = pair_new_pages(&mut pairs, &live(&[(1, "Back")]), &other, true);
    assert!(new.is_empty(), "{new:?}");
    assert_eq!(pairs[0].with_page, Some(15));
    // A wiki on the other side deletes and creates through this sync, which
    // records the ids it writes: no adoption there.
    let mut pairs = vec![pair(1, Some(1), Some(11), "Back")];
    let new = pair_new_pages(&mut pairs, &live(&[(1, "Back")]), &other, false);
    assert_eq!((pairs[0].with_page, new.len()), (Some(11), 1));
}
