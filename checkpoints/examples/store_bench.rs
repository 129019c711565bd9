//! The store alone: commits N records, 100 per page and GROUP pages per
//! transaction, with metadata of SIZE bytes each, into a new database, and
//! prints the time. What the harvest's writer costs without a network.
//!
//!     cargo run --release -p checkpoints --example store_bench -- [N] [SIZE] [GROUP]
//!
//! Defaults: 100000 records of 1000 bytes, one page per transaction.
#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use std::time::Instant;

use checkpoints::{PageCommit, Position, RecordIn, RunPlan, SourceKey, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(100_000);
    let size: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1000);
    let group: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(1);
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.sqlite");
    let started = Instant::now();
    let mut store = Store::open(&path)?;
    let key = SourceKey { base_url: "http://127.0.0.1/oai".into(), metadata_prefix: "oai_dc".into(), set_spec: None };
    let source = store.source(&key, 0)?;
    let run = store.start_run(source.id, &RunPlan::default(), &Position::default(), 0)?;
    let line = "<dc:description>A generated record for testing harvesters.</dc:description>";
    let body = line.repeat(size / line.len() + 1);
    let metas: Vec<String> = (0..100).map(|i| format!("<oai_dc:dc>{i}{}</oai_dc:dc>", &body[..size])).collect();
    let sets = vec!["set0".to_string()];
    let ids: Vec<String> = (0..n).map(|i| format!("oai:bench:{i:08}")).collect();
    let pages: Vec<&[String]> = ids.chunks(100).collect();
    for (g, group) in pages.chunks(group.max(1)).enumerate() {
        let commits: Vec<PageCommit<'_>> = group
            .iter()
            .enumerate()
            .map(|(p, page)| {
                let records = page
                    .iter()
                    .zip(&metas)
                    .map(|(id, m)| RecordIn {
                        identifier: id,
                        datestamp: "2001-01-01T00:00:00Z",
                        datestamp_unix: 978_307_200,
                        deleted: false,
                        sets: &sets,
                        metadata: Some(m.as_bytes()),
                        about: None,
                        text: None,
                    })
                    .collect();
                PageCommit { next: Position { token: Some(format!("t{g}.{p}")), ..Position::default() }, ..PageCommit::of_records(records, 0) }
            })
            .collect();
        store.commit_pages(run.id, &commits)?;
    }
    let committed = started.elapsed().as_secs_f64();
    drop(store);
    let closed = started.elapsed().as_secs_f64();
    println!(
        "{n} records of {size} bytes, {group} pages per commit: committed in {committed:.3} s, closed at {closed:.3} s ({:.0} records/s)",
        n as f64 / closed
    );
    Ok(())
}
