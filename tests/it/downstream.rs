//! A downstream mirror of a served repository and a served wiki, harvesting
//! again and again while the upstream harvests, imports package-like
//! batches, forgets a source and brings it back, with writes held open
//! across downstream harvests and a harvest's page waiting for the lock
//! meanwhile: at the end the downstream copy equals what a fresh full
//! harvest of the upstream gets, for every seed. The downstream always
//! goes on from the first responseDate of its previous list, as a
//! harvester following OAI-PMH does. Time is the test's (an injected store
//! clock and the answers' `now`), so each seed runs the same every time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use checkpoints::{PageCommit, PageOp, PageRow, Position, RecordIn, RevisionRow, RunPlan, SourceKey, Store};
use oai_mirror::serve::{self, Repository, Service};

const WIKI: &str = "w";

fn service() -> Service {
    Service { public_url: "http://up".into(), admin_emails: vec!["a@b.org".into()], namespace: "up.example".into() }
}

fn key(n: u32) -> SourceKey {
    SourceKey { base_url: format!("http://origin-{n}/oai"), metadata_prefix: "oai_dc".into(), set_spec: None }
}

/// What a harvester holds of one list: identifier → metadata (`None`: deleted).
type Copy = BTreeMap<String, Option<String>>;

fn text(r: oai::Record) -> Option<String> {
    if r.header.deleted { None } else { r.metadata.map(|m| String::from_utf8_lossy(&m).into_owned()) }
}

/// Asks the upstream (query arguments in, the answer's text out).
type Ask<'a> = dyn Fn(&[(String, String)]) -> String + 'a;

/// A harvester of one served list, going on from its last responseDate.
#[derive(Default)]
struct Downstream {
    copy: Copy,
    from: Option<String>,
}

/// Asks `ask` for a whole list (following resumption tokens); returns its
/// records and the first response's date.
fn walk(ask: &Ask<'_>, prefix: &str, from: Option<&str>) -> (Vec<oai::Record>, String) {
    let origin = oai::Origin { url: "http://up/oai".into(), verb: oai::Verb::ListRecords, token: None };
    let mut args: Vec<(String, String)> = vec![("verb".into(), "ListRecords".into()), ("metadataPrefix".into(), prefix.into())];
    if let Some(from) = from {
        args.push(("from".into(), from.into()));
    }
    let (mut records, mut first_date) = (Vec::new(), None);
    loop {
        let body = ask(&args);
        match oai::parse::list_records(&body, &origin, 200) {
            Ok(page) => {
                first_date.get_or_insert(page.response_date.clone());
                records.extend(page.items);
                match page.token.filter(|t| !t.value.is_empty()) {
                    Some(t) => args = vec![("verb".into(), "ListRecords".into()), ("resumptionToken".into(), t.value)],
                    None => break,
                }
            }
            Err(oai::Error::Oai { ref errors, .. }) if errors.iter().any(|e| e.code == oai::ErrorCode::NoRecordsMatch) => {
                let date = body.split("<responseDate>").nth(1).and_then(|r| r.split('<').next()).unwrap().to_string();
                first_date.get_or_insert(date);
                break;
            }
            Err(e) => panic!("{e}\n{body}"),
        }
    }
    (records, first_date.unwrap())
}

impl Downstream {
    fn harvest(&mut self, ask: &Ask<'_>, prefix: &str) {
        let (records, date) = walk(ask, prefix, self.from.as_deref());
        for r in records {
            self.copy.insert(r.header.identifier.clone(), text(r));
        }
        self.from = Some(date);
    }
}

fn full(ask: &Ask<'_>, prefix: &str) -> Copy {
    walk(ask, prefix, None).0.into_iter().map(|r| (r.header.identifier.clone(), text(r))).collect()
}

/// The upstream: two connections to one store (so one can wait for the
/// other's lock), one clock, and what it has made so far.
struct Upstream {
    path: std::path::PathBuf,
    writer: Store,
    clock: Arc<AtomicI64>,
    rng: fastrand::Rng,
    next_rev: u64,
    /// Live pages: id → title.
    pages: BTreeMap<u64, String>,
    deleted: Vec<u64>,
    datestamp: i64,
}

