use checkpoints::{PageCommit, Position, RecordIn, RunPlan, SourceKey};

use std::sync::Arc;

use axum::http::HeaderMap;

use super::*;

/// A store holding `n` records of one repository (every tenth deleted,
/// sets `s0`/`s1`), some with identifiers outside any URI scheme.
fn store_with(n: usize) -> (Store, Repository) {
    let mut store = Store::open_in_memory().unwrap();
    store.set_clock(|| 1_700_000_000);
    let key = SourceKey { base_url: "http://origin/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
    let source = store.source(&key, 0).unwrap();
    let run = store.start_run(source.id, &RunPlan::default(), &Position::default(), 0).unwrap();
    let ids: Vec<String> = (0..n).map(|i| if i % 7 == 3 { format!("plain-{i:04}") } else { format!("oai:origin:{i:04}") }).collect();
    let sets: Vec<Vec<String>> = (0..n).map(|i| vec![format!("s{}", i % 2)]).collect();
    let metadata: Vec<String> = (0..n).map(|i| format!("<dc xmlns=\"http://purl.org/dc/elements/1.1/\">record {i} &amp; more</dc>")).collect();
    let records = (0..n)
        .map(|i| RecordIn {
            identifier: &ids[i],
            datestamp: "2001-01-01",
            datestamp_unix: 978_307_200,
            deleted: i % 10 == 9,
            sets: &sets[i],
            metadata: (i % 10 != 9).then(|| metadata[i].as_bytes()),
            about: None,
            text: None,
        })
        .collect();
    let page = PageCommit::of_records(records, 1_700_000_000);
    store.commit_page(run.id, &page).unwrap();
    store
        .save_origin_description(
            "http://origin/oai",
            &[OriginFormat { prefix: "oai_dc".into(), schema: "http://s/oai_dc.xsd".into(), namespace: "http://www.openarchives.org/OAI/2.0/oai_dc/".into() }],
            &[checkpoints::OriginSet { spec: "s0".into(), name: "Set zero".into() }, checkpoints::OriginSet { spec: "s1".into(), name: "Set one".into() }],
        )
        .unwrap();
    let repo = Repository { name: "origin".into(), origin: "http://origin/oai".into(), sources: store.sources().unwrap() };
    (store, repo)
}

fn service() -> Service {
    Service { public_url: "http://mirror:8080".into(), admin_emails: vec!["a@b.org".into()], namespace: "mirror.example".into() }
}

fn ask(store: &Store, repo: &Repository, query: &str) -> String {
    let args: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    String::from_utf8(answer(store, &service(), repo, &args, 1_800_000_000).unwrap()).unwrap()
}

fn error_code(doc: &str) -> Option<&str> {
    doc.split("<error code=\"").nth(1).and_then(|r| r.split('"').next())
}

fn between<'a>(doc: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    doc.split(start).skip(1).filter_map(|p| p.split(end).next()).collect()
}

#[test]
fn every_error_comes_under_its_verb() {
    let (store, repo) = store_with(30);
    for (query, code) in [
        ("verb=Nope", "badVerb"),
        ("verb=ListRecords", "badArgument"),
        ("verb=ListRecords&metadataPrefix=marc", "cannotDisseminateFormat"),
        ("verb=ListRecords&metadataPrefix=oai_dc&from=2030-01-01", "noRecordsMatch"),
        ("verb=ListRecords&resumptionToken=00", "badResumptionToken"),
        ("verb=ListSets&resumptionToken=x", "badResumptionToken"),
        ("verb=GetRecord&identifier=oai:nowhere:1&metadataPrefix=oai_dc", "idDoesNotExist"),
        ("verb=GetRecord&identifier=oai:origin:0001&metadataPrefix=marc", "cannotDisseminateFormat"),
        ("verb=ListMetadataFormats&identifier=oai:nowhere:1", "idDoesNotExist"),
    ] {
        let doc = ask(&store, &repo, query);
        assert_eq!(error_code(&doc), Some(code), "{query}: {doc}");
    }
    // The request element echoes arguments except after badVerb and badArgument.
    assert!(ask(&store, &repo, "verb=Nope").contains("<request>http://mirror:8080/oai/origin</request>"));
    assert!(ask(&store, &repo, "verb=ListRecords&metadataPrefix=marc").contains("<request verb=\"ListRecords\" metadataPrefix=\"marc\">"));
}

