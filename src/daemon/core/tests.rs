use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

/// A clock that follows tokio's (paused and advanced in tests) from a fixed start.
struct TokioClock {
    base: DateTime<Utc>,
    start: tokio::time::Instant,
}

impl TokioClock {
    fn starting_at(base: DateTime<Utc>) -> TokioClock {
        TokioClock { base, start: tokio::time::Instant::now() }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> std::time::SystemTime {
        (self.base + chrono::TimeDelta::from_std(self.start.elapsed()).unwrap_or_default()).into()
    }
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A runner whose jobs take `takes` and fail when named in `failing`;
/// it counts runs and the most runs at once per resource group.
#[derive(Default)]
struct Fake {
    runs: Mutex<HashMap<String, u32>>,
    now_running: AtomicUsize,
    max_running: AtomicUsize,
}

fn runner(fake: Arc<Fake>, takes: Duration, failing: &'static [&'static str]) -> Runner {
    Arc::new(move |name: String| {
        let fake = fake.clone();
        Box::pin(async move {
            let n = fake.now_running.fetch_add(1, Ordering::SeqCst) + 1;
            fake.max_running.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(takes).await;
            fake.now_running.fetch_sub(1, Ordering::SeqCst);
            *lock(&fake.runs).entry(name.clone()).or_default() += 1;
            if failing.contains(&name.as_str()) {
                anyhow::bail!("{name} fails on purpose")
            }
            Ok(Outcome { items: 3, ..Default::default() })
        }) as RunFuture
    })
}

fn job(name: &str, cron: Option<&str>, resources: &[&str]) -> JobSpec {
    JobSpec { name: name.into(), schedule: cron.map(|c| Schedule::parse(c, None).unwrap()), resources: resources.iter().map(|r| r.to_string()).collect() }
}

fn start(jobs: Vec<JobSpec>, run: Runner) -> (Arc<Daemon>, watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let d = Daemon::new(
        jobs,
        run,
        Arc::new(TokioClock::starting_at(at("2026-11-22T10:00:00Z"))),
        Backoff { first: Duration::from_secs(60), max: Duration::from_secs(3600) },
    );
    let (tx, rx) = watch::channel(false);
    let handle = tokio::spawn(d.clone().run(rx, Duration::from_secs(600)));
    (d, tx, handle)
}

fn runs(fake: &Fake, name: &str) -> u32 {
    lock(&fake.runs).get(name).copied().unwrap_or(0)
}

fn status(d: &Daemon, name: &str) -> JobStatus {
    d.status().into_iter().find(|s| s.job == name).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_schedule_fires_on_time() {
    let fake = Arc::new(Fake::default());
    let (d, _tx, _h) = start(vec![job("sync.ab", Some("*/5 * * * *"), &["wiki:a"])], runner(fake.clone(), Duration::from_secs(1), &[]));
    tokio::time::sleep(Duration::from_secs(11 * 60)).await;
    assert_eq!(runs(&fake, "sync.ab"), 2, "at 10:05 and 10:10");
    let s = status(&d, "sync.ab");
    assert_eq!((s.runs, s.items_total, s.last_outcome.as_deref()), (2, 6, Some("ok")));
    assert_eq!(s.next_run, Some(at("2026-11-22T10:15:00Z")));
}

#[tokio::test(start_paused = true)]
async fn a_tick_while_the_job_runs_is_skipped_not_overlapped() {
    let fake = Arc::new(Fake::default());
    let (d, _tx, _h) = start(vec![job("wiki.a", Some("*/5 * * * *"), &["wiki:a"])], runner(fake.clone(), Duration::from_secs(7 * 60), &[]));
    tokio::time::sleep(Duration::from_secs(21 * 60)).await;
    // 10:05–10:12 ran; 10:10 was skipped; 10:15 started and still runs.
    assert_eq!(runs(&fake, "wiki.a"), 1);
    assert_eq!(status(&d, "wiki.a").skipped_ticks, 1);
    assert!(status(&d, "wiki.a").running);
    assert_eq!(fake.max_running.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_trigger_runs_at_once_and_triggers_during_a_run_coalesce() {
    let fake = Arc::new(Fake::default());
    let (d, _tx, _h) = start(vec![job("sync.ab", None, &["wiki:a"])], runner(fake.clone(), Duration::from_secs(60), &[]));
    d.trigger("sync.ab").unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(status(&d, "sync.ab").running, "the trigger started a run at once");
    for _ in 0..3 {
        d.trigger("sync.ab").unwrap();
    }
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    assert_eq!(runs(&fake, "sync.ab"), 2, "three triggers during a run make exactly one more run");
    assert_eq!(status(&d, "sync.ab").triggers, 4);
    assert!(d.trigger("sync.nope").is_none());
}

#[tokio::test(start_paused = true)]
async fn a_failing_job_backs_off_while_the_others_go_on() {
    let fake = Arc::new(Fake::default());
    let jobs = vec![job("wiki.bad", Some("* * * * *"), &["wiki:bad"]), job("wiki.good", Some("* * * * *"), &["wiki:good"])];
    let (d, _tx, _h) = start(jobs, runner(fake.clone(), Duration::from_secs(1), &["wiki.bad"]));
    tokio::time::sleep(Duration::from_secs(10 * 60 + 30)).await;
    assert_eq!(runs(&fake, "wiki.good"), 10);
    // A run takes a second and the backoff counts from its end: failures at
    // 10:01 (back off 1 min, to 10:02:01), 10:03 (2 min, to 10:05:01) and
    // 10:06 (4 min, to 10:10:01); every tick between is skipped.
    assert_eq!(runs(&fake, "wiki.bad"), 3);
    let bad = status(&d, "wiki.bad");
    assert_eq!((bad.failures, bad.consecutive_failures), (3, 3));
    assert_eq!(bad.backoff_until, Some(at("2026-11-22T10:10:01Z")));
    assert!(bad.last_error.unwrap().contains("fails on purpose"));
    assert!(d.metrics().contains("oai_mirror_failures_total{job=\"wiki.bad\"} 3\n"), "{}", d.metrics());
}

/// Triggers (an edit hook, a mail, another mirror) respect the backoff of
/// a failing job: a stream of them makes one run when the backoff ends,
/// not runs back to back; `retry_now` (the wiki answers again, a person
/// asked) runs at once.
#[tokio::test(start_paused = true)]
async fn triggers_wait_for_a_failing_jobs_backoff_and_coalesce() {
    let fake = Arc::new(Fake::default());
    let (d, _tx, _h) = start(vec![job("sync.bad", None, &["wiki:a"])], runner(fake.clone(), Duration::from_secs(1), &["sync.bad"]));
    d.trigger("sync.bad").unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(runs(&fake, "sync.bad"), 1);
    assert_eq!(status(&d, "sync.bad").backoff_until, Some(at("2026-11-22T10:01:01Z")), "backing off a minute from the end of the run");
    // Ten edits in the next half minute: no run until the backoff ends.
    for _ in 0..10 {
        d.trigger("sync.bad").unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    assert_eq!(runs(&fake, "sync.bad"), 1, "triggered during the backoff, yet ran");
    tokio::time::sleep(Duration::from_secs(40)).await;
    assert_eq!(runs(&fake, "sync.bad"), 2, "the triggers made exactly one run, when the backoff ended");
    // Backing off two minutes now; a retry_now does not wait.
    d.retry_now("sync.bad").unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(runs(&fake, "sync.bad"), 3);
}

#[tokio::test(start_paused = true)]
async fn jobs_on_one_wiki_never_run_together_but_different_wikis_do() {
    let fake = Arc::new(Fake::default());
    let jobs = vec![job("wiki.a", None, &["wiki:a"]), job("sync.ab", None, &["wiki:a", "wiki:b"])];
    let (d, _tx, _h) = start(jobs, runner(fake.clone(), Duration::from_secs(60), &[]));
    d.trigger("wiki.a");
    d.trigger("sync.ab");
    tokio::time::sleep(Duration::from_secs(5 * 60)).await;
    assert_eq!((runs(&fake, "wiki.a"), runs(&fake, "sync.ab")), (1, 1));
    assert_eq!(fake.max_running.load(Ordering::SeqCst), 1);

    let fake = Arc::new(Fake::default());
    let jobs = vec![job("wiki.a", None, &["wiki:a"]), job("wiki.b", None, &["wiki:b"])];
    let (d, _tx, _h) = start(jobs, runner(fake.clone(), Duration::from_secs(60), &[]));
    d.trigger("wiki.a");
    d.trigger("wiki.b");
    tokio::time::sleep(Duration::from_secs(5 * 60)).await;
    assert_eq!(fake.max_running.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn shutdown_lets_the_run_in_progress_finish() {
    let fake = Arc::new(Fake::default());
    let (d, tx, handle) = start(vec![job("source.x", None, &["source:x"])], runner(fake.clone(), Duration::from_secs(30), &[]));
    d.trigger("source.x");
    tokio::time::sleep(Duration::from_secs(5)).await;
    tx.send(true).unwrap();
    handle.await.unwrap();
    assert_eq!(runs(&fake, "source.x"), 1, "the run finished before the daemon stopped");
    assert!(!status(&d, "source.x").running);
}
