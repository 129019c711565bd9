use super::*;

fn origin(verb: Verb) -> Origin {
    Origin { url: "http://127.0.0.1/oai?verb=X".into(), verb, token: None }
}

const LIST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<?xml-stylesheet type="text/xsl" href="/oai2.xsl"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <responseDate>2026-11-22T10:00:00Z</responseDate>
  <request verb="ListRecords" metadataPrefix="oai_dc">http://127.0.0.1/oai</request>
  <ListRecords>
    <record>
      <header>
        <identifier>oai:x:1</identifier>
        <datestamp>2026-01-02T03:04:05Z</datestamp>
        <setSpec>a:b</setSpec><setSpec>c</setSpec>
      </header>
      <metadata>
        <oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/" xsi:schemaLocation="x y">
          <dc:title>Fish &amp; chips &lt;3 &#233;</dc:title>
        </oai_dc:dc>
      </metadata>
      <about><provenance>p</provenance></about>
    </record>
    <record>
      <header status="deleted"><identifier>oai:x:2</identifier><datestamp>2026-01-03</datestamp></header>
    </record>
    <resumptionToken completeListSize="10" cursor="0" expirationDate="2026-12-01T00:00:00Z">tok/1+2</resumptionToken>
  </ListRecords>
</OAI-PMH>
"#;

#[test]
fn list_records_reads_headers_raw_metadata_and_the_token() {
    let page = list_records(LIST, &origin(Verb::ListRecords), 200).unwrap();
    assert_eq!(page.response_date, "2026-11-22T10:00:00Z");
    assert_eq!(page.items.len(), 2);
    let r = &page.items[0];
    assert_eq!(r.header.identifier, "oai:x:1");
    assert_eq!(r.header.datestamp, "2026-01-02T03:04:05Z");
    assert_eq!(r.header.sets, ["a:b", "c"]);
    assert!(!r.header.deleted);
    let meta = String::from_utf8(r.metadata.clone().unwrap()).unwrap();
    // Raw bytes: the escapes are kept as they were sent ...
    assert!(meta.contains("<dc:title>Fish &amp; chips &lt;3 &#233;</dc:title>"), "{meta}");
    // ... and xsi, declared on the root only, is declared on the fragment.
    assert!(meta.starts_with(r#"<oai_dc:dc xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:oai_dc="#), "{meta}");
    assert!(meta.ends_with("</oai_dc:dc>"));
    // Each about container's content is kept as sent, after the metadata.
    assert_eq!(r.about, [b"<provenance>p</provenance>".to_vec()]);
    let d = &page.items[1];
    assert!(d.header.deleted);
    assert_eq!(d.metadata, None);
    assert!(d.about.is_empty());
    let t = page.token.as_ref().unwrap();
    assert_eq!((t.value.as_str(), t.complete_list_size, t.cursor), ("tok/1+2", Some(10), Some(0)));
    assert_eq!(page.next_token(), Some("tok/1+2"));
}

#[test]
fn text_keeps_characters_that_arrive_as_references() {
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate>
      <ListIdentifiers><header><identifier> a &amp; b &lt;c&gt; &#x41;&quot;&apos; </identifier><datestamp>2020-01-01</datestamp></header>
      <resumptionToken>x&amp;y</resumptionToken></ListIdentifiers></OAI-PMH>"#;
    let page = list_identifiers(body, &origin(Verb::ListIdentifiers), 200).unwrap();
    assert_eq!(page.items[0].identifier, "a & b <c> A\"'");
    assert_eq!(page.next_token(), Some("x&y"));
}

#[test]
fn prefixed_elements_a_bom_and_trailing_garbage_are_tolerated() {
    let body = "\u{FEFF}<oai:OAI-PMH xmlns:oai=\"http://www.openarchives.org/OAI/2.0/\"><oai:responseDate>d</oai:responseDate>\
        <oai:ListIdentifiers><oai:header><oai:identifier>i</oai:identifier><oai:datestamp>2020-01-01</oai:datestamp></oai:header>\
        <oai:resumptionToken/></oai:ListIdentifiers></oai:OAI-PMH>\n<b>Notice</b>: Undefined index";
    let page = list_identifiers(body, &origin(Verb::ListIdentifiers), 200).unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next_token(), None);
    assert!(page.token.is_some());
}

#[test]
fn no_records_match_is_an_empty_list_even_under_422() {
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate><request/>
        <error code="noRecordsMatch"/></OAI-PMH>"#;
    let page = list_records(body, &origin(Verb::ListRecords), 422).unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_token(), None);
}