#[test]
fn a_list_is_walked_page_by_page_with_cursor_and_size_and_ends_with_an_empty_token() {
    let (store, repo) = store_with(250);
    let mut identifiers = Vec::new();
    let mut query = "verb=ListRecords&metadataPrefix=oai_dc".to_string();
    let mut cursors = Vec::new();
    loop {
        let doc = ask(&store, &repo, &query);
        assert_eq!(error_code(&doc), None, "{doc}");
        identifiers
            .extend(between(&doc, "<header", "</header>").iter().map(|h| h.split("<identifier>").nth(1).unwrap().split('<').next().unwrap().to_string()));
        let token = doc.split("<resumptionToken ").nth(1).expect("a split list carries tokens");
        assert!(token.starts_with("completeListSize=\"250\""), "{token:.80}");
        cursors.push(token.split("cursor=\"").nth(1).unwrap().split('"').next().unwrap().parse::<u64>().unwrap());
        let value = token.split('>').nth(1).unwrap().split('<').next().unwrap();
        if value.is_empty() {
            break;
        }
        query = format!("verb=ListRecords&resumptionToken={value}");
    }
    assert_eq!(cursors, [0, 100, 200]);
    assert_eq!(identifiers.len(), 250);
    let unique: std::collections::BTreeSet<&String> = identifiers.iter().collect();
    assert_eq!(unique.len(), 250, "nothing repeated");
    assert!(identifiers.contains(&"oai:mirror.example:origin/plain-0003".to_string()), "no URI scheme: this repository's namespace");
    assert!(identifiers.contains(&"oai:origin:0004".to_string()), "oai: identifiers are kept");
    // A one-page list has no token at all.
    let one = ask(&store, &repo, "verb=ListIdentifiers&metadataPrefix=oai_dc&set=s0&until=2023-11-14T22:13:20Z");
    assert!(!one.contains("resumptionToken") || one.contains("completeListSize=\"125\""), "{one:.400}");
}

#[test]
fn records_are_served_as_stored_with_this_stores_datestamps_and_their_provenance() {
    let (store, repo) = store_with(20);
    let doc = ask(&store, &repo, "verb=GetRecord&identifier=oai:mirror.example:origin/plain-0003&metadataPrefix=oai_dc");
    assert!(doc.contains("<metadata><dc xmlns=\"http://purl.org/dc/elements/1.1/\">record 3 &amp; more</dc></metadata>"), "byte for byte: {doc}");
    assert!(doc.contains("<datestamp>2023-11-14T22:13:20Z</datestamp>"), "the store's time, not the origin's: {doc}");
    assert!(
        doc.contains("<originDescription harvestDate=\"2023-11-14T22:13:20Z\" altered=\"false\"><baseURL>http://origin/oai</baseURL><identifier>plain-0003</identifier><datestamp>2001-01-01</datestamp><metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace></originDescription>"),
        "{doc}"
    );
    let deleted = ask(&store, &repo, "verb=GetRecord&identifier=oai:origin:0009&metadataPrefix=oai_dc");
    assert!(deleted.contains("<header status=\"deleted\">") && !deleted.contains("<metadata>"), "{deleted}");
    let sets = ask(&store, &repo, "verb=ListSets");
    assert_eq!(between(&sets, "<setName>", "</setName>"), ["Set zero", "Set one"]);
    let formats = ask(&store, &repo, "verb=ListMetadataFormats&identifier=oai:origin:0001");
    assert_eq!(between(&formats, "<schema>", "</schema>"), ["http://s/oai_dc.xsd"], "as the origin declared it");
    let id = ask(&store, &repo, "verb=Identify");
    assert!(id.contains("<earliestDatestamp>2023-11-14T22:13:20Z</earliestDatestamp><deletedRecord>persistent</deletedRecord>"), "{id}");
    assert!(id.contains("<baseURL>http://mirror:8080/oai/origin</baseURL>"), "{id}");
}

