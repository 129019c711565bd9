//! Many repositories at once, for the aggregator benchmark: `n` generated
//! repositories, each with its own size and latency (seeded), each on its
//! own loopback address (127.0.0.2, 127.0.0.3 …, one port for all) so that
//! each is a host of its own as real repositories are, at `/r/I/oai`.

use std::time::Duration;

use crate::repository::{RepoSpec, Testbed};

/// What one repository of the set is like.
#[derive(Clone, Debug)]
pub struct Member {
    pub records: usize,
    pub latency: Duration,
}

/// `n` members: sizes from `min_records` to `max_records` and latencies
/// from `min_ms` to `max_ms`, drawn from `seed`.
pub fn members(n: usize, seed: u64, (min_records, max_records): (usize, usize), (min_ms, max_ms): (u64, u64)) -> Vec<Member> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..n).map(|_| Member { records: rng.usize(min_records..=max_records), latency: Duration::from_millis(rng.u64(min_ms..=max_ms)) }).collect()
}

/// The loopback address of member `i`.
pub fn address(i: usize) -> String {
    let n = i + 2;
    format!("127.0.{}.{}", n / 256, n % 256)
}

/// The repositories, served.
pub struct Many {
    pub beds: Vec<Testbed>,
    /// Each member's base URL.
    pub urls: Vec<String>,
}

impl Many {
    /// Serves every member on its own address, all on one port (a free one
    /// for 0). Records per page: 100.
    pub async fn serve(members: &[Member], port: u16) -> std::io::Result<Many> {
        let beds: Vec<Testbed> =
            members.iter().map(|m| Testbed::new(RepoSpec { records: m.records, page_size: 100, latency: m.latency, ..RepoSpec::default() })).collect();
        let mut app = axum::Router::new();
        for (i, bed) in beds.iter().enumerate() {
            app = app.nest(&format!("/r/{i}"), bed.router());
        }
        let mut port = port;
        let mut urls = Vec::new();
        for i in 0..beds.len() {
            let listener = tokio::net::TcpListener::bind((address(i).as_str(), port)).await?;
            port = listener.local_addr()?.port();
            urls.push(format!("http://{}:{port}/r/{i}/oai", address(i)));
            let app = app.clone();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::warn!(error = %e, "a test bed stopped serving");
                }
            });
        }
        Ok(Many { beds, urls })
    }

    /// The most requests any one member answered at once.
    pub fn most_in_flight(&self) -> usize {
        self.beds.iter().map(Testbed::most_in_flight).max().unwrap_or(0)
    }
}
