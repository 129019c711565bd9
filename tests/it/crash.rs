//! SIGKILL a harvest after page k of n and run it again: every record is
//! present exactly once, and no committed page is fetched again.

use std::time::{Duration, Instant};

use testbeds::repository::{Fault, RepoSpec, Testbed};

use crate::support::{bin, run, stderr, stdout, stored, tempdir};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_harvest_resumes_at_the_first_uncommitted_page() {
    const PAGES: usize = 10;
    const K: u64 = 4;
    let bed = Testbed::new(RepoSpec { records: PAGES * 100, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    // Request 1 is Identify, request k + 1 is page k: page K + 1 never answers.
    bed.fault(K + 2, Fault::Hang);
    let home = tempdir();
    let db = home.path().join("h.sqlite");

    let mut cmd = bin(home.path());
    cmd.args(["--db", db.to_str().unwrap(), "harvest", &url]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();

    // Wait (bounded) until page K is committed, then kill -9.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let committed = checkpoints::Store::open(&db).ok().and_then(|s| s.open_run(1).ok().flatten()).map_or(0, |r| r.tally.pages);
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the harvest exited early ({status}) with {committed} pages committed");
        }
        // Also wait for the killed run's request for page K + 1 to reach
        // the server (it asks as soon as page K arrives): logged after the
        // kill, it would be taken for a request of the second run.
        if committed == K && bed.log().len() >= K as usize + 2 {
            break;
        }
        assert!(committed < K, "more pages committed than served");
        assert!(Instant::now() < deadline, "page {K} was never committed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(stored(&db).len(), K as usize * 100);

    let before = bed.log().len();
    let out = run({
        let mut c = bin(home.path());
        c.args(["--db", db.to_str().unwrap(), "harvest", &url]);
        c
    })
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("resumed"), "{}", stdout(&out));

    // The second run asked for pages K+1..=n only, starting with the saved
    // token (and, its first harvest complete, for the formats and sets the
    // repository declares).
    let all: Vec<String> = bed.log()[before..].to_vec();
    assert_eq!(all.iter().filter(|q| !q.starts_with("verb=ListRecords")).collect::<Vec<_>>(), ["verb=ListMetadataFormats", "verb=ListSets"], "{all:?}");
    let second: Vec<String> = all.into_iter().filter(|q| q.starts_with("verb=ListRecords")).collect();
    assert_eq!(second.len(), PAGES - K as usize, "{second:?}");
    assert!(second[0].starts_with(&format!("verb=ListRecords&resumptionToken=o%3D{}%26", K * 100)), "{second:?}");
    assert!(second.iter().all(|q| !q.contains("metadataPrefix")), "no page fetched from the start again: {second:?}");

    let records = stored(&db);
    assert_eq!(records.len(), PAGES * 100);
    assert_eq!(records.keys().next().map(String::as_str), Some("oai:testbed.example:00000000"));
}
