use super::*;
use crate::runs::*;

fn key() -> SourceKey {
    SourceKey { base_url: "http://127.0.0.1/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None }
}

fn rec<'a>(id: &'a str, datestamp: &'a str, unix: i64, meta: &'a [u8], sets: &'a [String]) -> RecordIn<'a> {
    RecordIn { identifier: id, datestamp, datestamp_unix: unix, deleted: false, sets, metadata: Some(meta), about: None, text: None }
}

fn page<'a>(records: Vec<RecordIn<'a>>, token: Option<&str>, now: i64) -> PageCommit<'a> {
    PageCommit {
        next: Position { token: token.map(str::to_string), ..Default::default() },
        response_date: Some(format!("2026-01-01T00:00:{now:02}Z")),
        ..PageCommit::of_records(records, now)
    }
}

#[test]
fn migrations_set_the_user_version_and_newer_databases_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), schema::MIGRATIONS.len() as i64);
    drop(store);
    // Reopening is a no-op.
    Store::open(&path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    match Store::open(&path) {
        Err(Error::NewerSchema { found: 99, .. }) => {}
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn a_page_and_its_position_are_committed_together() {
    let mut s = Store::open_in_memory().unwrap();
    let src = s.source(&key(), 1).unwrap();
    let run = s.start_run(src.id, &RunPlan::default(), &Position::default(), 1).unwrap();
    let sets = vec!["a".to_string(), "b:c".to_string()];
    s.commit_page(run.id, &page(vec![rec("x", "2020-01-01", 10, b"<m/>", &sets)], Some("t1"), 2)).unwrap();
    let r = s.run(run.id).unwrap();
    assert_eq!(r.position.token.as_deref(), Some("t1"));
    assert_eq!((r.tally.pages, r.tally.records, r.tally.requests), (1, 1, 1));
    assert_eq!(r.server_started.as_deref(), Some("2026-01-01T00:00:02Z"));
    // The second page does not move the run's server start.
    s.commit_page(run.id, &page(vec![], None, 3)).unwrap();
    let r = s.run(run.id).unwrap();
    assert_eq!(r.server_started.as_deref(), Some("2026-01-01T00:00:02Z"));
    assert_eq!(r.position.token, None);
    let stored = s.record("x").unwrap();
    assert_eq!(stored[0].sets, sets);
    assert_eq!(stored[0].metadata.as_deref(), Some(&b"<m/>"[..]));
}

#[test]
fn an_older_datestamp_never_overwrites_a_newer_one() {
    let mut s = Store::open_in_memory().unwrap();
    let src = s.source(&key(), 1).unwrap();
    let run = s.start_run(src.id, &RunPlan::default(), &Position::default(), 1).unwrap();
    s.commit_page(run.id, &page(vec![rec("x", "2020-01-02", 200, b"new", &[])], Some("a"), 5)).unwrap();
    s.commit_page(run.id, &page(vec![rec("x", "2020-01-01", 100, b"old", &[])], Some("b"), 6)).unwrap();
    let r = &s.record("x").unwrap()[0];
    assert_eq!((r.datestamp.as_str(), r.metadata.as_deref()), ("2020-01-02", Some(&b"new"[..])));
    assert_eq!((r.first_seen, r.last_seen), (5, 6));
    // The same datestamp again replaces (a corrected record).
    s.commit_page(run.id, &page(vec![rec("x", "2020-01-02", 200, b"fixed", &[])], None, 7)).unwrap();
    assert_eq!(s.record("x").unwrap()[0].metadata.as_deref(), Some(&b"fixed"[..]));
    let mut n = 0;
    s.for_each_record(None, |_| {
        n += 1;
        true
    })
    .unwrap();
    assert_eq!(n, 1, "upserts never duplicate");
}

#[test]
fn finishing_a_run_sets_next_from_and_an_interrupted_run_is_found_again() {
    let mut s = Store::open_in_memory().unwrap();
    let src = s.source(&key(), 1).unwrap();
    let plan = RunPlan { range_from: Some("2020-01-01".into()), ..Default::default() };
    let run = s.start_run(src.id, &plan, &Position::default(), 1).unwrap();
    s.commit_page(run.id, &page(vec![], Some("t"), 2)).unwrap();
    let open = s.open_run(src.id).unwrap().unwrap();
    assert_eq!((open.id, open.plan.clone(), open.position.token.as_deref()), (run.id, plan, Some("t")));
    s.finish_run(run.id, Some("2026-01-01T00:00:02Z"), 3, false).unwrap();
    assert!(s.open_run(src.id).unwrap().is_none());
    assert_eq!(s.source(&key(), 9).unwrap().next_from.as_deref(), Some("2026-01-01T00:00:02Z"));
    assert_eq!(s.last_run(src.id).unwrap().unwrap().state, RunState::Completed);
}

#[test]
fn a_new_plan_abandons_the_interrupted_run() {
    let mut s = Store::open_in_memory().unwrap();
    let src = s.source(&key(), 1).unwrap();
    let first = s.start_run(src.id, &RunPlan::default(), &Position::default(), 1).unwrap();
    let second = s.start_run(src.id, &RunPlan { window: Some("day".into()), ..Default::default() }, &Position::default(), 2).unwrap();
    assert_eq!(s.run(first.id).unwrap().state, RunState::Abandoned);
    assert_eq!(s.open_run(src.id).unwrap().unwrap().id, second.id);
}

#[test]
fn sets_distinguish_sources() {
    let s = Store::open_in_memory().unwrap();
    let a = s.source(&key(), 1).unwrap();
    let b = s.source(&SourceKey { set_spec: Some("math".into()), ..key() }, 1).unwrap();
    assert_ne!(a.id, b.id);
    assert_eq!(s.source(&key(), 2).unwrap().id, a.id);
    assert_eq!(s.sources().unwrap()[1].key.set_spec.as_deref(), Some("math"));
}

#[test]
fn a_checkout_file_keeps_its_id_when_its_name_comes_back() {
    let s = Store::open_in_memory().unwrap();
    let id = s.add_checkout_file("co", "A.wiki", "A", 7).unwrap();
    assert_ne!(s.add_checkout_file("other", "A.wiki", "A", 7).unwrap(), id, "names are per sync");
    let mut f = s.checkout_file(id).unwrap().unwrap();
    assert_eq!((f.name.as_str(), f.title.as_str(), f.fingerprint, f.present), ("A.wiki", "A", 7, true));
    f.present = false;
    s.update_checkout_file(&f).unwrap();
    // The same name again is the same file, present once more.
    assert_eq!(s.add_checkout_file("co", "A.wiki", "A", 9).unwrap(), id);
    let f = s.checkout_file(id).unwrap().unwrap();
    assert_eq!((f.fingerprint, f.present), (9, true));
    // Fingerprints use all 64 bits.
    let big = s.add_checkout_file("co", "B.wiki", "B", u64::MAX - 1).unwrap();
    assert_eq!(s.checkout_file(big).unwrap().unwrap().fingerprint, u64::MAX - 1);
    s.forget_checkout_file(id).unwrap();
    assert!(s.checkout_file(id).unwrap().is_none());
    assert_eq!(s.checkout_files("co").unwrap().len(), 1);
}

#[test]
fn a_group_of_pages_commits_whole_or_not_at_all() {
    let mut s = Store::open_in_memory().unwrap();
    let src = s.source(&key(), 1).unwrap();
    let run = s.start_run(src.id, &RunPlan::default(), &Position::default(), 1).unwrap();
    let group = [page(vec![rec("a", "2020-01-01", 1, b"1", &[])], Some("t1"), 2), page(vec![rec("b", "2020-01-01", 1, b"2", &[])], Some("t2"), 3)];
    s.commit_pages(run.id, &group).unwrap();
    let r = s.run(run.id).unwrap();
    // The run stands after the last page; the first one's responseDate is the start.
    assert_eq!(r.position.token.as_deref(), Some("t2"));
    assert_eq!((r.tally.pages, r.tally.records, r.tally.requests), (2, 2, 2));
    assert_eq!(r.server_started.as_deref(), Some("2026-01-01T00:00:02Z"));

    // A record that fails in the second page takes the first page with it.
    s.conn().execute_batch("CREATE TEMP TRIGGER refuse BEFORE INSERT ON record WHEN NEW.identifier = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END").unwrap();
    let group = [page(vec![rec("c", "2020-01-01", 1, b"3", &[])], Some("t3"), 4), page(vec![rec("bad", "2020-01-01", 1, b"4", &[])], Some("t4"), 5)];
    let err = s.commit_pages(run.id, &group).unwrap_err();
    assert!(err.to_string().contains("storing record bad"), "{err}");
    assert!(s.record("c").unwrap().is_empty());
    let r = s.run(run.id).unwrap();
    assert_eq!((r.position.token.as_deref(), r.tally.pages), (Some("t2"), 2));
}

/// Metadata like a repository's: the same frame, different values.
fn dc(i: usize) -> Vec<u8> {
    format!(
        "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\">\
         <dc:title>Record {i} &amp; &lt;more&gt;</dc:title><dc:creator>Author {}</dc:creator><dc:date>2001-01-{:02}</dc:date></oai_dc:dc>",
        i * 7919 % 1013,
        i % 28 + 1
    )
    .into_bytes()
}

/// `n` records like a repository's: identifiers `{prefix}{i}`, metadata [`dc`]`(i)`.
struct Batch {
    ids: Vec<String>,
    metas: Vec<Vec<u8>>,
}

impl Batch {
    fn new(prefix: &str, n: usize) -> Batch {
        Batch { ids: (0..n).map(|i| format!("{prefix}{i}")).collect(), metas: (0..n).map(dc).collect() }
    }

    fn records(&self, range: std::ops::Range<usize>) -> Vec<RecordIn<'_>> {
        range.map(|i| rec(&self.ids[i], "2020-01-01", 1, &self.metas[i], &[])).collect()
    }
}

/// A source of `key` and a run of it.
fn start(s: &mut Store, key: &SourceKey) -> (Source, Run) {
    let src = s.source(key, 1).unwrap();
    let run = s.start_run(src.id, &RunPlan::default(), &Position::default(), 1).unwrap();
    (src, run)
}

fn other_key() -> SourceKey {
    SourceKey { set_spec: Some("s".into()), ..key() }
}

fn stored_form(s: &Store, identifier: &str) -> (String, Option<i64>, usize) {
    s.conn()
        .query_row("SELECT metadata_codec, metadata_dictionary, length(metadata) FROM record WHERE identifier = ?1", [identifier], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as usize))
        })
        .unwrap()
}

