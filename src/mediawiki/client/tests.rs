use std::io::Write;

use super::*;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn a_wiki_is_down_from_its_first_unanswered_request_until_it_answers_even_with_an_error() {
    let t = |s: i64| chrono::DateTime::from_timestamp(s, 0).unwrap();
    let exhausted = |last: &str| -> MwResult<Value> {
        Err(MwError::RetriesExhausted { wiki: "w".into(), action: "query".into(), title: None, attempts: 3, last: last.into() })
    };
    let mut h = Health::default();
    h.note(&Ok(Value::Null), t(10));
    assert_eq!((h.reachable, h.down_since, h.last_answer), (Some(true), None, Some(t(10))));
    h.note(&exhausted("HTTP 502"), t(20));
    h.note(&exhausted("request failed: connection refused"), t(30));
    assert_eq!((h.reachable, h.down_since, h.last_answer), (Some(false), Some(t(20)), Some(t(10))), "down since the first failure");
    assert!(h.last_error.as_deref().is_some_and(|e| e.contains("connection refused")), "{h:?}");
    // Lag and rate limits are answers from a wiki that is up.
    h.note(&exhausted("maxlag: 7 seconds lagged"), t(40));
    assert_eq!((h.reachable, h.down_since), (Some(true), None));
    let api_error = MwError::Api { wiki: "w".into(), action: "edit".into(), title: None, code: ApiCode::parse("protectedpage"), info: String::new() };
    h.note(&Err(api_error), t(50));
    assert_eq!((h.reachable, h.last_answer), (Some(true), Some(t(50))));
}

#[test]
fn gunzip_stops_at_its_limit_instead_of_inflating_a_bomb() {
    // 8 MiB of zeros is a few kilobytes of gzip.
    let bomb = gzip(&vec![0u8; 8 << 20]);
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    assert_eq!(gunzip(&bomb, 1 << 20), Err(1 << 20));
    assert_eq!(gunzip(&gzip(b"{\"batchcomplete\":true}"), 1 << 20), Ok(Some(b"{\"batchcomplete\":true}".to_vec())));
    assert_eq!(gunzip(&gzip(&[7u8; 100]), 100).map(|b| b.map(|b| b.len())), Ok(Some(100)), "exactly the limit is allowed");
    assert_eq!(gunzip(b"{\"not\": \"gzip\"}", 1 << 20), Ok(None));
}
