//! Serves a generated OAI-PMH repository on 127.0.0.1 until killed, for the
//! benchmark and for trying the CLI by hand.
//!
//!     cargo run --release --example serve -- RECORDS PORT [URLS_FILE]
//!
//! With URLS_FILE, writes the URL of every page of a full ListRecords
//! there, one per line, so another client can fetch the very same pages.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use testbeds::repository::{RepoSpec, Testbed};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let records: usize = args.next().unwrap_or_else(|| "10000".into()).parse()?;
    let port: u16 = args.next().unwrap_or_else(|| "8470".into()).parse()?;
    let urls = args.next();
    let bed = Testbed::new(RepoSpec { records, ..RepoSpec::default() });
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://127.0.0.1:{port}/oai");
    if let Some(path) = urls {
        std::fs::write(&path, bed.full_list_urls(&base).join("\n") + "\n")?;
    }
    eprintln!("serving {records} records at {base}");
    axum::serve(listener, bed.router()).await?;
    Ok(())
}