#[test]
fn metadata_is_compressed_against_a_dictionary_per_source_and_read_back_exactly() {
    let mut s = Store::open_in_memory().unwrap();
    let (src, run) = start(&mut s, &key());
    let batch = Batch::new("r", 300);
    let (ids, metas) = (&batch.ids, &batch.metas);
    let records = |range| batch.records(range);

    // Too little metadata for a dictionary yet: stored as received.
    s.commit_page(run.id, &page(records(0..3), Some("t1"), 2)).unwrap();
    assert_eq!(stored_form(&s, "r0"), ("raw".to_string(), None, metas[0].len()));
    // Enough: the dictionary is made once, from this page, and used from then on.
    s.commit_page(run.id, &page(records(3..150), Some("t2"), 3)).unwrap();
    s.commit_page(run.id, &page(records(150..300), None, 4)).unwrap();
    let dictionaries: i64 = s.conn().query_row("SELECT count(*) FROM metadata_dictionary WHERE source_id = ?1", [src.id], |r| r.get(0)).unwrap();
    assert_eq!(dictionaries, 1);
    let (codec, dictionary, len) = stored_form(&s, "r299");
    assert_eq!((codec.as_str(), dictionary.is_some()), ("zstd", true));
    assert!(len * 3 < metas[299].len(), "{len} bytes stored for {}", metas[299].len());

    // Read back byte for byte, by one and by all; the reader loads the
    // dictionary from its table, not from the writer's compressor.
    for i in [0, 3, 150, 299] {
        assert_eq!(s.record(&ids[i]).unwrap()[0].metadata.as_deref(), Some(metas[i].as_slice()));
    }
    let mut seen = 0;
    s.for_each_record(Some(src.id), |r| {
        let i: usize = r.identifier[1..].parse().unwrap();
        assert_eq!(r.metadata.as_deref(), Some(metas[i].as_slice()), "{}", r.identifier);
        seen += 1;
        true
    })
    .unwrap();
    assert_eq!(seen, 300);

    // Another source gets a dictionary of its own.
    let (_, run2) = start(&mut s, &other_key());
    let others = Batch::new("o", 150);
    s.commit_page(run2.id, &page(others.records(0..150), None, 5)).unwrap();
    let (_, other_dictionary, _) = stored_form(&s, "o149");
    assert!(other_dictionary.is_some() && other_dictionary != dictionary);
}

