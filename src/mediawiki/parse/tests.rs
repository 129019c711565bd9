use super::*;

#[test]
fn a_real_parse_answer_gives_the_html_the_display_title_and_the_categories() {
    let path = format!("{}/tests/fixtures/mediawiki/70-parse.json", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let p = read_parse(&v).unwrap();
    assert_eq!(p.rev_id, 4242);
    assert!(p.html.starts_with("<div class=\"mw-parser-output\"><p><b>Water</b> links to <a href=\"/wiki/Main_Page\""), "{}", p.html);
    assert_eq!(p.display_title, "Reader <i>fixture</i>");
    assert_eq!(p.categories, ["Pages with broken file links", "Liquids", "Reader tests"]);
    assert_eq!(read_parse(&serde_json::json!({"error": {"code": "nosuchrevid"}})), None);
}