#[test]
fn other_errors_are_errors_with_code_and_message() {
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate>
        <error code="badResumptionToken">expired &amp; gone</error></OAI-PMH>"#;
    let e = list_records(body, &origin(Verb::ListRecords), 200).unwrap_err();
    assert_eq!(e.oai_code(), Some(&ErrorCode::BadResumptionToken));
    assert!(e.to_string().contains("badResumptionToken: expired & gone"), "{e}");
    assert!(e.to_string().contains("http://127.0.0.1/oai"), "{e}");
    assert!(!e.is_retryable());
    // noRecordsMatch is an error for GetRecord-like answers.
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate><error code="noRecordsMatch"/></OAI-PMH>"#;
    assert!(get_record(body, &origin(Verb::GetRecord), 200).is_err());
}

#[test]
fn html_and_text_bodies_are_not_oai_pmh() {
    for body in ["<html><body><h1>Too many records</h1></body></html>", "broken xml", "", "<OAI-PMH xmlns=\"urn:other\"/>"] {
        match list_records(body, &origin(Verb::ListRecords), 200) {
            Err(Error::NotOaiPmh { status: 200, snippet, origin }) => {
                assert_eq!(snippet, body.split_whitespace().collect::<Vec<_>>().join(" "));
                assert_eq!(origin.verb, Verb::ListRecords);
            }
            other => panic!("{body:?}: {other:?}"),
        }
    }
}

#[test]
fn a_document_that_stops_is_truncated_and_retryable() {
    let cut = &LIST[..LIST.len() / 2];
    let e = list_records(cut, &origin(Verb::ListRecords), 200).unwrap_err();
    assert!(matches!(e, Error::Malformed { truncated: true, .. }), "{e:?}");
    assert!(e.is_retryable());
}

#[test]
fn a_record_without_a_header_is_malformed_not_skipped() {
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate>
        <ListRecords><record><metadata><x/></metadata></record></ListRecords></OAI-PMH>"#;
    let e = list_records(body, &origin(Verb::ListRecords), 200).unwrap_err();
    assert!(matches!(e, Error::Malformed { truncated: false, .. }), "{e:?}");
}

#[test]
fn identify_reads_what_the_harvest_needs() {
    let body = r#"<?xml version="1.0"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2026-01-01T00:00:00Z</responseDate>
      <Identify><repositoryName>R &amp; D</repositoryName><baseURL>http://x/oai</baseURL><protocolVersion>2.0</protocolVersion>
      <adminEmail>a@x</adminEmail><adminEmail>b@x</adminEmail><earliestDatestamp>2001-01-01</earliestDatestamp>
      <deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DD</granularity><compression>gzip</compression><compression>deflate</compression>
      <description><oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier"><repositoryIdentifier>x</repositoryIdentifier></oai-identifier></description>
      </Identify></OAI-PMH>"#;
    let id = identify(body, &origin(Verb::Identify), 200).unwrap();
    assert_eq!(id.repository_name, "R & D");
    assert_eq!(id.admin_emails, ["a@x", "b@x"]);
    assert_eq!(id.granularity(), crate::Granularity::Day);
    assert_eq!(id.deleted_record, Some(DeletedRecord::Persistent));
    assert_eq!(id.compression, ["gzip", "deflate"]);
}

#[test]
fn list_sets_and_formats() {
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate><ListSets>
      <set><setSpec>math</setSpec><setName>Mathematics</setName><setDescription><x>y</x></setDescription></set>
      <set><setSpec>physics:astro-ph</setSpec><setName>Astro</setName></set></ListSets></OAI-PMH>"#;
    let sets = list_sets(body, &origin(Verb::ListSets), 200).unwrap();
    assert_eq!(sets.items.iter().map(|s| s.spec.as_str()).collect::<Vec<_>>(), ["math", "physics:astro-ph"]);
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate><ListMetadataFormats>
      <metadataFormat><metadataPrefix>oai_dc</metadataPrefix><schema>s</schema><metadataNamespace>n</metadataNamespace></metadataFormat>
      </ListMetadataFormats></OAI-PMH>"#;
    let f = list_metadata_formats(body, &origin(Verb::ListMetadataFormats), 200).unwrap();
    assert_eq!(f, [MetadataFormat { prefix: "oai_dc".into(), schema: "s".into(), namespace: "n".into() }]);
}