#[test]
fn a_dictionary_rolled_back_with_its_group_is_not_used_afterwards() {
    let mut s = Store::open_in_memory().unwrap();
    let (src, run) = start(&mut s, &key());
    let batch = Batch::new("r", 200);
    s.conn().execute_batch("CREATE TEMP TRIGGER refuse BEFORE INSERT ON record WHEN NEW.identifier = 'r99' BEGIN SELECT RAISE(ABORT, 'refused'); END").unwrap();
    s.commit_page(run.id, &page(batch.records(0..100), Some("t1"), 2)).unwrap_err();
    s.conn().execute_batch("DROP TRIGGER refuse").unwrap();
    // Another source takes the rolled-back dictionary's id if it was kept.
    let (_, run2) = start(&mut s, &other_key());
    s.commit_page(run2.id, &page(batch.records(100..200), None, 3)).unwrap();
    s.commit_page(run.id, &page(batch.records(0..100), Some("t1"), 4)).unwrap();
    let owner: i64 = s
        .conn()
        .query_row("SELECT d.source_id FROM record r JOIN metadata_dictionary d ON d.id = r.metadata_dictionary WHERE r.identifier = 'r0'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(owner, src.id);
    assert_eq!(s.record("r0").unwrap()[0].metadata.as_deref(), Some(batch.metas[0].as_slice()));
}

#[test]
fn records_stored_before_compression_are_read_as_they_were() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.sqlite");
    {
        let mut conn = rusqlite::Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for sql in &schema::MIGRATIONS[..4] {
            tx.execute_batch(sql).unwrap();
        }
        tx.pragma_update(None, "user_version", 4).unwrap();
        tx.execute("INSERT INTO source (id, base_url, metadata_prefix, created_at) VALUES (1, 'http://x/oai', 'oai_dc', 0)", []).unwrap();
        tx.execute(
            "INSERT INTO record (source_id, identifier, datestamp, datestamp_unix, deleted, sets, metadata, first_seen, last_seen)
             VALUES (1, 'old', '2020-01-01', 1, 0, '', ?1, 0, 0)",
            [dc(1)],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(stored_form(&s, "old").0, "raw");
    assert_eq!(s.record("old").unwrap()[0].metadata, Some(dc(1)));
}

#[test]
fn damaged_stored_metadata_is_an_error_that_names_the_record() {
    let mut s = Store::open_in_memory().unwrap();
    let (_, run) = start(&mut s, &key());
    let batch = Batch::new("r", 100);
    s.commit_page(run.id, &page(batch.records(0..100), None, 2)).unwrap();
    assert_eq!(stored_form(&s, "r50").0, "zstd");
    s.conn().execute("UPDATE record SET metadata = substr(metadata, 1, length(metadata) - 3) WHERE identifier = 'r50'", []).unwrap();
    let err = s.record("r50").unwrap_err().to_string();
    assert!(err.contains("record r50"), "{err}");
    // The others are unharmed, and a listing that needs no metadata
    // neither reads it nor fails on it.
    assert_eq!(s.record("r51").unwrap()[0].metadata.as_deref(), Some(batch.metas[51].as_slice()));
    assert!(s.for_each_record(None, |_| true).is_err());
    let mut listed = Vec::new();
    s.for_each_record_header_filtered(&crate::RecordFilter::default(), |r| {
        assert_eq!(r.metadata, None);
        listed.push(r.identifier);
        true
    })
    .unwrap();
    assert_eq!(listed.len(), 100);
    assert!(listed.contains(&"r50".to_string()));
}

/// Two connections to one database (the daemon gives each run its own):
/// while one holds the write lock, the other's commit waits for it under
/// the busy timeout and then succeeds. A deferred transaction, which reads
/// first, would instead fail at once with SQLITE_BUSY once the other one
/// has committed: its snapshot would be stale.
#[test]
fn a_commit_waits_for_another_connections_write_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let mut harvest = Store::open(&path).unwrap();
    let src = harvest.source(&key(), 1).unwrap();
    let run = harvest.start_run(src.id, &RunPlan::default(), &Position::default(), 1).unwrap();
    let (holding_tx, holding) = std::sync::mpsc::channel();
    let other = {
        let path = path.clone();
        std::thread::spawn(move || {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).unwrap();
            tx.execute("INSERT INTO source (base_url, metadata_prefix, set_spec, created_at) VALUES ('http://other', 'oai_dc', '', 1)", []).unwrap();
            holding_tx.send(()).unwrap();
            // Long enough for the other commit to be waiting; far below the busy timeout.
            std::thread::sleep(std::time::Duration::from_millis(300));
            tx.commit().unwrap();
        })
    };
    holding.recv().unwrap();
    let sets = vec![];
    let committed = harvest.commit_page(run.id, &page(vec![rec("x", "2020-01-01", 10, b"<m/>", &sets)], None, 2));
    other.join().unwrap();
    committed.unwrap();
    assert_eq!(harvest.run(run.id).unwrap().tally.records, 1);
    assert_eq!(harvest.sources().unwrap().len(), 2);
}

