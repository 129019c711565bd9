use super::*;

#[test]
fn the_dc_fields_are_read_whatever_their_prefix_with_references_resolved() {
    let oai_dc = br#"<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
        <dc:title>Water &amp; ice:
            a study</dc:title>
        <dc:creator>M&#252;ller, Anna</dc:creator><dc:creator>Okafor, Chidi</dc:creator>
        <dc:subject>Hydrology</dc:subject>
        <dc:description><![CDATA[Phases <of> water.]]></dc:description>
        <dc:date>2024</dc:date>
    </oai_dc:dc>"#;
    let t = dc_text(oai_dc).unwrap();
    assert_eq!(t.title, ["Water & ice: a study"]);
    assert_eq!(t.creator, ["Müller, Anna", "Okafor, Chidi"]);
    assert_eq!(t.subject, ["Hydrology"]);
    assert_eq!(t.description, ["Phases <of> water."]);
    // Another prefix, the default namespace, DC inside another format.
    let other = br#"<record xmlns="urn:x"><meta xmlns:d="http://purl.org/dc/elements/1.1/"><d:title>Elsewhere</d:title></meta><title xmlns="http://purl.org/dc/elements/1.1/">Default</title><title>not DC</title></record>"#;
    assert_eq!(dc_text(other).unwrap().title, ["Elsewhere", "Default"]);
}

#[test]
fn no_dc_broken_xml_and_huge_values_give_nothing_or_a_bounded_text() {
    assert_eq!(dc_text(br#"<mods xmlns="http://www.loc.gov/mods/v3"><titleInfo><title>T</title></titleInfo></mods>"#), None);
    assert_eq!(dc_text(b"<dc:title xmlns:dc=\"http://purl.org/dc/elements/1.1/\">unclosed"), None);
    let long = format!(
        r#"<d xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:description>{}</dc:description>{}</d>"#,
        "é".repeat(10_000),
        "<dc:subject>s</dc:subject>".repeat(100)
    );
    let t = dc_text(long.as_bytes()).unwrap();
    assert!(t.description[0].len() <= MAX_VALUE && t.description[0].chars().all(|c| c == 'é'));
    assert_eq!(t.subject.len(), MAX_VALUES - 1);
    let all = dc_fields(br#"<d xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:date>2024</dc:date><dc:title>T</dc:title></d>"#).unwrap();
    assert_eq!(all, [("date".to_string(), "2024".to_string()), ("title".to_string(), "T".to_string())]);
}
