//! Many repositories at once: `harvest` runs the configured sources
//! concurrently, one request in flight per host whatever its number of
//! sources, and a host's `Retry-After` holds back that host only.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use testbeds::repository::{Fault, RepoSpec, RetryAfter, Testbed};

use crate::support::{bin, run, stderr, stdout, tempdir};

/// Two repositories answering slowly: `shared` holds two sources (a set
/// each), `alone` one.
struct Beds {
    shared: Testbed,
    alone: Testbed,
    home: tempfile::TempDir,
    config: PathBuf,
}

async fn beds() -> Beds {
    let spec = RepoSpec { records: 300, page_size: 50, sets: 2, deleted_every: 0, latency: Duration::from_millis(20), ..RepoSpec::default() };
    let (shared, alone) = (Testbed::new(spec.clone()), Testbed::new(spec));
    let (shared_url, alone_url) = (shared.spawn().await.unwrap(), alone.spawn().await.unwrap());
    let home = tempdir();
    let config = home.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "db = \"{}\"\n[source.one]\nurl = \"{shared_url}\"\nset = \"set0\"\n[source.two]\nurl = \"{shared_url}\"\nset = \"set1\"\n[source.three]\nurl = \"{alone_url}\"\n",
            home.path().join("h.sqlite").display()
        ),
    )
    .unwrap();
    Beds { shared, alone, home, config }
}

impl Beds {
    async fn harvest(&self, extra: &[&str]) -> String {
        let mut c = bin(self.home.path());
        c.arg("--config").arg(&self.config).arg("harvest").args(extra);
        let out = run(c).await;
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    }
}

/// Whether a request to one repository was being answered while one to the other was.
fn overlap(a: &[(Instant, Instant)], b: &[(Instant, Instant)]) -> bool {
    a.iter().any(|x| b.iter().any(|y| x.0 < y.1 && y.0 < x.1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_run_at_once_and_each_host_gets_one_request_at_a_time() {
    let b = beds().await;
    let said = b.harvest(&["--jobs", "3"]).await;
    assert_eq!(said.lines().count(), 3, "a line per source: {said}");
    for (name, records) in [("one", 150), ("two", 150), ("three", 300)] {
        let line = said.lines().find(|l| l.starts_with(&format!("{name}:"))).unwrap_or_else(|| panic!("{name}: {said}"));
        assert!(line.contains(&format!("{records} records")), "{line}");
    }
    // Two sources on one host: never two requests to it at once.
    assert_eq!(b.shared.most_in_flight(), 1);
    assert_eq!(b.alone.most_in_flight(), 1);
    // And the hosts were harvested at the same time.
    assert!(overlap(&b.shared.spans(), &b.alone.spans()), "the two repositories were harvested one after the other");

    // With one job at a time, they are not.
    let sequential = beds().await;
    sequential.harvest(&["--jobs", "1"]).await;
    assert!(!overlap(&sequential.shared.spans(), &sequential.alone.spans()));
}

/// The shared host answers one request with 503 and `Retry-After: 1`:
/// neither of its sources asks it anything for that second, while the
/// other host is harvested meanwhile. (The binary waits on the real
/// clock; the waiting itself is tested under paused time in `oai::hosts`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_holds_back_every_source_of_its_host_and_no_other() {
    let b = beds().await;
    b.shared.fault(3, Fault::Unavailable(RetryAfter::Seconds(1)));
    b.harvest(&["--jobs", "3"]).await;
    let shared = b.shared.spans();
    let refused = shared[2];
    let next = shared.iter().skip(3).map(|s| s.0).min().expect("requests after the 503");
    assert!(next >= refused.1 + Duration::from_millis(950), "a source of the paused host asked after {:?}", next - refused.1);
    let meanwhile = b.alone.spans().iter().filter(|s| s.0 > refused.1 && s.0 < next).count();
    assert!(meanwhile > 0, "the other host was held back too");
}
