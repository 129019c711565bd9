//! What the `oai` fuzz targets check, shared with the test that replays
//! their corpora (tests/it/fuzz_corpus.rs), so that CI runs every target
//! on every input a campaign kept.

use oai::{Origin, Verb};

fn origin(verb: Verb) -> Origin {
    Origin { url: "http://127.0.0.1/oai".into(), verb, token: Some("t".into()) }
}

/// Any body through the repair and every parser: no panic; a page's items
/// always have what a harvest needs; a peeked token never panics either.
pub fn parse(data: &[u8]) {
    let _ = oai::parse::peek_token(data);
    let repaired = oai::repair::repair(data);
    let text = repaired.text.as_ref();
    for status in [200, 503] {
        if let Ok(page) = oai::parse::list_records(text, &origin(Verb::ListRecords), status) {
            for r in &page.items {
                assert!(!r.header.identifier.trim().is_empty() && !r.header.datestamp.trim().is_empty(), "an unusable record was kept: {:?}", r.header);
            }
            let _ = page.next_token();
        }
        if let Ok(page) = oai::parse::list_identifiers(text, &origin(Verb::ListIdentifiers), status) {
            assert!(page.items.iter().all(|h| h.problem().is_none()));
        }
        let _ = oai::parse::list_sets(text, &origin(Verb::ListSets), status);
        let _ = oai::parse::list_metadata_formats(text, &origin(Verb::ListMetadataFormats), status);
        let _ = oai::parse::get_record(text, &origin(Verb::GetRecord), status);
        let _ = oai::parse::identify(text, &origin(Verb::Identify), status);
    }
    let _ = oai::parse::snippet(text);
}

/// Any body through the charset decoding and the bounded repair: no panic,
/// and a repair within a limit never returns more than the limit.
pub fn decode(data: &[u8]) {
    for label in [None, Some("ISO-8859-1"), Some("utf-16"), Some("utf-8"), Some("nonsense")] {
        let decoded = oai::charset::decode(data, label);
        assert!(decoded.from.is_some() || decoded.bytes.as_ref() == data, "undecoded bytes must pass through unchanged");
    }
    let limit = data.len() + 8;
    if let Ok(repaired) = oai::repair::repair_within(data, limit) {
        assert!(repaired.text.len() <= limit.max(data.len()));
    }
}
