//! Real responses from real repositories, replayed with their HTTP status
//! and headers, must parse as the corpus MANIFEST describes them.

use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::Path as UrlPath;
use axum::response::Response;
use oai::{Client, Error, ErrorCode, ListArgs};

use crate::support::{RecordingClock, fixtures, options};

/// Serves `/NAME` as the fixture NAME with the status and headers of
/// NAME.meta.json (hop-by-hop and length headers are left to the server).
async fn replay_server() -> String {
    async fn serve(UrlPath(name): UrlPath<String>) -> Response {
        let dir = fixtures();
        let body = std::fs::read(dir.join(&name)).expect("the fixture exists");
        let mut resp = Response::builder().status(200);
        if let Ok(meta) = std::fs::read_to_string(dir.join(format!("{name}.meta.json"))) {
            let meta: serde_json::Value = serde_json::from_str(&meta).unwrap();
            resp = resp.status(meta["status"].as_u64().unwrap() as u16);
            for (k, v) in meta["headers"].as_object().unwrap() {
                let k = k.to_ascii_lowercase();
                if ["content-length", "transfer-encoding", "connection", "content-encoding"].contains(&k.as_str()) {
                    continue;
                }
                let values: Vec<String> = match v {
                    serde_json::Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
                    other => vec![other.as_str().unwrap().to_string()],
                };
                for value in values {
                    resp = resp.header(k.as_str(), value);
                }
            }
        }
        resp.body(Body::from(body)).unwrap()
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = axum::Router::new().route("/{name}", axum::routing::get(serve));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn client(base: &str, name: &str) -> (Client, std::sync::Arc<RecordingClock>) {
    let clock = RecordingClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
    let mut opts = options(clock.clone());
    opts.retry.max_attempts = 2;
    (Client::new(&format!("{base}/{name}"), opts).unwrap(), clock)
}

fn first_page() -> ListArgs {
    ListArgs::Initial { metadata_prefix: "oai_dc".into(), set: None, from: None, until: None }
}

/// (file, records or headers, deleted, next token prefix or None)
const LISTS: &[(&str, bool, usize, usize, Option<&str>)] = &[
    ("01-nsdl-listidentifiers-page1-resumption-attrs.xml", false, 200, 0, Some("0/200/733/nsdl_dc/null/2012-07-26/null")),
    ("02-nsdl-listidentifiers-page4-empty-token-end.xml", false, 133, 0, None),
    ("04-bnf-gallica-listrecords-day-datestamps.xml", true, 1, 0, Some("1!53691!")),
    ("12-erasmus-oaicat-listrecords-252k.xml", true, 81, 2, None),
    ("13-zenodo-listrecords-oai_dc-page1.xml", true, 3, 0, Some(".eJw")),
    ("14-zenodo-listrecords-resumed-page.xml", true, 3, 1, Some(".eJw")),
    ("26-arxiv-listrecords-after-503.xml", true, 2, 0, None),
    ("27-exlibris-alma-listidentifiers-page1.xml", false, 100, 0, Some("2017-01-01@2017-01-03@oai_komplett@marc21@")),
    ("28-exlibris-alma-listidentifiers-last.xml", false, 10, 0, None),
];

#[tokio::test]
async fn list_responses_parse_as_the_manifest_says() {
    let base = replay_server().await;
    for &(name, records, items, deleted, token) in LISTS {
        let (c, _) = client(&base, name);
        let (got_items, got_deleted, got_token, metadata_ok) = if records {
            let page = c.list_records(&first_page()).await.unwrap_or_else(|e| panic!("{name}: {e:#}")).value;
            let deleted = page.items.iter().filter(|r| r.header.deleted).count();
            // Every live record has metadata, and each fragment parses alone.
            let ok = page.items.iter().filter(|r| !r.header.deleted).all(|r| {
                let m = r.metadata.as_deref().unwrap_or_default();
                !m.is_empty() && well_formed(m)
            });
            (page.items.len(), deleted, page.next_token().map(str::to_string), ok)
        } else {
            let page = c.list_identifiers(&first_page()).await.unwrap_or_else(|e| panic!("{name}: {e:#}")).value;
            let deleted = page.items.iter().filter(|h| h.deleted).count();
            (page.items.len(), deleted, page.next_token().map(str::to_string), true)
        };
        assert_eq!((got_items, got_deleted), (items, deleted), "{name}");
        match (token, &got_token) {
            (None, None) => {}
            (Some(prefix), Some(t)) => assert!(t.starts_with(prefix), "{name}: token {t:?}"),
            _ => panic!("{name}: token {got_token:?}, expected {token:?}"),
        }
        assert!(metadata_ok, "{name}: a metadata fragment is empty or not well-formed alone");
    }
}

/// A stand-alone well-formedness check with namespaces, using quick-xml's
/// namespace reader: every prefix must be declared inside the fragment.
fn well_formed(fragment: &[u8]) -> bool {
    let text = std::str::from_utf8(fragment).unwrap();
    let mut r = quick_xml::reader::NsReader::from_str(text);
    let mut depth = 0i32;
    loop {
        match r.read_resolved_event() {
            Ok((ns, quick_xml::events::Event::Start(e))) => {
                depth += 1;
                if matches!(ns, quick_xml::name::ResolveResult::Unknown(_)) || e.name().0.is_empty() {
                    return false;
                }
            }
            Ok((ns, quick_xml::events::Event::Empty(_))) => {
                if matches!(ns, quick_xml::name::ResolveResult::Unknown(_)) {
                    return false;
                }
            }
            Ok((_, quick_xml::events::Event::End(_))) => depth -= 1,
            Ok((_, quick_xml::events::Event::Eof)) => return depth == 0,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn identify_and_sets_parse() {
    let base = replay_server().await;
    for (name, granularity) in [
        ("03-nsdl-identify.xml", oai::Granularity::Seconds),
        ("07-citebase-identify-stylesheet-pi.xml", oai::Granularity::Day),
        ("10-erasmus-oaicat-identify-compression.xml", oai::Granularity::Seconds),
        ("19-zenodo-identify.xml", oai::Granularity::Seconds),
        ("31-arxiv-identify.xml", oai::Granularity::Day),
    ] {
        let (c, _) = client(&base, name);
        let id = c.identify().await.unwrap_or_else(|e| panic!("{name}: {e:#}")).value;
        assert_eq!(id.granularity(), granularity, "{name}");
        assert!(!id.repository_name.is_empty(), "{name}");
        assert!(!id.earliest_datestamp.is_empty(), "{name}");
    }
    let (c, _) = client(&base, "10-erasmus-oaicat-identify-compression.xml");
    assert_eq!(c.identify().await.unwrap().value.compression, ["gzip", "compress", "deflate"]);
    let (c, _) = client(&base, "31-arxiv-identify.xml");
    assert_eq!(c.identify().await.unwrap().value.deleted_record, Some(oai::DeletedRecord::Persistent));

    for (name, sets, token) in
        [("11-erasmus-oaicat-listsets.xml", 10, false), ("20-zenodo-listsets-page2-jwt-token.xml", 5, false), ("32-arxiv-listsets.xml", 21, false)]
    {
        let (c, _) = client(&base, name);
        let page = c.list_sets(None).await.unwrap_or_else(|e| panic!("{name}: {e:#}")).value;
        assert_eq!(page.items.len(), sets, "{name}");
        assert_eq!(page.next_token().is_some(), token, "{name}");
    }
    let (c, _) = client(&base, "32-arxiv-listsets.xml");
    let specs: Vec<String> = c.list_sets(None).await.unwrap().value.items.into_iter().map(|s| s.spec).collect();
    assert!(specs.contains(&"physics:astro-ph".to_string()), "{specs:?}");
}

#[tokio::test]
async fn errors_are_read_whatever_the_status() {
    let base = replay_server().await;
    // noRecordsMatch under HTTP 422 is an empty list.
    let (c, _) = client(&base, "15-zenodo-http422-noRecordsMatch.xml");
    let page = c.list_records(&first_page()).await.unwrap().value;
    assert!(page.items.is_empty() && page.next_token().is_none());
    // badResumptionToken under 422 is the protocol error, not a status error.
    let (c, clock) = client(&base, "16-zenodo-http422-badResumptionToken.xml");
    let e = c.list_records(&ListArgs::Resume { token: "x".into() }).await.unwrap_err();
    assert_eq!(e.oai_code(), Some(&ErrorCode::BadResumptionToken), "{e:#}");
    assert!(clock.sleeps().is_empty(), "a protocol error is not retried");
    let (c, _) = client(&base, "05-bepress-wustl-error-idDoesNotExist.xml");
    let e = c.get_record("oai:x:1", "oai_dc").await.unwrap_err();
    assert_eq!(e.oai_code(), Some(&ErrorCode::IdDoesNotExist), "{e:#}");
}

#[tokio::test]
async fn bodies_that_are_not_oai_pmh_are_refused_with_url_and_body() {
    let base = replay_server().await;
    for name in ["23-html-page-200-for-identify.html", "40-synthetic-not-xml.txt"] {
        let (c, _) = client(&base, name);
        let e = c.identify().await.unwrap_err();
        let text = e.to_string();
        assert!(matches!(e, Error::NotOaiPmh { status: 200, .. }), "{name}: {e:?}");
        assert!(text.contains(&format!("{base}/{name}?verb=Identify")), "{text}");
        let start: String = std::fs::read_to_string(fixtures().join(name)).unwrap().split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        assert!(text.contains(&start), "{text} should quote {start:?}");
    }
    // arXiv's 503 page: Retry-After 10 is honoured, then retries run out.
    let (c, clock) = client(&base, "25-arxiv-http503-retry-after-html.html");
    let e = c.list_records(&first_page()).await.unwrap_err();
    assert_eq!(clock.sleeps(), [Duration::from_secs(10)]);
    match e {
        Error::RetriesExhausted { attempts: 2, last, .. } => {
            assert!(matches!(*last, Error::Status { status: 503, retry_after: Some(d), .. } if d == Duration::from_secs(10)), "{last:?}")
        }
        other => panic!("{other:?}"),
    }
}

/// The corpus's XML responses whose file names contain `kind`, in order.
fn xml_fixtures(kind: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains(kind) && n.ends_with(".xml"))
        .collect();
    names.sort();
    names
}

/// The token read from the end of a body, used to ask for the next page
/// before this one is parsed, is the parsed page's token on every real
/// list response; where it cannot tell, it says nothing.
#[test]
fn the_peeked_token_is_the_parsed_token_on_every_real_list() {
    let origin = |verb| oai::Origin { url: "http://127.0.0.1/oai".into(), verb, token: None };
    let (mut peeked, mut with_token) = (0, 0);
    let names = xml_fixtures("list");
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let body = std::fs::read(fixtures().join(&name)).unwrap();
        let text = oai::repair::repair(&body).text.into_owned();
        let parsed = if name.contains("listrecords") {
            oai::parse::list_records(&text, &origin(oai::Verb::ListRecords), 200).map(|p| p.next_token().map(str::to_string))
        } else if name.contains("listidentifiers") {
            oai::parse::list_identifiers(&text, &origin(oai::Verb::ListIdentifiers), 200).map(|p| p.next_token().map(str::to_string))
        } else {
            oai::parse::list_sets(&text, &origin(oai::Verb::ListSets), 200).map(|p| p.next_token().map(str::to_string))
        };
        let peek = oai::parse::peek_token(&body);
        with_token += matches!(parsed, Ok(Some(_))) as usize;
        match (&parsed, &peek) {
            (Ok(Some(token)), Some(p)) => {
                assert_eq!(p, token, "{name}");
                peeked += 1;
            }
            (_, None) => {}
            (_, Some(p)) => panic!("{name}: peeked {p:?}, parsed {parsed:?}"),
        }
    }
    // Every real page that has a token ends plainly with it.
    assert!(with_token >= 5, "only {with_token} pages with a token");
    assert_eq!(peeked, with_token);
}

/// Real metadata goes into the store and comes back byte for byte; a
/// repository's records, compressed against a dictionary made from its
/// first ones, take a fraction of their size (Erasmus: 81 records of
/// ~3 KB). Sources with too few records are stored as received.
#[test]
fn real_metadata_is_stored_compressed_and_read_back_exactly() {
    let origin = oai::Origin { url: "http://127.0.0.1/oai".into(), verb: oai::Verb::ListRecords, token: None };
    let dir = tempfile::tempdir().unwrap();
    let mut store = checkpoints::Store::open(&dir.path().join("db.sqlite")).unwrap();
    let names = xml_fixtures("listrecords");
    let mut erasmus = None;
    for name in &names {
        let body = std::fs::read(fixtures().join(name)).unwrap();
        let text = oai::repair::repair(&body).text.into_owned();
        let Ok(page) = oai::parse::list_records(&text, &origin, 200) else { continue };
        let key = checkpoints::SourceKey { base_url: format!("http://127.0.0.1/{name}"), metadata_prefix: "oai_dc".into(), set_spec: None };
        let source = store.source(&key, 0).unwrap();
        let run = store.start_run(source.id, &Default::default(), &Default::default(), 0).unwrap();
        let records = page
            .items
            .iter()
            .map(|r| checkpoints::RecordIn {
                identifier: &r.header.identifier,
                datestamp: &r.header.datestamp,
                datestamp_unix: 0,
                deleted: r.header.deleted,
                sets: &r.header.sets,
                metadata: r.metadata.as_deref(),
                about: None,
                text: None,
            })
            .collect();
        let commit = checkpoints::PageCommit::of_records(records, 0);
        store.commit_pages(run.id, &[commit]).unwrap();

        let mut by_id = std::collections::HashMap::new();
        store
            .for_each_record(Some(source.id), |r| {
                by_id.insert(r.identifier.clone(), r.metadata);
                true
            })
            .unwrap();
        for r in &page.items {
            assert_eq!(by_id[&r.header.identifier], r.metadata, "{name}: {}", r.header.identifier);
        }
        let raw: usize = page.items.iter().filter_map(|r| r.metadata.as_ref()).map(Vec::len).sum();
        if name.contains("erasmus") {
            erasmus = Some((page.items.len(), raw));
        }
    }
    let (count, raw) = erasmus.expect("the Erasmus page is in the corpus");
    assert!(count > 50, "{count} records");
    let status = store.status().unwrap();
    let erasmus = status.iter().find(|s| s.source.key.base_url.contains("erasmus")).unwrap();
    assert_eq!(erasmus.metadata_received as usize, raw);
    let stored = erasmus.metadata_stored as usize;
    assert!(stored * 5 < raw * 2, "Erasmus: {stored} bytes stored for {raw} received");
}
