//! What the root package's fuzz targets check, shared with the test that
//! replays their corpora (tests/it/fuzz_corpus.rs).

use std::collections::HashSet;

use oai_mirror::mediawiki::types;
use oai_mirror::merge::{self, Merged};
use oai_mirror::sync::checkout;

/// Any answer of the action API, and any export document: read without a panic.
pub fn mediawiki(data: &[u8]) {
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = types::api_error(&v);
        let _ = types::read_siteinfo(&v);
        let _ = types::read_userinfo(&v);
        let _ = types::read_pages(&v);
        let _ = types::read_revisions(&v);
        let _ = types::read_edit(&v);
        let _ = types::read_move(&v);
        let _ = types::read_changes(&v);
    }
    let _ = oai_mirror::mirror::export::parse(&String::from_utf8_lossy(data));
}

/// Checkout names: every title has a safe name within the limit that reads
/// back as the same title (or a hashed one), and any name reads without a panic.
pub fn names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = checkout::title_of(&text);
    let title = text.as_ref();
    if title.trim().is_empty() {
        return;
    }
    let name = checkout::file_name(title, &HashSet::new());
    assert!(name.len() <= checkout::MAX_NAME, "{} bytes", name.len());
    assert!(!name.contains('/') && !name.contains('\0') && !name.starts_with('.'), "{name:?}");
    if !checkout::is_hashed(&name) {
        assert_eq!(checkout::title_of(&name).as_deref(), Ok(title), "{name:?}");
        // A title whose plain name is taken in case only gets a hashed one.
        let twin = checkout::file_name(title, &HashSet::from([name.to_lowercase()]));
        assert!(checkout::is_hashed(&twin) && twin.to_lowercase() != name.to_lowercase(), "{twin:?}");
    }
}

/// The three-way merge: its laws hold exactly, and a clean result keeps
/// every change of both sides. Input: base, ours, theirs, split at U+0001.
pub fn merge(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let (base, ours, theirs) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let labels = ("ours", "theirs");
    assert_eq!(merge::three_way(base, ours, base, labels), Merged::Clean(ours.to_string()));
    assert_eq!(merge::three_way(base, base, theirs, labels), Merged::Clean(theirs.to_string()));
    assert_eq!(merge::three_way(base, ours, ours, labels), Merged::Clean(ours.to_string()));
    // When both sides changed the base differently, a clean result keeps
    // every change of both. (When they made the same change, the laws
    // above say what the result is; the line count of `keeps_all_changes`
    // would count that change twice.)
    if ours != theirs
        && ours != base
        && theirs != base
        && let Merged::Clean(result) = merge::three_way(base, ours, theirs, labels)
    {
        assert!(merge::keeps_all_changes(base, ours, theirs, &result), "a clean merge lost a change");
    }
}

/// A package's parts: any manifest and any XML read without a panic, a
/// manifest that reads is judged against any state, and pages come one at
/// a time within the bound, each title checked. Input: the manifest's
/// JSON, then the XML, split at the first U+0001.
pub fn package(data: &[u8]) {
    use oai_mirror::package::{manifest, xml};
    let split = data.iter().position(|&b| b == 1).unwrap_or(data.len());
    let (json, rest) = data.split_at(split);
    if let Ok(m) = serde_json::from_slice::<manifest::Manifest>(json) {
        let _ = manifest::describe(&m);
        let _ = manifest::admit(&m, "w", None, false);
        let _ = manifest::admit(&m, "w", None, true);
        for end in [i64::MIN, 0, m.end, i64::MAX] {
            let applied = manifest::Applied { stream: m.stream.clone(), origin: m.wiki.clone(), sequence: m.sequence, end };
            if let Ok(manifest::Verdict::Apply) = manifest::admit(&m, "w", Some(&applied), true) {
                assert!(m.end > end, "a range applied already is applied again");
            }
        }
    }
    const MAX: usize = 1 << 16;
    let mut pages = xml::PageReader::new(std::io::Cursor::new(rest.get(1..).unwrap_or_default()), MAX);
    for _ in 0..10_000 {
        match pages.next_page() {
            Ok(Some(page)) => {
                let _ = oai_mirror::mediawiki::title_problem(&page.title);
                let _ = page.into_incoming();
            }
            Ok(None) | Err(_) => break,
        }
    }
    let _ = pages.site();
}