impl Upstream {
    fn store(&self) -> Store {
        let mut store = Store::open(&self.path).unwrap();
        let clock = self.clock.clone();
        store.set_clock(move || clock.load(Ordering::SeqCst));
        store
    }

    fn tick(&mut self, max: i64) {
        let by = self.rng.i64(0..=max);
        self.clock.fetch_add(by, Ordering::SeqCst);
    }

    /// A harvested page of records of source `n`: new ones, changed ones,
    /// deletions.
    fn records(&mut self, n: u32) -> (SourceKey, Vec<(String, bool, String)>, i64) {
        self.datestamp += 1;
        let count = self.rng.usize(1..60);
        let records = (0..count)
            .map(|_| {
                let id = format!("oai:origin-{n}:{}", self.rng.u32(0..150));
                let deleted = self.rng.u8(..10) == 0;
                (id, deleted, format!("<dc xmlns=\"http://purl.org/dc/elements/1.1/\">v{} &amp; more</dc>", self.datestamp))
            })
            .collect();
        (key(n), records, self.datestamp)
    }

    fn wiki_ops(&mut self) -> Vec<PageOp> {
        let mut ops = Vec::new();
        for _ in 0..self.rng.usize(1..8) {
            let live: Vec<u64> = self.pages.keys().copied().collect();
            match self.rng.u8(..10) {
                0..=4 => {
                    // A new page, or an edit.
                    let id = if live.is_empty() || self.rng.bool() { self.rng.u64(1..60) } else { live[self.rng.usize(..live.len())] };
                    if self.deleted.contains(&id) || ops.iter().any(|o| matches!(o, PageOp::Delete { pageid } if *pageid == id)) {
                        continue;
                    }
                    let title = self.pages.get(&id).cloned().unwrap_or_else(|| format!("P{id}"));
                    if !self.pages.contains_key(&id) && self.pages.values().any(|t| *t == title) {
                        continue;
                    }
                    ops.push(self.upsert(id, &title));
                }
                5..=6 if !live.is_empty() => {
                    // A move to a title no page has.
                    let id = live[self.rng.usize(..live.len())];
                    let title = format!("P{id} moved {}", self.next_rev);
                    ops.push(self.upsert(id, &title));
                }
                7..=8 if !live.is_empty() => {
                    let id = live[self.rng.usize(..live.len())];
                    self.pages.remove(&id);
                    self.deleted.push(id);
                    ops.push(PageOp::Delete { pageid: id });
                }
                _ => {}
            }
        }
        ops
    }

    fn upsert(&mut self, id: u64, title: &str) -> PageOp {
        self.next_rev += 1;
        self.pages.insert(id, title.to_string());
        let text = format!("text {} of page {id}", self.next_rev);
        let revision = RevisionRow {
            revid: self.next_rev,
            timestamp: "2026-01-01T00:00:00Z".into(),
            user: "Ann".into(),
            sha1: oai_mirror::util::sha1_hex(&text),
            text,
            ..RevisionRow::default()
        };
        let page = PageRow { pageid: id, ns: 0, title: title.into(), redirect: None, displaced: false, rev_id: self.next_rev };
        PageOp::Upsert { page, revisions: vec![revision] }
    }
}

fn harvest_page(store: &mut Store, key: &SourceKey, records: &[(String, bool, String)], datestamp: i64) {
    let source = store.source(key, 0).unwrap();
    let run = store.start_run(source.id, &RunPlan::default(), &Position::default(), 0).unwrap();
    let stamp = format!("2001-01-01T00:00:{:02}Z", datestamp % 60);
    let sets: Vec<String> = Vec::new();
    let input = records
        .iter()
        .map(|(id, deleted, m)| RecordIn {
            identifier: id,
            datestamp: &stamp,
            datestamp_unix: 978_307_200 + datestamp,
            deleted: *deleted,
            sets: &sets,
            metadata: (!deleted).then_some(m.as_bytes()),
            about: None,
            text: None,
        })
        .collect();
    store.commit_page(run.id, &PageCommit::of_records(input, 0)).unwrap();
}

