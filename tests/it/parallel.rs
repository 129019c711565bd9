//! One big repository in slices at once (`harvest --parallel N`): slices
//! split where records crowd, a repository refusing ranges harvested in one
//! sequence, the next run incremental from the run's start, and a harvest
//! killed at random moments resuming every slice, each record stored once.

use std::path::Path;
use std::time::Duration;

use chrono::TimeDelta;
use testbeds::repository::{RepoSpec, Testbed};

use crate::support::{bin, run, stderr, stdout, stored, tempdir};

async fn harvest(home: &Path, url: &str, extra: &[&str]) -> std::process::Output {
    let mut c = bin(home);
    c.args(["--db", home.join("h.sqlite").to_str().unwrap(), "harvest", url]).args(extra);
    run(c).await
}

/// The source's last run and its slices.
fn last_run(db: &Path) -> (checkpoints::Run, Vec<checkpoints::Slice>) {
    let store = checkpoints::Store::open(db).unwrap();
    let run = store.last_run(1).unwrap().expect("a run");
    let slices = store.slices(run.id).unwrap();
    (run, slices)
}

/// The source's first run (every resumption of it included) and its slices.
fn first_run(db: &Path) -> (checkpoints::Run, Vec<checkpoints::Slice>) {
    let store = checkpoints::Store::open(db).unwrap();
    let run = store.run(1).unwrap();
    let slices = store.slices(run.id).unwrap();
    (run, slices)
}

