//! Fetches every page of a ListRecords from an OAI-PMH base URL, following
//! resumption tokens, and prints records, pages, the time per page (median
//! and p99) and records/s: the client of `bench/serve.sh`. With
//! CONCURRENCY > 1, that many harvests run at once and every page of each
//! is checked to be an answer, not an error.
//!
//!     cargo run --release --example fetch_pages -- BASE_URL [CONCURRENCY]

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use std::time::{Duration, Instant};

async fn harvest(http: reqwest::Client, base: String) -> anyhow::Result<(u64, Vec<Duration>)> {
    let mut url = format!("{base}?verb=ListRecords&metadataPrefix=oai_dc");
    let (mut records, mut times) = (0u64, Vec::new());
    loop {
        let started = Instant::now();
        let body = http.get(&url).send().await?.error_for_status()?.text().await?;
        times.push(started.elapsed());
        if body.contains("<error") {
            anyhow::bail!("an OAI-PMH error: {}", &body[..body.len().min(500)]);
        }
        records += body.matches("<record>").count() as u64;
        let token = body.split("<resumptionToken").nth(1).and_then(|t| t.split('>').nth(1)).and_then(|t| t.split('<').next()).unwrap_or("");
        if token.is_empty() {
            return Ok((records, times));
        }
        url = format!("{base}?verb=ListRecords&resumptionToken={token}");
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    oai_mirror::util::install_tls();
    let mut args = std::env::args().skip(1);
    let base = args.next().expect("a base URL");
    let concurrency: usize = args.next().map(|n| n.parse()).transpose()?.unwrap_or(1);
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let started = Instant::now();
    let runs: Vec<_> = (0..concurrency).map(|_| tokio::spawn(harvest(http.clone(), base.clone()))).collect();
    let (mut records, mut times, mut errors) = (0u64, Vec::new(), 0);
    for run in runs {
        match run.await? {
            Ok((r, t)) => {
                records += r;
                times.extend(t);
            }
            Err(e) => {
                errors += 1;
                eprintln!("{e:#}");
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    times.sort();
    let at = |q: f64| times.get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "records={records} pages={} seconds={seconds:.2} rate={:.0} median_ms={:.2} p99_ms={:.2} errors={errors}",
        times.len(),
        records as f64 / seconds,
        at(0.5),
        at(0.99)
    );
    Ok(())
}
