//! An offline demo: serves a generated OAI-PMH repository on 127.0.0.1,
//! harvests it into a SQLite file, changes a few records, and harvests
//! again, incrementally.
//!
//!     cargo run --release --example demo [-- RECORDS [DB_PATH]]

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use std::sync::{Arc, Mutex};

use checkpoints::{SourceKey, Store};
use oai_mirror::harvest::{self, HarvestRequest, Quiet};
use testbeds::repository::{RepoSpec, Testbed};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let records: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(10_000);
    let kept = args.next().map(std::path::PathBuf::from);
    // Without a DB_PATH the database lives in a temporary directory that is
    // removed at the end, however the demo ends.
    let temporary = tempfile::tempdir()?;
    let db = kept.clone().unwrap_or_else(|| temporary.path().join("demo.sqlite"));

    let bed = Testbed::new(RepoSpec { records, ..RepoSpec::default() });
    let url = bed.spawn().await?;
    println!("serving {records} generated records at {url}");
    println!("database: {}", db.display());

    let store = Arc::new(Mutex::new(Store::open(&db)?));
    let client = oai::Client::new(&url, oai::ClientOptions::default())?;
    let request = HarvestRequest {
        source: SourceKey { base_url: url.clone(), metadata_prefix: "oai_dc".into(), set_spec: None },
        from: None,
        until: None,
        full: false,
        window: None,
        parallel: None,
        search: true,
    };
    let first = harvest::harvest(store.clone(), &client, &request, Arc::new(Quiet)).await?;
    println!(
        "first harvest:  {} records ({} deleted) in {} pages, {} requests, {:.2}s ({:.0} records/s)",
        first.records,
        first.deleted,
        first.pages,
        first.requests,
        first.seconds,
        first.records as f64 / first.seconds
    );

    // An hour later, three records change and one is deleted.
    bed.advance(chrono::TimeDelta::hours(1));
    bed.touch(&[1, 2, 3]);
    bed.delete(4);
    let second = harvest::harvest(store.clone(), &client, &request, Arc::new(Quiet)).await?;
    println!(
        "second harvest: {} records ({} deleted) in {} pages, {} requests, from {}",
        second.records,
        second.deleted,
        second.pages,
        second.requests,
        second.from.as_deref().unwrap_or("-")
    );
    let status = store.lock().expect("not poisoned").status()?;
    for s in status {
        println!("store: {} records, {} deleted, next from {}", s.records, s.deleted, s.source.next_from.unwrap_or_default());
    }
    match kept {
        Some(db) => println!("look inside: cargo run --release -- --db {} status   (or: … cat --format jsonl | head)", db.display()),
        None => println!(
            "the temporary database is removed now; to keep one: cargo run --release --example demo -- {records} demo.sqlite\n\
             then: cargo run --release -- --db demo.sqlite cat --format jsonl | head -3"
        ),
    }
    drop(store);
    temporary.close()?;
    Ok(())
}