#[test]
fn a_response_to_another_verb_is_malformed() {
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate><ListSets/></OAI-PMH>"#;
    assert!(matches!(list_records(body, &origin(Verb::ListRecords), 200), Err(Error::Malformed { .. })));
}

#[test]
fn prefix_use_is_found_on_names_not_in_urls() {
    assert!(uses_prefix("<a:root/>", "a:"));
    assert!(uses_prefix("<root a:attr=\"1\"/>", "a:"));
    assert!(uses_prefix("<x></a:y>", "a:"));
    assert!(!uses_prefix("<root>http://example.org</root>", "p:"));
    assert!(!uses_prefix("<root>http://example.org</root>", "http:"));
}

#[test]
fn declarations_on_the_record_or_metadata_element_are_carried_in_and_do_not_leak() {
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:dc="urn:outer"><responseDate>d</responseDate><ListRecords>
      <record xmlns:dc="urn:inner"><header><identifier>1</identifier><datestamp>2020-01-01</datestamp></header>
        <metadata xmlns:x="urn:x"><x:r><dc:t>a</dc:t></x:r></metadata></record>
      <record><header><identifier>2</identifier><datestamp>2020-01-01</datestamp></header><metadata><dc:t>b</dc:t></metadata></record>
    </ListRecords></OAI-PMH>"#;
    let page = list_records(body, &origin(Verb::ListRecords), 200).unwrap();
    let m = |i: usize| String::from_utf8(page.items[i].metadata.clone().unwrap()).unwrap();
    assert_eq!(m(0), r#"<x:r xmlns:x="urn:x" xmlns:dc="urn:inner"><dc:t>a</dc:t></x:r>"#);
    assert_eq!(m(1), r#"<dc:t xmlns:dc="urn:outer">b</dc:t>"#);
}

#[test]
fn a_token_is_peeked_from_the_end_of_a_plain_body_only() {
    assert_eq!(peek_token(LIST.as_bytes()).as_deref(), Some("tok/1+2"));
    let page = |inner: &str, tail: &str| format!("<OAI-PMH><ListRecords><record/>{inner}</ListRecords>{tail}");
    let peek = |inner: &str, tail: &str| peek_token(page(inner, tail).as_bytes());
    // Prefixes, attributes, references and white space, as the parser reads them.
    assert_eq!(peek("<oai:resumptionToken cursor=\"1\"> a&amp;b&#33; </oai:resumptionToken >", "</OAI-PMH>\n\n").as_deref(), Some("a&b!"));
    // The last page: no token, an empty one, a self-closed one.
    assert_eq!(peek("", "</OAI-PMH>"), None);
    assert_eq!(peek("<resumptionToken completeListSize=\"3\"></resumptionToken>", "</OAI-PMH>"), None);
    assert_eq!(peek("<resumptionToken completeListSize=\"3\"/>", "</OAI-PMH>"), None);
    // Cut off, followed by a PHP notice, or a token holding markup: left to the parser.
    assert_eq!(peek("<resumptionToken>t</resumptionToken>", "</OAI-PM"), None);
    assert_eq!(peek("<resumptionToken>t</resumptionToken>", "</OAI-PMH><b>Notice</b>"), None);
    assert_eq!(peek("<resumptionToken><![CDATA[t]]></resumptionToken>", "</OAI-PMH>"), None);
    assert_eq!(peek("<resumptionToken>a&bogus;</resumptionToken>", "</OAI-PMH>"), None);
    // Another element last, or an error response.
    assert_eq!(peek("<resumptionToken>t</resumptionToken><record/>", "</OAI-PMH>"), None);
    assert_eq!(peek_token(b"<OAI-PMH><error code=\"badResumptionToken\">t</error></OAI-PMH>"), None);
}

#[test]
fn metadata_content_is_found_by_its_end_tag_unless_markup_could_hide_it() {
    assert_eq!(content_len("<a>x</a></metadata><x/>", &EndTag::new("metadata")), Some(8));
    assert_eq!(content_len("<a/></metadata\n>", &EndTag::new("metadata")), Some(4));
    // `</metadataX>` and `<metadataX>` are other elements.
    assert_eq!(content_len("<metadataX></metadataX></metadata>", &EndTag::new("metadata")), Some(23));
    assert_eq!(content_len("<o:metadata>1</o:metadata></o:metadata>", &EndTag::new("o:metadata")), None);
    assert_eq!(content_len("<!-- </metadata> --></metadata>", &EndTag::new("metadata")), None);
    assert_eq!(content_len("<a><![CDATA[x]]></a></metadata>", &EndTag::new("metadata")), None);
    assert_eq!(content_len("<?pi x?></metadata>", &EndTag::new("metadata")), None);
    assert_eq!(content_len("<a>never closed", &EndTag::new("metadata")), None);
}

#[test]
fn metadata_that_needs_reading_tag_by_tag_is_kept_whole() {
    let cases = [
        ("<m><!-- </metadata> --><t>1</t></m>", "<m><!-- </metadata> --><t>1</t></m>"),
        ("<m><metadata>inner</metadata></m>", "<m><metadata>inner</metadata></m>"),
        ("<m><t><![CDATA[</metadata>]]></t></m>", "<m><t><![CDATA[</metadata>]]></t></m>"),
        ("<m><metadataFormat>x</metadataFormat></m>", "<m><metadataFormat>x</metadataFormat></m>"),
    ];
    for (content, expected) in cases {
        let body = format!(
            r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate><ListRecords>
            <record><header><identifier>a</identifier><datestamp>2026-01-01</datestamp></header><metadata>{content}</metadata ></record>
            <record><header><identifier>b</identifier><datestamp>2026-01-01</datestamp></header><metadata><m/></metadata></record>
            </ListRecords></OAI-PMH>"#
        );
        let page = list_records(&body, &origin(Verb::ListRecords), 200).unwrap_or_else(|e| panic!("{content}: {e}"));
        let got: Vec<&[u8]> = page.items.iter().map(|r| r.metadata.as_deref().unwrap()).collect();
        assert_eq!(got, [expected.as_bytes(), b"<m/>"], "{content}");
    }
    // What is inside is not checked: a broken fragment is kept as received
    // rather than failing the page with every good record on it ...
    let body = r#"<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>d</responseDate><ListRecords>
        <record><header><identifier>a</identifier><datestamp>2026-01-01</datestamp></header><metadata><m></metadata></record>
        </ListRecords></OAI-PMH>"#;
    let page = list_records(body, &origin(Verb::ListRecords), 200).unwrap();
    assert_eq!(page.items[0].metadata.as_deref(), Some(&b"<m>"[..]));
    // ... but the structure around it is: a record left open is an error.
    let body = body.replace("</metadata></record>", "</metadata>");
    assert!(list_records(&body, &origin(Verb::ListRecords), 200).is_err());
}

#[test]
fn a_record_whose_header_lacks_identifier_or_datestamp_is_skipped_and_the_rest_kept() {
    let body = LIST
        .replace("<identifier>oai:x:1</identifier>", "<identifier>  </identifier>")
        .replace("<datestamp>2026-01-03</datestamp>", "")
        .replace("</ListRecords>", "<record><header><identifier>oai:x:3</identifier><datestamp>2026-01-04</datestamp></header></record></ListRecords>");
    let page = list_records(&body, &origin(Verb::ListRecords), 200).unwrap();
    let ids: Vec<&str> = page.items.iter().map(|r| r.header.identifier.as_str()).collect();
    assert_eq!(ids, ["oai:x:3"]);
    assert_eq!(page.skipped.len(), 2, "{:?}", page.skipped);
    assert!(page.skipped[0].contains("record 1") && page.skipped[0].contains("without an identifier"), "{:?}", page.skipped);
    assert!(page.skipped[1].contains("oai:x:2") && page.skipped[1].contains("no datestamp"), "{:?}", page.skipped);
    assert_eq!(page.next_token(), Some("tok/1+2"), "the page goes on");
    let headers = list_identifiers(&body.replace("ListRecords", "ListIdentifiers"), &origin(Verb::ListIdentifiers), 200);
    assert!(headers.is_ok(), "{headers:?}");
}
