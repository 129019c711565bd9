use super::*;

fn req(query: &str) -> (Option<&'static str>, Result<Request, OaiError>) {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    parse(&pairs)
}

fn code(query: &str) -> &'static str {
    match req(query).1 {
        Ok(r) => panic!("{query}: no error but {r:?}"),
        Err(e) => e.code,
    }
}

#[test]
fn the_verb_and_every_argument_are_checked_as_the_spec_says() {
    for (query, expected) in [
        ("", "badVerb"),
        ("verb=Frobnicate", "badVerb"),
        ("verb=Identify&verb=Identify", "badVerb"),
        ("verb=Identify&x=1", "badArgument"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&resumptionToken=x&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2024-13-01", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=yesterday", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01&until=2024-01-01T00:00:00Z", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2024-02-01&until=2024-01-01", "badArgument"),
        ("verb=GetRecord&identifier=x", "badArgument"),
        ("verb=ListSets&set=a", "badArgument"),
        ("verb=ListMetadataFormats&metadataPrefix=oai_dc", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=%27%3B%20DROP%20TABLE%20x%3B--", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&set=a::b", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai%20dc", "badArgument"),
        ("verb=GetRecord&metadataPrefix=oai_dc&identifier=a%00b", "badArgument"),
        // Parsed by chrono, but no datestamp of the protocol's schema.
        ("verb=ListRecords&metadataPrefix=oai_dc&until=0000-01-01", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=0000-06-01T00:00:00Z", "badArgument"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2016-12-31T23:59:60Z", "badArgument"),
    ] {
        assert_eq!(code(query), expected, "{query}");
    }
    let long = format!("verb=GetRecord&metadataPrefix=oai_dc&identifier={}", "x".repeat(MAX_ARGUMENT + 1));
    assert_eq!(code(&long), "badArgument");
    let e = req("verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=x").1.unwrap_err();
    assert!(!e.echoes_arguments());
    assert!(OaiError::new("noRecordsMatch", "").echoes_arguments());
}

#[test]
fn valid_requests_parse_with_dates_as_seconds_and_a_day_until_its_end() {
    assert_eq!(req("verb=Identify"), (Some("Identify"), Ok(Request::Identify)));
    let (verb, parsed) = req("verb=ListIdentifiers&metadataPrefix=oai_dc&set=a:b&from=2024-01-01&until=2024-01-02");
    assert_eq!(verb, Some("ListIdentifiers"));
    assert_eq!(
        parsed,
        Ok(Request::ListIdentifiers(List::Fresh(Selection {
            prefix: "oai_dc".into(),
            set: Some("a:b".into()),
            from: Some(1_704_067_200),
            until: Some(1_704_153_600 + 86_399)
        })))
    );
    assert_eq!(req("verb=ListRecords&resumptionToken=abc").1, Ok(Request::ListRecords(List::Resume("abc".into()))));
    assert_eq!(req("verb=ListSets&resumptionToken=abc").1, Ok(Request::ListSets { token: Some("abc".into()) }));
    assert_eq!(
        req("verb=GetRecord&identifier=oai:x:1&metadataPrefix=oai_dc").1,
        Ok(Request::GetRecord { identifier: "oai:x:1".into(), prefix: "oai_dc".into() })
    );
    let (_, parsed) = req("verb=ListRecords&metadataPrefix=oai_dc&from=2024-01-01T10:00:00Z");
    assert!(matches!(parsed, Ok(Request::ListRecords(List::Fresh(Selection { from: Some(1_704_103_200), .. })))), "{parsed:?}");
}
