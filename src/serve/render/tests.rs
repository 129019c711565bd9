use super::*;

#[test]
fn the_envelope_echoes_arguments_escaped_only_when_asked() {
    let args = vec![("verb".to_string(), "GetRecord".to_string()), ("identifier".to_string(), "a\"<b>&".to_string())];
    let env = Envelope { response_date: 0, base_url: "http://h/oai/x?a&b", echo: Some(("GetRecord", &args)) };
    let mut doc = head(&env);
    error(&mut doc, &OaiError::new("idDoesNotExist", "no <such> record"));
    doc.extend_from_slice(TAIL);
    let doc = String::from_utf8(doc).unwrap();
    assert!(doc.contains("<responseDate>1970-01-01T00:00:00Z</responseDate>"), "{doc}");
    assert!(doc.contains("<request verb=\"GetRecord\" identifier=\"a&quot;&lt;b&gt;&amp;\">http://h/oai/x?a&amp;b</request>"), "{doc}");
    assert!(doc.contains("<error code=\"idDoesNotExist\">no &lt;such&gt; record</error>"), "{doc}");
    let bare = String::from_utf8(head(&Envelope { echo: None, ..env })).unwrap();
    assert!(bare.contains("<request>http://h/oai/x?a&amp;b</request>"), "{bare}");
}

#[test]
fn a_deleted_record_has_no_metadata_and_provenance_names_the_origin() {
    let mut out = Vec::new();
    let sets = vec!["a:b".to_string()];
    let origin =
        Origin { base_url: "http://o/oai", identifier: "oai:o:1", datestamp: "2001-01-01", namespace: "http://n/", harvested_at: 86_400, nested: None };
    record(&mut out, &Header { identifier: "oai:o:1", stored_at: 86_400, sets: &sets, deleted: true }, Some(b"<m/>"), &origin);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("<record><header status=\"deleted\"><identifier>oai:o:1</identifier><datestamp>1970-01-02T00:00:00Z</datestamp><setSpec>a:b</setSpec></header><about>"), "{text}");
    assert!(!text.contains("<metadata>"));
    assert!(text.contains("<originDescription harvestDate=\"1970-01-02T00:00:00Z\" altered=\"false\"><baseURL>http://o/oai</baseURL><identifier>oai:o:1</identifier><datestamp>2001-01-01</datestamp><metadataNamespace>http://n/</metadataNamespace></originDescription>"), "{text}");

    // A record from a mirror nests the mirror's description of its own origin.
    let upstream = b"<provenance xmlns=\"http://www.openarchives.org/OAI/2.0/provenance\"><originDescription harvestDate=\"x\" altered=\"false\"><baseURL>http://first/oai</baseURL></originDescription></provenance>";
    let mut out = Vec::new();
    record(&mut out, &Header { identifier: "oai:o:1", stored_at: 0, sets: &[], deleted: false }, Some(b"<m/>"), &Origin { nested: Some(upstream), ..origin });
    let text = String::from_utf8(out).unwrap();
    assert!(
            text.contains("<metadataNamespace>http://n/</metadataNamespace><originDescription harvestDate=\"x\" altered=\"false\"><baseURL>http://first/oai</baseURL></originDescription></originDescription></provenance>"),
            "{text}"
        );
}
