//! Serves many generated OAI-PMH repositories at once until killed, for
//! the aggregator benchmark (bench/many.sh):
//!
//!     serve_many N SEED PORT CONFIG_FILE
//!
//! Member I has 1,000 to 20,000 records and answers each request in 50 to
//! 300 ms (drawn from SEED), on its own loopback address 127.0.X.Y:PORT at
//! /r/I/oai. Writes CONFIG_FILE with a [source.rI] table for each, and
//! answers `GET http://127.0.0.1:PORT/stats` (the most requests one member
//! answered at once; the slowest member's name, records and latency).

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use std::sync::Arc;

use testbeds::many::{self, Many};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [n, seed, port, config] = args.as_slice() else {
        anyhow::bail!("usage: serve_many N SEED PORT CONFIG_FILE");
    };
    let members = many::members(n.parse()?, seed.parse()?, (1_000, 20_000), (50, 300));
    let served = Arc::new(Many::serve(&members, port.parse()?).await?);
    let mut text = String::new();
    for (i, url) in served.urls.iter().enumerate() {
        text.push_str(&format!("[source.r{i}]\nurl = \"{url}\"\n"));
    }
    std::fs::write(config, text)?;
    // The slowest alone: records over 100 per page, times its latency.
    let slowest = (0..members.len()).max_by_key(|&i| (members[i].records.div_ceil(100) as u128) * members[i].latency.as_millis()).expect("at least one member");
    // What a harvester taking one repository after the other would wait for.
    let sequential: u128 = members.iter().map(|m| (m.records.div_ceil(100) as u128 + 1) * m.latency.as_millis()).sum();
    let stats = {
        let served = served.clone();
        let m = members[slowest].clone();
        axum::Router::new().route(
            "/stats",
            axum::routing::get(move || {
                let served = served.clone();
                let m = m.clone();
                async move {
                    format!(
                        "most_in_flight {}\nslowest r{slowest} {} {}\nsequential_ms {sequential}\n",
                        served.most_in_flight(),
                        m.records,
                        m.latency.as_millis()
                    )
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>()?)).await?;
    let total: usize = members.iter().map(|m| m.records).sum();
    eprintln!("serving {} repositories, {total} records, on port {port}", members.len());
    axum::serve(listener, stats).await?;
    Ok(())
}