/// Records stored in each slice's range, by their datestamps.
fn records_per_slice(db: &Path, slices: &[checkpoints::Slice]) -> Vec<usize> {
    let datestamps: Vec<i64> = stored(db).values().map(|(d, _)| oai::parse_datestamp(d).unwrap().timestamp()).collect();
    let bound = |d: &Option<String>| d.as_deref().map(|d| oai::parse_datestamp(d).unwrap().timestamp());
    slices
        .iter()
        .map(|s| {
            let (from, until) = (bound(&s.from).unwrap_or(i64::MIN), bound(&s.until).unwrap_or(i64::MAX));
            datestamps.iter().filter(|&&d| from <= d && d <= until).count()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_crowded_on_one_day_are_split_until_no_slice_holds_far_more_than_its_share() {
    // Half the records on one day, the rest an hour apart around it.
    let spec = RepoSpec { records: 4000, page_size: 100, crowded_day: 0.5, latency: Duration::from_millis(5), ..RepoSpec::default() };
    let bed = Testbed::new(spec);
    let url = bed.spawn().await.unwrap();
    let home = tempdir();
    let out = harvest(home.path(), &url, &["--parallel", "4"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let db = home.path().join("h.sqlite");
    assert_eq!(stored(&db).len(), 4000);

    let (run, slices) = last_run(&db);
    assert_eq!((run.state, run.tally.records), (checkpoints::RunState::Completed, 4000), "each record stored once");
    assert!(slices.iter().all(|s| s.done), "{slices:?}");
    let sizes = records_per_slice(&db, &slices);
    assert_eq!(sizes.iter().sum::<usize>(), 4000, "the slices cover the range without overlap: {sizes:?}");
    // Cut evenly in time, one slice would hold 2500; split, none holds
    // more than 1.25 times its share of 1000.
    assert!(slices.len() > 4 && sizes.iter().all(|&n| n <= 1250), "{sizes:?}");
    assert!(bed.most_in_flight() <= 4, "{} requests at once", bed.most_in_flight());
    assert!(bed.most_in_flight() >= 2, "slices were harvested at once");
    // Each split throws away one first page: a few requests over the 40 pages.
    let list_requests = bed.log().iter().filter(|q| q.starts_with("verb=ListRecords")).count();
    assert!(list_requests <= 40 + 2 * slices.len(), "{list_requests} ListRecords requests for 40 pages in {} slices", slices.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_that_refuses_ranges_is_harvested_in_one_sequence() {
    // Any range narrower than ten years is refused: every slice is.
    let spec = RepoSpec { records: 500, narrowest_range: Some(TimeDelta::days(3650)), ..RepoSpec::default() };
    let bed = Testbed::new(spec);
    let url = bed.spawn().await.unwrap();
    let home = tempdir();
    let out = harvest(home.path(), &url, &["--parallel", "4"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("harvesting in one sequence instead of 4 slices at once"), "{}", stderr(&out));
    assert!(stderr(&out).contains("422"), "the log line says what was refused: {}", stderr(&out));
    let db = home.path().join("h.sqlite");
    assert_eq!(stored(&db).len(), 500);
    let (run, slices) = last_run(&db);
    assert_eq!((run.plan.parallel, run.tally.records, slices.len()), (Some(1), 500, 0));
    let refused = bed.log().iter().filter(|q| q.contains("until=")).count();
    assert!(refused <= 4, "the ranged requests were asked once each: {:?}", bed.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crowded_day_a_repository_will_not_narrow_is_harvested_whole() {
    // Ranges under a day are refused, and the day holds 1600 of 2000
    // records: it cannot be cut into parts near a share of 500.
    let spec = RepoSpec { records: 2000, crowded_day: 0.8, narrowest_range: Some(TimeDelta::days(1)), ..RepoSpec::default() };
    let bed = Testbed::new(spec);
    let url = bed.spawn().await.unwrap();
    let home = tempdir();
    let mut c = bin(home.path());
    c.args(["--db", home.path().join("h.sqlite").to_str().unwrap(), "harvest", &url, "--parallel", "4"]).env("RUST_LOG", "oai_mirror=debug");
    let out = run(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("the repository refuses a narrower range; the slice is harvested whole"), "{}", stderr(&out));
    let db = home.path().join("h.sqlite");
    let (run, slices) = last_run(&db);
    assert_eq!((run.plan.parallel, run.tally.records, stored(&db).len()), (Some(4), 2000, 2000));
    let sizes = records_per_slice(&db, &slices);
    assert!(sizes.iter().any(|&n| n > 625), "a slice far over its share was kept: {sizes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_after_a_parallel_one_asks_only_for_what_changed_since_it_started() {
    let bed = Testbed::new(RepoSpec { records: 1000, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let home = tempdir();
    assert!(harvest(home.path(), &url, &["--parallel", "3"]).await.status.success());
    bed.advance(TimeDelta::hours(1));
    bed.touch(&[3, 500, 998]);
    let out = harvest(home.path(), &url, &["--parallel", "3", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let (run, _) = last_run(&home.path().join("h.sqlite"));
    assert_eq!(run.tally.records, 3, "only the records changed since the first run started: {}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parallel_harvest_killed_at_random_moments_resumes_every_slice_and_stores_each_record_once() {
    let seed: u64 = std::env::var("OAI_MIRROR_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_126);
    let trials: usize = std::env::var("OAI_MIRROR_PARALLEL_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
    let mut rng = fastrand::Rng::with_seed(seed);
    let bed = Testbed::new(RepoSpec { records: 2000, page_size: 50, crowded_day: 0.3, latency: Duration::from_millis(10), ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let mut killed_mid_run = 0;
    for trial in 0..trials {
        let home = tempdir();
        let db = home.path().join("h.sqlite");
        // Up to two kills, each at a random moment, then a run to the end.
        for _ in 0..2 {
            let mut c = bin(home.path());
            c.args(["--db", db.to_str().unwrap(), "harvest", &url, "--parallel", "4"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
            let mut child = c.spawn().unwrap();
            tokio::time::sleep(Duration::from_micros(rng.u64(0..300_000))).await;
            killed_mid_run += child.try_wait().unwrap().is_none() as usize;
            let _ = child.kill();
            child.wait().unwrap();
        }
        let out = harvest(home.path(), &url, &["--parallel", "4"]).await;
        assert!(out.status.success(), "trial {trial} (seed {seed}): {}", stderr(&out));
        // Later runs, if the first completed before a kill, are incremental.
        let (run, slices) = first_run(&db);
        assert_eq!(stored(&db).len(), 2000, "trial {trial} (seed {seed})");
        // Every committed page counts once in the run's tally: a page
        // stored twice, or one skipped, shows here.
        assert_eq!((run.state, run.tally.records), (checkpoints::RunState::Completed, 2000), "trial {trial} (seed {seed}): {slices:?}");
        assert_eq!(records_per_slice(&db, &slices).iter().sum::<usize>(), 2000, "trial {trial}: slices overlap or leave gaps: {slices:?}");
    }
    assert!(killed_mid_run >= trials / 2, "only {killed_mid_run} of {} kills hit a running harvest", 2 * trials);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_packed_ahead_of_the_writer_is_stored_as_the_writer_would_and_reads_back_the_same() {
    let bed = Testbed::new(RepoSpec { records: 3000, page_size: 100, ..RepoSpec::default() });
    let url = bed.spawn().await.unwrap();
    let mut exported = Vec::new();
    for threads in [0, 2] {
        let home = tempdir();
        let config = home.path().join("config.toml");
        std::fs::write(&config, format!("db = \"{}\"\n[harvest]\npack_threads = {threads}\n", home.path().join("h.sqlite").display())).unwrap();
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).args(["harvest", &url, "--parallel", "3", "--json"]);
        let out = run(c).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let summary: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let packing = summary["summary"]["time"]["packing"].as_f64().unwrap();
        assert_eq!(packing > 0.0, threads > 0, "{threads} packing threads, {packing} s spent packing ahead");
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).args(["status", "--json"]);
        let status: serde_json::Value = serde_json::from_str(&stdout(&run(c).await)).unwrap();
        let source = &status["sources"][0];
        let (received, stored) = (source["metadata_bytes_received"].as_u64().unwrap(), source["metadata_bytes_stored"].as_u64().unwrap());
        assert!(stored * 3 < received, "{threads} packing threads: {stored} bytes stored for {received} received");
        let mut c = bin(home.path());
        c.arg("--config").arg(&config).args(["cat", "--format", "jsonl"]);
        let records = stdout(&run(c).await);
        assert_eq!(records.lines().count(), 3000);
        exported.push(records);
    }
    assert!(exported[0] == exported[1], "records packed ahead read back differently from records packed by the writer");
}
