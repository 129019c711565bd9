//! What the crate's unit tests share: records committed as a harvest
//! would commit them; wiki pages as a mirror stores them.

use crate::runs::{PageCommit, Position, RecordIn, RunPlan};
use crate::store::{SourceKey, Store};

/// A record to store: its identifier, its datestamp (as seconds; written
/// `tNNN`), its metadata (`None`: deleted) and its sets.
pub(crate) struct Given<'a> {
    pub id: &'a str,
    pub unix: i64,
    pub metadata: Option<String>,
    pub sets: &'a [&'a str],
}

/// Commits `records` as one page of a new run of the source of `key`, at
/// store time `now`; returns the source's id.
pub(crate) fn commit(store: &mut Store, key: &SourceKey, now: i64, records: &[Given<'_>]) -> i64 {
    // The store's clock says `now` while these are stored.
    store.set_clock(move || now);
    let source = store.source(key, 0).unwrap();
    let run = store.start_run(source.id, &RunPlan::default(), &Position::default(), now).unwrap();
    let sets: Vec<Vec<String>> = records.iter().map(|r| r.sets.iter().map(|s| s.to_string()).collect()).collect();
    let stamps: Vec<String> = records.iter().map(|r| format!("t{}", r.unix)).collect();
    let records = records
        .iter()
        .enumerate()
        .map(|(i, r)| RecordIn {
            identifier: r.id,
            datestamp: &stamps[i],
            datestamp_unix: r.unix,
            deleted: r.metadata.is_none(),
            sets: &sets[i],
            metadata: r.metadata.as_deref().map(str::as_bytes),
            about: None,
            text: None,
        })
        .collect();
    store.commit_page(run.id, &PageCommit::of_records(records, now)).unwrap();
    source.id
}

/// A wiki page as a pull stores it: one revision (by Ann, at a fixed time),
/// the page's current one.
pub(crate) fn wiki_page(pageid: u64, ns: i64, title: &str, rev_id: u64) -> crate::wiki::PageOp {
    let rev = crate::wiki::RevisionRow {
        revid: rev_id,
        parentid: 0,
        timestamp: "2026-01-01T00:00:00Z".into(),
        user: "Ann".into(),
        comment: String::new(),
        sha1: String::new(),
        text: "t".into(),
        minor: false,
        user_id: None,
    };
    crate::wiki::PageOp::Upsert {
        page: crate::wiki::PageRow { pageid, ns, title: title.into(), redirect: None, displaced: false, rev_id },
        revisions: vec![rev],
    }
}