#[test]
fn repositories_are_named_by_the_config_else_by_their_url() {
    let settings: Settings = toml::from_str("[source.arxiv]\nurl = \"https://export.arxiv.org/oai2\"\n").unwrap();
    let (store, _) = store_with(1);
    let mut sources = store.sources().unwrap();
    let mut arxiv = sources[0].clone();
    arxiv.key.base_url = "https://export.arxiv.org/oai2".into();
    arxiv.id = 99;
    sources.push(arxiv);
    let names: Vec<String> = repositories(&settings, sources, &HashMap::new()).into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["origin-oai", "arxiv"]);
    // Base URLs that make the same name: each gets one of its own.
    let mut sources = store.sources().unwrap();
    for (id, url) in [(7, "http://origin/oai/"), (8, "http://origin/oai?"), (9, "http://elsewhere/x")] {
        let mut s = sources[0].clone();
        (s.id, s.key.base_url) = (id, url.into());
        sources.push(s);
    }
    let named: Settings = toml::from_str("[source.origin-oai]\nurl = \"http://elsewhere/x\"\n").unwrap();
    let names: Vec<String> = repositories(&named, sources, &HashMap::new()).into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["origin-oai", "origin-oai-2", "origin-oai-3", "origin-oai-4"], "the config's name wins; the others are told apart");
    assert!(has_uri_scheme("oai:x:1") && has_uri_scheme("urn:nbn:de:1") && !has_uri_scheme("12345") && !has_uri_scheme("10.1000/x:y"));
}

