use super::*;

fn record(identifier: &str, deleted: bool) -> StoredRecord {
    StoredRecord {
        source_id: 1,
        identifier: identifier.into(),
        datestamp: "2024-01-02".into(),
        deleted,
        sets: vec!["a&b".into(), "c".into()],
        metadata: (!deleted).then(|| b"<dc xmlns=\"x\">T &amp; &lt;U&gt;</dc>".to_vec()),
        first_seen: 0,
        last_seen: 0,
    }
}

#[test]
fn xml_escapes_the_header_and_keeps_the_metadata_as_stored() {
    let mut out = Vec::new();
    write_xml(&mut out, &record("oai:x:<1>", false)).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "<record><header><identifier>oai:x:&lt;1&gt;</identifier><datestamp>2024-01-02</datestamp><setSpec>a&amp;b</setSpec><setSpec>c</setSpec></header>\
             <metadata><dc xmlns=\"x\">T &amp; &lt;U&gt;</dc></metadata></record>\n"
    );
    let mut out = Vec::new();
    write_xml(&mut out, &record("d", true)).unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("<record><header status=\"deleted\"><identifier>d</identifier>"));
}

#[test]
fn json_lines_hold_the_metadata_as_a_string_and_payload_leaves_deleted_records_out() {
    let mut out = Vec::new();
    write_json(&mut out, &record("i", false), "arxiv").unwrap();
    let line = String::from_utf8(out).unwrap();
    assert_eq!(line.matches('\n').count(), 1);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!((v["source"].as_str(), v["identifier"].as_str(), v["sets"][0].as_str()), (Some("arxiv"), Some("i"), Some("a&b")));
    assert_eq!(v["metadata"], "<dc xmlns=\"x\">T &amp; &lt;U&gt;</dc>");
    assert_eq!(file_content(Format::Payload, &record("i", true), "s"), None);
    assert_eq!(file_content(Format::Payload, &record("i", false), "s").unwrap(), b"<dc xmlns=\"x\">T &amp; &lt;U&gt;</dc>\n");
}

#[test]
fn a_record_file_is_a_document_of_its_own() {
    let text = String::from_utf8(file_content(Format::Xml, &record("i", false), "s").unwrap()).unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<record xmlns=\"http://www.openarchives.org/OAI/2.0/\"><header>"), "{text}");
    let mut reader = quick_xml::Reader::from_str(&text);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed: {e}\n{text}"),
        }
    }
}
