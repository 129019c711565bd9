use super::*;

#[test]
fn a_member_is_in_a_category_on_some_wiki_and_taken_by_the_selection() {
    let titles = Some(["Hand one", "Other"].map(String::from).into_iter().collect());
    let m = Members { titles, selection: Selection { prefixes: vec!["Hand".into()], ..Selection::default() } };
    assert_eq!(["Hand one", "Hand two", "Other"].map(|t| m.holds(t)), [true, false, false]);
    let everything = Members::default();
    assert!(everything.holds("Anything"), "a group without categories holds every page");
}