/// Opening says what is wrong and what to do, with the path: a directory
/// that does not exist, a file that is not a database, no database yet
/// for a command that only reads. A read-only open never creates, migrates
/// or writes anything.
#[test]
fn opening_errors_name_the_path_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let missing_dir = dir.path().join("nope/m.sqlite");
    let e = Store::open(&missing_dir).err().unwrap();
    assert!(matches!(e, Error::NoDirectory { .. }), "{e:?}");
    assert!(e.to_string().contains("nope") && e.to_string().contains("create it"), "{e}");

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "these are not the pages you are looking for, and not SQLite either\n".repeat(100)).unwrap();
    let e = Store::open(&text).err().unwrap();
    assert!(matches!(e, Error::NotADatabase { .. }), "{e:?}");
    assert!(e.to_string().contains("notes.txt"), "{e}");
    let e = Store::open_read_only(&text).err().unwrap();
    assert!(matches!(e, Error::NotADatabase { .. }), "{e:?}");

    let fresh = dir.path().join("fresh.sqlite");
    let e = Store::open_read_only(&fresh).err().unwrap();
    assert!(matches!(e, Error::Missing { .. }) && e.to_string().contains("oai-mirror harvest"), "{e}");
    assert!(!fresh.exists(), "reading never creates a database");

    // A real one reads, and refuses writes with a clear error.
    drop(Store::open(&fresh).unwrap());
    let reader = Store::open_read_only(&fresh).unwrap();
    assert!(reader.sources().unwrap().is_empty());
    let e = reader.source(&SourceKey { base_url: "http://x".into(), metadata_prefix: "oai_dc".into(), set_spec: None }, 0).err().unwrap();
    assert!(matches!(e.on_open(&fresh), Error::ReadOnly { .. }));
}

