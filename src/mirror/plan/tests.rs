use std::collections::BTreeMap;

use super::*;

fn present(id: u64, title: &str) -> Incoming {
    Incoming::Present { page: PageRow { pageid: id, ns: 0, title: title.into(), rev_id: id * 10, ..Default::default() }, revisions: vec![] }
}

/// The mirror before the batch: (id, title, deleted).
fn mirror(pages: &[(u64, &str, bool)]) -> (HashMap<u64, Known>, HashMap<(i64, String), u64>) {
    let known: HashMap<u64, Known> = pages
        .iter()
        .map(|&(id, t, d)| (id, Known { pageid: id, ns: 0, title: t.into(), deleted: d, displaced: t.starts_with('<'), rev_id: Some(id), redirect: None }))
        .collect();
    let occupants = pages.iter().filter(|p| !p.2).map(|&(id, t, _)| ((0, t.to_string()), id)).collect();
    (known, occupants)
}

/// Applies the ops as the store does, checking after each one that no two
/// live pages share a title. Returns id → (title, deleted, displaced).
fn simulate(before: &[(u64, &str, bool)], ops: &[PageOp]) -> BTreeMap<u64, (String, bool, bool)> {
    let mut state: BTreeMap<u64, (String, bool, bool)> = before.iter().map(|&(id, t, d)| (id, (t.to_string(), d, false))).collect();
    for op in ops {
        match op {
            PageOp::Rename { pageid, title } => state.get_mut(pageid).unwrap().0 = title.clone(),
            PageOp::Displace { pageid, title } => {
                let p = state.get_mut(pageid).unwrap();
                p.0 = title.clone();
                p.2 = true;
            }
            PageOp::Delete { pageid } => state.get_mut(pageid).unwrap().1 = true,
            PageOp::Upsert { page, .. } => {
                state.insert(page.pageid, (page.title.clone(), false, page.displaced));
            }
        }
        let mut live: Vec<&String> = state.values().filter(|p| !p.1).map(|p| &p.0).collect();
        let n = live.len();
        live.sort();
        live.dedup();
        assert_eq!(live.len(), n, "two live pages on one title after {op:?}: {state:?}");
    }
    state
}

fn run(before: &[(u64, &str, bool)], incoming: Vec<Incoming>) -> (Plan, BTreeMap<u64, (String, bool, bool)>) {
    let (known, occupants) = mirror(before);
    let plan = plan(&known, &occupants, incoming);
    let after = simulate(before, &plan.ops);
    (plan, after)
}

fn titles(after: &BTreeMap<u64, (String, bool, bool)>) -> Vec<(u64, &str)> {
    after.iter().filter(|(_, p)| !p.1).map(|(id, p)| (*id, p.0.as_str())).collect()
}

#[test]
fn a_page_seen_again_unchanged_plans_nothing() {
    // present() gives revision id * 10; the mirror holds revision id.
    let (known, occupants) = mirror(&[(1, "A", false)]);
    let same = Incoming::Present { page: PageRow { pageid: 1, ns: 0, title: "A".into(), rev_id: 1, ..Default::default() }, revisions: vec![] };
    assert!(plan(&known, &occupants, vec![same]).is_empty());
}

#[test]
fn an_edit_is_an_upsert_and_nothing_else() {
    let (plan, after) = run(&[(1, "A", false)], vec![present(1, "A")]);
    assert_eq!(plan.ops.len(), 1);
    assert!(plan.moves.is_empty());
    assert_eq!(titles(&after), [(1, "A")]);
}

#[test]
fn a_known_id_under_a_new_title_is_a_move() {
    let (plan, after) = run(&[(1, "A", false)], vec![present(1, "B")]);
    assert_eq!(plan.moves, [Move { pageid: 1, from: (0, "A".into()), to: (0, "B".into()) }]);
    assert_eq!(titles(&after), [(1, "B")]);
}

#[test]
fn a_redirect_left_behind_is_a_new_page() {
    let (plan, after) = run(&[(1, "A", false)], vec![present(1, "B"), present(2, "A")]);
    assert_eq!(plan.created, [2]);
    assert_eq!(titles(&after), [(1, "B"), (2, "A")]);
}

#[test]
fn chains_swaps_and_move_then_recreate() {
    let (_, after) = run(&[(1, "A", false), (2, "B", false)], vec![present(1, "B"), present(2, "C")]);
    assert_eq!(titles(&after), [(1, "B"), (2, "C")]);
    // In either feed order.
    let (_, after) = run(&[(1, "A", false), (2, "B", false)], vec![present(2, "C"), present(1, "B")]);
    assert_eq!(titles(&after), [(1, "B"), (2, "C")]);

    let (plan, after) = run(&[(1, "A", false), (2, "B", false)], vec![present(1, "B"), present(2, "A")]);
    assert_eq!(titles(&after), [(1, "B"), (2, "A")]);
    assert_eq!(plan.moves.len(), 2);
    assert!(plan.displaced.is_empty());

    let (_, after) = run(&[(1, "A", false)], vec![present(1, "B"), present(3, "A")]);
    assert_eq!(titles(&after), [(1, "B"), (3, "A")]);
}

#[test]
fn a_page_outside_the_batch_on_an_incoming_title_moves_aside() {
    let (plan, after) = run(&[(1, "A", false), (2, "B", false)], vec![present(3, "B")]);
    assert_eq!(plan.displaced, [2]);
    assert_eq!(after[&2], (placeholder(2), false, true));
    assert_eq!(after[&3].0, "B");
    // Its own update later brings it back, and that is a move.
    let (plan, after) = run(&[(1, "A", false), (2, &placeholder(2), false), (3, "B", false)], vec![present(2, "C")]);
    assert_eq!(after[&2], ("C".into(), false, false));
    assert_eq!(plan.moves.len(), 1);
}

#[test]
fn deletion_frees_a_title_in_the_same_batch_and_undeletion_brings_the_id_back() {
    let (plan, after) = run(&[(1, "A", false)], vec![Incoming::Deleted { pageid: 1 }, present(2, "A")]);
    assert_eq!(plan.deleted, [1]);
    assert!(after[&1].1);
    assert_eq!(titles(&after), [(2, "A")]);

    let (plan, after) = run(&[(1, "A", true)], vec![present(1, "A")]);
    assert_eq!(plan.undeleted, [1]);
    assert_eq!(titles(&after), [(1, "A")]);
    // Deleting what is deleted or unknown does nothing.
    assert!(run(&[(1, "A", true)], vec![Incoming::Deleted { pageid: 1 }, Incoming::Deleted { pageid: 9 }]).0.is_empty());
}

#[test]
fn the_phantom_page_zero_is_ignored_and_the_last_word_on_a_page_wins() {
    let (plan, after) = run(&[(1, "A", false)], vec![Incoming::Deleted { pageid: 0 }, present(1, "B"), present(1, "C")]);
    assert_eq!(plan.ops.iter().filter(|o| matches!(o, PageOp::Upsert { .. })).count(), 1);
    assert_eq!(titles(&after), [(1, "C")]);
}

#[test]
fn two_incoming_pages_on_one_title_the_later_wins() {
    let (plan, after) = run(&[], vec![present(1, "A"), present(2, "A")]);
    assert_eq!(plan.displaced, [1]);
    assert_eq!(after[&2].0, "A");
    assert!(after[&1].2);
}