/// The OAI-PMH server's request handling: any query string gets an answer
/// that is well-formed XML, never a panic, from a store of a few records.
pub fn request(data: &[u8]) {
    use oai_mirror::serve::{self, request};
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(data).into_owned().collect();
    let _ = request::parse(&pairs);
    let _ = serve::token::Token::decode(&String::from_utf8_lossy(data));
    thread_local! {
        static STORE: (checkpoints::Store, serve::Repository) = served_store();
    }
    let service = serve::Service { public_url: "http://mirror".into(), admin_emails: vec!["a@b.org".into()], namespace: "mirror.example".into() };
    STORE.with(|(store, repo)| {
        let answer = serve::answer(store, &service, repo, &pairs, 1_800_000_000).expect("an answer");
        well_formed(&answer);
        let answer = serve::wiki::answer(store, &service, "w", &pairs, 1_800_000_000).expect("an answer");
        well_formed(&answer);
    });
}

fn served_store() -> (checkpoints::Store, oai_mirror::serve::Repository) {
    use checkpoints::{PageCommit, PageOp, PageRow, Position, RecordIn, RevisionRow, RunPlan, SourceKey};
    let mut store = checkpoints::Store::open_in_memory().unwrap();
    store.set_clock(|| 1_700_000_000);
    let key = SourceKey { base_url: "http://origin/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
    let source = store.source(&key, 0).unwrap();
    let run = store.start_run(source.id, &RunPlan::default(), &Position::default(), 0).unwrap();
    let sets = vec!["s0".to_string()];
    let metadata: Vec<String> = (0..5).map(|i| format!("<dc xmlns=\"http://purl.org/dc/elements/1.1/\">r {i} &amp;</dc>")).collect();
    let ids: Vec<String> = (0..5).map(|i| format!("oai:origin:{i}")).collect();
    let records = (0..5)
        .map(|i| RecordIn {
            identifier: &ids[i],
            datestamp: "2001-01-01",
            datestamp_unix: 978_307_200,
            deleted: i == 4,
            sets: &sets,
            metadata: (i != 4).then(|| metadata[i].as_bytes()),
            about: None,
            text: None,
        })
        .collect();
    store.commit_page(run.id, &PageCommit::of_records(records, 1_700_000_000)).unwrap();
    let revision = RevisionRow { revid: 7, timestamp: "2026-01-01T00:00:00Z".into(), user: "Ann".into(), text: "a & b".into(), ..RevisionRow::default() };
    let page = PageRow { pageid: 1, ns: 0, title: "A & B".into(), redirect: None, displaced: false, rev_id: 7 };
    store.apply_wiki_batch("w", &[PageOp::Upsert { page, revisions: vec![revision] }], None, 0).unwrap();
    let repo = oai_mirror::serve::Repository { name: "origin".into(), origin: key.base_url, sources: store.sources().unwrap() };
    (store, repo)
}

/// Panics unless `doc` is well-formed XML with its end tags matching.
fn well_formed(doc: &[u8]) {
    let mut r = quick_xml::Reader::from_reader(doc);
    r.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut depth = 0i64;
    loop {
        match r.read_event_into(&mut buf) {
            Ok(quick_xml::events::Event::Start(_)) => depth += 1,
            Ok(quick_xml::events::Event::End(_)) => depth -= 1,
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("not well-formed at {}: {e}\n{}", r.buffer_position(), String::from_utf8_lossy(doc)),
        }
        buf.clear();
    }
    assert_eq!(depth, 0, "{}", String::from_utf8_lossy(doc));
}
