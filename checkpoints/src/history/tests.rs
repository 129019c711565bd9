use super::*;

#[test]
fn a_job_keeps_its_last_hundred_runs_newest_first_and_other_jobs_keep_theirs() {
    let s = Store::open_in_memory().unwrap();
    let run = |job: &str, n: i64| JobRun {
        job: job.into(),
        started_at: n,
        finished_at: n + 1,
        ok: n % 2 == 0,
        items: n as u64,
        requests: (n % 3 == 0).then_some(7),
        error: (n % 2 == 1).then(|| format!("failure {n}")),
    };
    s.record_job_run(&run("sync.other", 0)).unwrap();
    for n in 0..130 {
        s.record_job_run(&run("sync.ab", n)).unwrap();
    }
    let runs = s.job_runs("sync.ab", 1000).unwrap();
    assert_eq!(runs.len(), KEPT_RUNS as usize);
    assert_eq!((runs[0].clone(), runs.last().unwrap().started_at), (run("sync.ab", 129), 30));
    assert_eq!(s.job_runs("sync.other", 10).unwrap(), vec![run("sync.other", 0)]);
    assert_eq!(s.job_runs("sync.ab", 3).unwrap().len(), 3);
}
