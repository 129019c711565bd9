use super::*;

#[test]
fn a_token_round_trips_and_anything_else_is_refused() {
    let selection = Selection { prefix: "oai_dc".into(), set: Some("a:b \"&<".into()), from: Some(5), until: None };
    let token = Token::new(&selection, 42, 100, 300, 1000);
    let text = token.encode();
    assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(Token::decode(&text).unwrap(), token);
    assert_eq!(Token::decode(&text).unwrap().selection(), selection);
    let mut damaged = text.clone();
    damaged.replace_range(10..12, "00");
    for bad in [String::new(), "zz".into(), "abc".into(), damaged, text[..text.len() - 2].to_string(), "7b7d".into(), "ab".repeat(MAX_TOKEN)] {
        assert_eq!(Token::decode(&bad).unwrap_err().code, "badResumptionToken", "{bad:.40}");
    }
    // Numbers that do not hang together.
    let odd = Token { a: 200, ..token.clone() }.encode();
    assert_eq!(Token::decode(&odd).unwrap_err().code, "badResumptionToken");
}
