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

/// A run that moves a pair on while a conflict of it is being settled:
/// made deterministic by holding the run's write open on another
/// connection while `resolve` starts. Settling is one step after the
/// run's commit, so the run's new revision stays and the pushes are based
/// on it (an earlier read written back whole lost it).
#[test]
fn settling_a_conflict_never_writes_back_a_pair_a_run_moved_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("s.db");
    let store = Store::open(&db).unwrap();
    let pair_id =
        store.add_sync_pair("ab", &Pair { wiki_rev: 1, with_rev: 1, base_text: "old".into(), held: true, ..pair(0, Some(1), Some(11), "Water") }, 0).unwrap();
    let clash = checkpoints::ConflictRow {
        conflict_id: 0,
        pair_id,
        title: "Water".into(),
        policy: checkpoints::ConflictPolicy::KeepBoth,
        wiki_rev: 1,
        with_rev: 1,
        wiki_user: "Ann".into(),
        with_user: "Bob".into(),
        wiki_text: "ours".into(),
        with_text: "theirs".into(),
        resolved_text: String::new(),
        base_text: Some("old".into()),
        created_at: 0,
        resolved_at: None,
    };
    store.add_conflict("ab", &clash, 0).unwrap();
    let run = Store::open(&db).unwrap();
    let settling = run.in_write(|run| -> anyhow::Result<std::thread::JoinHandle<u32>> {
        // The run's write is open: `resolve` starts now and must wait.
        let db = db.clone();
        let resolving = std::thread::spawn(move || resolve(&Store::open(&db).unwrap(), "ab", "Water", Take::Side(Target::With)).unwrap());
        std::thread::sleep(std::time::Duration::from_millis(200));
        let mut moved = run.sync_pair(pair_id)?.unwrap();
        moved.wiki_rev = 5;
        run.update_sync_pair(&moved, 1)?;
        Ok(resolving)
    });
    assert_eq!(settling.unwrap().join().unwrap(), 2);
    let now = store.sync_pair(pair_id).unwrap().unwrap();
    assert_eq!((now.wiki_rev, now.base_text.as_str(), now.held), (5, "theirs", false), "the run's revision kept, the base settled");
    let pushes = store.pushes("ab").unwrap();
    assert!(pushes.iter().any(|p| p.target == Target::Wiki && p.base_rev == 5), "{pushes:?}");
    assert!(store.conflicts("ab", true).unwrap().is_empty());
}
