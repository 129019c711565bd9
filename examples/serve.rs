//! Serves a generated OAI-PMH repository on 127.0.0.1 until killed, for the
//! benchmarks and for trying the CLI by hand.
//!
//!     cargo run --release --example serve -- RECORDS PORT [URLS_FILE]
//!
//! With URLS_FILE, writes the URL of every page of a full ListRecords
//! there, one per line, so another client can fetch the very same pages.
//! The repository's shape, from the environment: SERVE_PAGE_SIZE (records
//! per page, 100), SERVE_LATENCY_MS (per request, 0), SERVE_STEP_SECS
//! (between datestamps, 3600), SERVE_CROWDED (the share of the records on
//! one day, 0). `GET /stats` says the most requests answered at once.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use testbeds::repository::{RepoSpec, Testbed};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| anyhow::anyhow!("{name}={v:?} is not a number")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let records: usize = args.next().unwrap_or_else(|| "10000".into()).parse()?;
    let port: u16 = args.next().unwrap_or_else(|| "8470".into()).parse()?;
    let urls = args.next();
    let spec = RepoSpec {
        records,
        page_size: env_or("SERVE_PAGE_SIZE", 100)?,
        latency: std::time::Duration::from_millis(env_or("SERVE_LATENCY_MS", 0)?),
        step_secs: env_or("SERVE_STEP_SECS", 3600)?,
        crowded_day: env_or("SERVE_CROWDED", 0.0)?,
        ..RepoSpec::default()
    };
    let bed = Testbed::new(spec);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://127.0.0.1:{port}/oai");
    if let Some(path) = urls {
        std::fs::write(&path, bed.full_list_urls(&base).join("\n") + "\n")?;
    }
    let stats = {
        let bed = bed.clone();
        axum::routing::get(move || {
            let bed = bed.clone();
            async move { format!("most_in_flight {}\n", bed.most_in_flight()) }
        })
    };
    eprintln!("serving {records} records at {base}");
    axum::serve(listener, bed.router().route("/stats", stats)).await?;
    Ok(())
}