/// Every repository the store serves, by name, and its wiki, as answers to
/// the arguments given, at `now`.
fn asker<'a>(reader: &'a Store, repo: Option<&'a Repository>, now: i64) -> impl Fn(&[(String, String)]) -> String + 'a {
    move |args: &[(String, String)]| {
        let body = match repo {
            Some(repo) => serve::answer(reader, &service(), repo, args, now).unwrap(),
            None => serve::wiki::answer(reader, &service(), WIKI, args, now).unwrap(),
        };
        String::from_utf8(body).unwrap()
    }
}

fn repositories(reader: &Store) -> BTreeMap<String, Repository> {
    serve::repositories(&Default::default(), reader.served_sources().unwrap(), &reader.served_names().unwrap())
        .into_iter()
        .map(|r| (r.origin.clone(), r))
        .collect()
}

fn trial(seed: u64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("up.sqlite");
    let clock = Arc::new(AtomicI64::new(1_900_000_000));
    let writer = Store::open(&path).unwrap();
    let mut up = Upstream { path, writer, clock, rng: fastrand::Rng::with_seed(seed), next_rev: 0, pages: BTreeMap::new(), deleted: Vec::new(), datestamp: 0 };
    up.writer = up.store();
    let mut down_records: BTreeMap<String, Downstream> = BTreeMap::new();
    let mut down_wiki = Downstream::default();
    let downstream = |path: &std::path::Path, clock: &AtomicI64, down_records: &mut BTreeMap<String, Downstream>, down_wiki: &mut Downstream| {
        let reader = Store::open_read_only(path).unwrap();
        // A moment older than now, as the server says it.
        let now = clock.load(Ordering::SeqCst) - 1;
        for (origin, repo) in repositories(&reader) {
            down_records.entry(origin).or_default().harvest(&asker(&reader, Some(&repo), now), "oai_dc");
        }
        if reader.has_wiki(WIKI).unwrap() {
            down_wiki.harvest(&asker(&reader, None, now), "mediawiki");
        }
    };
    for _ in 0..14 {
        up.tick(2);
        match up.rng.u8(..6) {
            0 | 1 => {
                let n = up.rng.u32(1..=2);
                let (key, records, stamp) = up.records(n);
                harvest_page(&mut up.writer, &key, &records, stamp);
            }
            2 => {
                let ops = up.wiki_ops();
                up.writer.apply_wiki_batch(WIKI, &ops, None, 0).unwrap();
            }
            3 => {
                if let Some(source) = up.writer.find_source(&key(2)).unwrap() {
                    up.writer.forget_source(source.id, 0).unwrap();
                }
            }
            4 => downstream(&up.path, &up.clock, &mut down_records, &mut down_wiki),
            _ => {
                // A package's write held open across a downstream harvest,
                // a harvest's page waiting for the lock all that while.
                let ops = up.wiki_ops();
                let (key, records, stamp) = up.records(1);
                let mut waiting = up.store();
                let mut write = up.writer.begin_wiki_write(WIKI, 0).unwrap();
                write.apply(&ops).unwrap();
                let page = std::thread::spawn(move || harvest_page(&mut waiting, &key, &records, stamp));
                up.clock.fetch_add(10, Ordering::SeqCst);
                downstream(&up.path, &up.clock, &mut down_records, &mut down_wiki);
                up.clock.fetch_add(1, Ordering::SeqCst);
                write.finish(None).unwrap();
                page.join().unwrap();
            }
        }
    }
    up.clock.fetch_add(2, Ordering::SeqCst);
    downstream(&up.path, &up.clock, &mut down_records, &mut down_wiki);

    let reader = Store::open_read_only(&up.path).unwrap();
    let now = up.clock.load(Ordering::SeqCst);
    for (origin, repo) in repositories(&reader) {
        let fresh = full(&asker(&reader, Some(&repo), now), "oai_dc");
        let copy = down_records.get(&origin).map(|d| d.copy.clone()).unwrap_or_default();
        assert_eq!(copy, fresh, "seed {seed}: the downstream copy of {origin} differs from a full harvest");
    }
    if reader.has_wiki(WIKI).unwrap() {
        let fresh = full(&asker(&reader, None, now), "mediawiki");
        assert_eq!(down_wiki.copy, fresh, "seed {seed}: the downstream copy of the wiki differs from a full harvest");
    }
}

#[test]
fn a_downstream_mirror_going_on_from_each_response_date_ends_equal_for_every_seed() {
    for seed in 0..24 {
        trial(seed);
    }
}
