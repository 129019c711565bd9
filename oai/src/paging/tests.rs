use super::*;
use crate::model::{ResumptionToken, Verb};

fn page(items: usize, token: Option<&str>) -> Page<u32> {
    Page {
        response_date: String::new(),
        items: vec![0; items],
        token: token.map(|t| ResumptionToken { value: t.into(), ..Default::default() }),
        skipped: Vec::new(),
    }
}

fn origin() -> Origin {
    Origin { url: "http://127.0.0.1/oai".into(), verb: Verb::ListRecords, token: None }
}

#[test]
fn follows_new_tokens_and_stops_at_the_end() {
    let mut g = TokenGuard::new();
    assert_eq!(g.next(&page(2, Some("a")), &origin()).unwrap(), Some("a"));
    assert_eq!(g.next(&page(2, Some("b")), &origin()).unwrap(), Some("b"));
    assert_eq!(g.next(&page(2, Some("")), &origin()).unwrap(), None);
    assert_eq!(g.next(&page(2, None), &origin()).unwrap(), None);
}

#[test]
fn a_repeated_token_is_a_loop() {
    let mut g = TokenGuard::resuming("a");
    assert!(matches!(g.next(&page(0, Some("a")), &origin()), Err(Error::TokenLoop { .. })));
    let mut g = TokenGuard::new();
    g.next(&page(1, Some("x")), &origin()).unwrap();
    g.next(&page(1, Some("y")), &origin()).unwrap();
    assert!(matches!(g.next(&page(1, Some("x")), &origin()), Err(Error::TokenLoop { .. })));
}

#[test]
fn endless_empty_pages_are_stopped_but_a_few_are_fine() {
    let mut g = TokenGuard::new();
    for i in 0..MAX_EMPTY_PAGES - 1 {
        assert!(g.next(&page(0, Some(&format!("t{i}"))), &origin()).is_ok());
    }
    assert!(g.next(&page(1, Some("reset")), &origin()).is_ok());
    for i in 0..MAX_EMPTY_PAGES - 1 {
        assert!(g.next(&page(0, Some(&format!("u{i}"))), &origin()).is_ok());
    }
    assert!(matches!(g.next(&page(0, Some("last")), &origin()), Err(Error::EmptyPages { .. })));
}