/// SQLite's read-only error, however it arises, is told to the user as a
/// read-only database with its path and what to do.
#[test]
fn a_read_only_database_is_named_as_such() {
    let failure = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY), None);
    let e = Error::Sqlite { doing: "enabling WAL".into(), source: failure }.on_open(std::path::Path::new("/srv/m.sqlite"));
    let text = e.to_string();
    assert!(matches!(e, Error::ReadOnly { .. }) && text.contains("/srv/m.sqlite") && text.contains("write access"), "{text}");
}

#[test]
fn a_slice_page_moves_its_slice_and_the_run_tally_but_not_the_run_position() {
    let mut s = Store::open_in_memory().unwrap();
    let src = s.source(&key(), 1).unwrap();
    let plan = RunPlan { parallel: Some(2), ..Default::default() };
    let run = s.start_run(src.id, &plan, &Position::default(), 1).unwrap();
    let ranges = [(None, Some("2001-06-30".to_string())), (Some("2001-07-01".to_string()), None)];
    let [first, second]: [crate::Slice; 2] = s.plan_slices(run.id, &ranges).unwrap().try_into().unwrap();
    assert_eq!((first.from.as_deref(), second.until.as_deref()), (None, None), "the open ends stay open, in order");
    let sets = vec![];
    let mut begun = page(vec![rec("a", "2001-01-01", 1, b"<m/>", &sets)], Some("t1"), 2);
    begun.slice = Some(first.id);
    s.commit_page(run.id, &begun).unwrap();
    let mut last = page(vec![rec("b", "2001-08-01", 2, b"<m/>", &sets)], None, 3);
    last.slice = Some(second.id);
    s.commit_page(run.id, &last).unwrap();

    let slices = s.slices(run.id).unwrap();
    assert_eq!((slices[0].token.as_deref(), slices[0].done, slices[1].done), (Some("t1"), false, true));
    assert!(!s.slices(run.id).unwrap().iter().all(|x| x.done));
    let reread = s.run(run.id).unwrap();
    assert_eq!((reread.tally.records, reread.position, reread.plan), (2, Position::default(), plan));
    // A begun slice is followed, never split; an unknown slice is refused.
    assert!(matches!(s.split_slice(run.id, first.id, [(None, None), (None, None)]), Err(Error::NoSuchSlice { .. })));
    let mut stray = page(vec![], None, 4);
    stray.slice = Some(999);
    assert!(matches!(s.commit_page(run.id, &stray), Err(Error::NoSuchSlice { .. })));
    assert_eq!(s.run(run.id).unwrap().tally.records, 2, "the refused page left nothing behind");

    let mut end = page(vec![], None, 5);
    end.slice = Some(first.id);
    s.commit_page(run.id, &end).unwrap();
    assert!(s.slices(run.id).unwrap().iter().all(|x| x.done));
}