#[test]
fn an_answer_is_compressed_only_as_asked_and_says_it_varies() {
    let mut headers = HeaderMap::new();
    for (accepts, coding) in [
        ("gzip", Some("gzip")),
        ("deflate, gzip;q=0.5", Some("gzip")),
        ("gzip;q=0", None),
        ("gzip;q=0, deflate", Some("deflate")),
        ("GZIP; q=0.000", None),
        ("br", None),
        ("", None),
    ] {
        headers.insert(axum::http::header::ACCEPT_ENCODING, accepts.parse().unwrap());
        let chosen = http::coding_of(&headers);
        let mut body = Spool::new();
        body.extend_from_slice(b"<body/>");
        let answer = http::response(http::compressed(Answer { head: b"<OAI-PMH>".to_vec(), body }, chosen).unwrap(), chosen);
        let got = answer.headers().get(axum::http::header::CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(got.as_deref(), coding, "{accepts:?}");
        assert_eq!(answer.headers().get(axum::http::header::VARY).map(|v| v.to_str().unwrap()), Some("Accept-Encoding"), "{accepts:?}");
    }
}

/// A list whose remaining records were all stored again after it began
/// (their new versions above its snapshot bound) goes on with those new
/// versions: a resumed page never holds no record, which the protocol
/// does not allow.
#[test]
fn a_resumed_page_whose_records_all_changed_is_not_empty() {
    let (mut store, repo) = store_with(150);
    let first = ask(&store, &repo, "verb=ListIdentifiers&metadataPrefix=oai_dc");
    assert_eq!(between(&first, "<header", "</header>").len(), 100);
    let token = between(&first, "<resumptionToken", "</resumptionToken>")[0].split('>').nth(1).unwrap().to_string();
    // Every record after the first page is stored again, changed.
    let key = SourceKey { base_url: "http://origin/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
    let source = store.source(&key, 0).unwrap();
    let run = store.start_run(source.id, &RunPlan::default(), &Position::default(), 0).unwrap();
    let ids: Vec<String> = (100..150).map(|i| if i % 7 == 3 { format!("plain-{i:04}") } else { format!("oai:origin:{i:04}") }).collect();
    let sets = vec!["s0".to_string()];
    let records = ids
        .iter()
        .map(|id| RecordIn {
            identifier: id,
            datestamp: "2001-01-02",
            datestamp_unix: 978_393_600,
            deleted: false,
            sets: &sets,
            metadata: Some(b"<dc xmlns=\"http://purl.org/dc/elements/1.1/\">changed</dc>"),
            about: None,
            text: None,
        })
        .collect();
    store.commit_page(run.id, &PageCommit::of_records(records, 1_700_000_100)).unwrap();
    let rest =
        ask(&store, &repo, &format!("verb=ListIdentifiers&resumptionToken={}", url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()));
    assert_eq!(error_code(&rest), None, "{rest}");
    assert_eq!(between(&rest, "<header", "</header>").len(), 50, "the changed records, in their new versions: {rest}");
}

#[test]
fn a_served_name_stays_whatever_the_config_says_later_until_renamed() {
    let (mut store, _) = store_with(1);
    let names = |store: &Store, settings: &Settings| -> Vec<String> {
        repositories(settings, store.served_sources().unwrap(), &store.served_names().unwrap()).into_iter().map(|r| r.name).collect()
    };
    let first: Settings = toml::from_str("[source.repo1]\nurl = \"http://origin/oai\"\n").unwrap();
    let later: Settings = toml::from_str("[source.other]\nurl = \"http://elsewhere/oai\"\n").unwrap();
    assert_eq!(names(&store, &later), ["origin-oai"], "not named yet: shown as it would be");
    name_repositories(&first, &mut store).unwrap();
    assert_eq!(names(&store, &first), ["repo1"]);
    assert_eq!(names(&store, &later), ["repo1"], "a config that no longer names it does not move it");
    name_repositories(&later, &mut store).unwrap();
    assert_eq!(names(&store, &later), ["repo1"]);
    assert!(store.rename_served("repo1", "renamed").unwrap());
    assert!(!store.rename_served("repo1", "again").unwrap(), "the old name is gone");
    assert_eq!(names(&store, &first), ["renamed"]);
}

#[test]
fn a_forgotten_source_is_served_as_deletions_from_when_it_was_forgotten() {
    let (mut store, _) = store_with(10);
    let before = ask_store(&store, "verb=ListIdentifiers&metadataPrefix=oai_dc");
    assert_eq!(between(&before, "<header", ">").iter().filter(|h| h.contains("deleted")).count(), 1);
    store.set_clock(|| 1_700_000_100);
    let source = store.sources().unwrap()[0].id;
    assert_eq!(store.forget_source(source, 1_700_000_100).unwrap(), 10);
    assert!(store.sources().unwrap().is_empty(), "no longer listed");
    // A harvester going on from its last responseDate learns of the nine
    // it had (the tenth was deleted already, and served so).
    let after = ask_store(&store, "verb=ListIdentifiers&metadataPrefix=oai_dc&from=2023-11-14T22:15:00Z");
    let headers = between(&after, "<header", "</header>");
    assert_eq!(headers.len(), 9, "{after}");
    assert!(headers.iter().all(|h| h.contains("status=\"deleted\"") && h.contains("<datestamp>2023-11-14T22:15:00Z</datestamp>")), "{after}");
    // Records hold no metadata any more; harvesting the source again brings it back.
    let all = ask_store(&store, "verb=ListRecords&metadataPrefix=oai_dc");
    assert!(!all.contains("<metadata>"), "{all}");
    let key = SourceKey { base_url: "http://origin/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
    assert!(store.find_source(&key).unwrap().is_none());
    assert_eq!(store.source(&key, 0).unwrap().id, source);
    assert_eq!(store.sources().unwrap().len(), 1);
}

/// Asks the store's one served repository, as the server finds it.
fn ask_store(store: &Store, query: &str) -> String {
    let repo = repositories(&Settings::default(), store.served_sources().unwrap(), &store.served_names().unwrap()).remove(0);
    ask(store, &repo, query)
}

/// The invariant downstream mirrors rely on: a harvester that always goes
/// on from the previous responseDate misses nothing, whatever the writers
/// do. Here a package-like write holds the write lock across a downstream
/// harvest for ten seconds of store time, and a harvest's page waits for
/// the lock all that while.
#[test]
fn a_harvester_going_on_from_each_response_date_misses_no_write_held_open_across_it() {
    use std::sync::atomic::{AtomicI64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let clock = Arc::new(AtomicI64::new(1_000_000));
    let (mut writer, mut harvester) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
    for store in [&mut writer, &mut harvester] {
        let clock = clock.clone();
        store.set_clock(move || clock.load(Ordering::SeqCst));
    }
    let key = SourceKey { base_url: "http://origin/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
    let source = harvester.source(&key, 0).unwrap();
    let run = harvester.start_run(source.id, &RunPlan::default(), &Position::default(), 0).unwrap();

    let mut write = writer.begin_wiki_write("w", 1_000_000).unwrap();
    let page = checkpoints::PageRow { pageid: 1, ns: 0, title: "Water".into(), redirect: None, displaced: false, rev_id: 7 };
    let revision = checkpoints::RevisionRow {
        revid: 7,
        parentid: 0,
        timestamp: "2026-01-01T00:00:00Z".into(),
        user: "Ann".into(),
        comment: String::new(),
        sha1: String::new(),
        text: "wet".into(),
        minor: false,
        user_id: None,
    };
    write.apply(&[checkpoints::PageOp::Upsert { page, revisions: vec![revision] }]).unwrap();
    let waiting = std::thread::spawn(move || {
        let (sets, metadata) = (Vec::new(), b"<dc/>".to_vec());
        let records = vec![RecordIn {
            identifier: "oai:origin:1",
            datestamp: "2001-01-01",
            datestamp_unix: 978_307_200,
            deleted: false,
            sets: &sets,
            metadata: Some(&metadata),
            about: None,
            text: None,
        }];
        harvester.commit_page(run.id, &PageCommit::of_records(records, 1_000_000)).unwrap();
    });

    // Ten seconds on, a downstream harvest: nothing is committed yet.
    clock.store(1_000_010, Ordering::SeqCst);
    let reader = Store::open_read_only(&path).unwrap();
    let now = clock.load(Ordering::SeqCst) - 1;
    let repo = Repository { name: "origin".into(), origin: key.base_url.clone(), sources: reader.served_sources().unwrap() };
    let list = |from: Option<&str>, now: i64| {
        let from = from.map(|f| format!("&from={f}")).unwrap_or_default();
        let records = answer(&reader, &service(), &repo, &args(&format!("verb=ListIdentifiers&metadataPrefix=oai_dc{from}")), now).unwrap();
        let pages = wiki::answer(&reader, &service(), "w", &args(&format!("verb=ListIdentifiers&metadataPrefix=mediawiki{from}")), now).unwrap();
        (String::from_utf8(records).unwrap(), String::from_utf8(pages).unwrap())
    };
    let (records, pages) = list(None, now);
    assert_eq!((error_code(&records), error_code(&pages)), (Some("noRecordsMatch"), Some("noRecordsMatch")), "{records}\n{pages}");
    let response_date = between(&records, "<responseDate>", "<").remove(0).to_string();

    // Both writes commit a second later; the next harvest goes on from the
    // last responseDate and finds both.
    clock.store(1_000_011, Ordering::SeqCst);
    write.finish(None).unwrap();
    waiting.join().unwrap();
    let (records, pages) = list(Some(&response_date), clock.load(Ordering::SeqCst) - 1);
    assert!(records.contains("oai:origin:1"), "the record is missed: {records}");
    assert!(pages.contains("<identifier>"), "the page is missed: {pages}");
}

/// A store holding these (identifier, metadata) records of one source,
/// stored in one page; and the source's key.
fn store_of(records: &[(String, String)]) -> (Store, SourceKey) {
    let mut store = Store::open_in_memory().unwrap();
    let key = SourceKey { base_url: "http://origin/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
    let source = store.source(&key, 0).unwrap();
    let run = store.start_run(source.id, &RunPlan::default(), &Position::default(), 0).unwrap();
    let input = records
        .iter()
        .map(|(id, m)| RecordIn {
            identifier: id,
            datestamp: "2001-01-01",
            datestamp_unix: 978_307_200,
            deleted: false,
            sets: &[],
            metadata: Some(m.as_bytes()),
            about: None,
            text: None,
        })
        .collect();
    store.commit_page(run.id, &PageCommit::of_records(input, 0)).unwrap();
    (store, key)
}

fn args(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

#[test]
fn metadata_that_is_not_well_formed_is_left_out_and_the_answer_stays_well_formed() {
    let bad = ["<a><b></a>", "<a>&undefined;</a>", "<?xml version=\"1.0\"?><a/>", "<dc>good</dc>"];
    let (store, key) = store_of(&bad.iter().enumerate().map(|(i, m)| (format!("oai:origin:{i}"), m.to_string())).collect::<Vec<_>>());
    let repo = Repository { name: "origin".into(), origin: key.base_url.clone(), sources: store.sources().unwrap() };
    for query in ["verb=ListRecords&metadataPrefix=oai_dc", "verb=GetRecord&metadataPrefix=oai_dc&identifier=oai:origin:1"] {
        let doc = ask(&store, &repo, query);
        let body = doc.split_once("?>").unwrap().1;
        assert!(crate::util::well_formed_element(body.as_bytes()), "{doc}");
    }
    let doc = ask(&store, &repo, "verb=ListRecords&metadataPrefix=oai_dc");
    assert_eq!(between(&doc, "<record>", "</record>").len(), 4, "every record is listed, header and provenance kept: {doc}");
    assert_eq!(between(&doc, "<metadata>", "</metadata>"), ["<dc>good</dc>"]);
    let mut cat = Vec::new();
    for r in bad {
        let record = checkpoints::StoredRecord { metadata: Some(r.as_bytes().to_vec()), ..checkpoints::StoredRecord::default() };
        crate::records::write_xml(&mut cat, &record).unwrap();
    }
    assert_eq!(String::from_utf8(cat).unwrap().matches("<metadata>").count(), 1, "cat --format xml leaves them out alike");
}

#[test]
fn a_page_of_large_records_ends_at_its_byte_bound_and_the_list_goes_on() {
    let records: Vec<(String, String)> = (0..30).map(|i| (format!("oai:origin:{i:02}"), format!("<dc>{i} {}</dc>", "x".repeat(300 << 10)))).collect();
    let (store, key) = store_of(&records);
    let ids: Vec<String> = records.iter().map(|(id, _)| id.clone()).collect();
    let repo = Repository { name: "origin".into(), origin: key.base_url.clone(), sources: store.sources().unwrap() };
    let mut seen = Vec::new();
    let mut query = "verb=ListRecords&metadataPrefix=oai_dc".to_string();
    let mut sizes = Vec::new();
    loop {
        let doc = ask(&store, &repo, &query);
        sizes.push(doc.len());
        seen.extend(between(&doc, "<header><identifier>", "</identifier>").into_iter().map(str::to_string));
        match between(&doc, "<resumptionToken", "</resumptionToken>").first().and_then(|t| t.split('>').nth(1)).filter(|t| !t.is_empty()) {
            Some(token) => query = format!("verb=ListRecords&resumptionToken={token}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "each once, in order");
    assert!(sizes.len() >= 3 && sizes.iter().all(|s| *s < PAGE_BYTES + (400 << 10)), "pages of {sizes:?} bytes");
}

/// A page whose text is larger than what is read with a page is written a
/// part at a time, escaped across the parts' ends (a character cut in
/// two, markup), and spooled: it reads back whole.
#[test]
fn a_large_page_is_served_whole_from_parts() {
    let mut store = Store::open_in_memory().unwrap();
    let text: String = (0..80_000).map(|i| format!("line {i}: Ωmega & <b>bold</b> \u{1F600} \"q\"\n")).collect();
    assert!(text.len() as i64 > checkpoints::INLINE_TEXT * 2);
    let revision = checkpoints::RevisionRow {
        revid: 7,
        timestamp: "2026-01-01T00:00:00Z".into(),
        user: "Ann".into(),
        sha1: crate::util::sha1_hex(&text),
        text: text.clone(),
        ..checkpoints::RevisionRow::default()
    };
    let page = checkpoints::PageRow { pageid: 1, ns: 0, title: "Big".into(), redirect: None, displaced: false, rev_id: 7 };
    store.apply_wiki_batch("w", &[checkpoints::PageOp::Upsert { page, revisions: vec![revision] }], None, 0).unwrap();
    let served = store.served_wiki_page("w", 1).unwrap().unwrap();
    assert!(served.large_text.is_some() && served.revision.as_ref().unwrap().text.is_empty(), "not read with the page");
    let args = args("verb=GetRecord&metadataPrefix=mediawiki&identifier=oai:mirror.example:w:1");
    let answer = wiki::answer_spooled(&store, &service(), "w", &args, 1_800_000_000).unwrap();
    assert!(answer.body.total_len() > answer.body.len() as u64, "spooled to disk");
    let doc = String::from_utf8(answer.into_vec().unwrap()).unwrap();
    let metadata = doc.split("<metadata>").nth(1).unwrap().split("</metadata>").next().unwrap();
    let pages = crate::mirror::export::parse(metadata).unwrap();
    assert_eq!(pages[0].revisions[0].text, text);
    assert!(metadata.contains(&format!("<text bytes=\"{}\"", text.len())));
}