#[test]
fn an_untouched_slice_splits_into_its_halves_at_once() {
    let mut s = Store::open_in_memory().unwrap();
    let src = s.source(&key(), 1).unwrap();
    let run = s.start_run(src.id, &RunPlan { parallel: Some(4), ..Default::default() }, &Position::default(), 1).unwrap();
    let [whole]: [crate::Slice; 1] = s.plan_slices(run.id, &[(Some("2001-01-01".into()), Some("2001-12-31".into()))]).unwrap().try_into().unwrap();
    assert!(whole.untouched());
    let halves = s
        .split_slice(run.id, whole.id, [(Some("2001-01-01".into()), Some("2001-06-30".into())), (Some("2001-07-01".into()), Some("2001-12-31".into()))])
        .unwrap();
    let ranges: Vec<_> = s.slices(run.id).unwrap().into_iter().map(|x| (x.id, x.from, x.until)).collect();
    assert_eq!(ranges, halves.clone().map(|h| (h.id, h.from, h.until)).to_vec());
    s.restart_slice(run.id, halves[0].id, "token lost").unwrap();
    assert_eq!(s.run(run.id).unwrap().tally.restarts, 1);
}

#[test]
fn a_page_packed_ahead_is_stored_as_packed_and_reads_back_exactly() {
    let mut s = Store::open_in_memory().unwrap();
    let (src, run) = start(&mut s, &key());
    let batch = Batch::new("r", 300);
    // The first page makes the dictionary, in the store.
    s.commit_page(run.id, &page(batch.records(0..150), Some("t1"), 2)).unwrap();
    let (id, content) = s.dictionary(src.id).unwrap().expect("a dictionary");
    // The next is packed outside, as a harvest's packing threads do.
    let mut packer = crate::compress::Packer::new(id, &content).unwrap();
    let records = batch.records(150..300);
    let packed = packer.pack_page(records.iter().map(|r| r.metadata)).unwrap();
    assert_eq!(packed.len(), 150);
    let mut ahead = page(records, None, 3);
    ahead.packed = Some(&packed);
    s.commit_page(run.id, &ahead).unwrap();
    let (codec, dictionary, len) = stored_form(&s, "r299");
    assert_eq!((codec.as_str(), dictionary, len), ("zstd", Some(id), packed.get(149).unwrap().1.len()));
    for i in [150, 200, 299] {
        assert_eq!(s.record(&batch.ids[i]).unwrap()[0].metadata.as_deref(), Some(batch.metas[i].as_slice()));
    }
}
