//! Running jobs: each on its schedule or when triggered, never two runs of
//! one job at once, never two jobs on one wiki at once, a failed job backing
//! off without holding up the others.
//!
//! Each job is a task that waits for its next tick, a trigger or shutdown.
//! A tick that comes while the job runs is skipped (and counted): the next
//! one is computed when the run ends. A trigger while it runs is kept as
//! exactly one more run (a `Notify` holds at most one permit). The time of
//! day comes from a `Clock`, and waiting from tokio's timer, so tests run
//! the schedule under `tokio::time::pause()`.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};

use oai::Clock;

use crate::jobs::schedule::Schedule;
use crate::util::lock;

/// A job as configured.
#[derive(Clone, Debug)]
pub struct JobSpec {
    /// `source.NAME`, `wiki.NAME` or `sync.NAME`.
    pub name: String,
    /// `None`: runs only when triggered.
    pub schedule: Option<Schedule>,
    /// What the job touches (`wiki:NAME`, `source:URL`): jobs sharing one never run together.
    pub resources: Vec<String>,
}

/// What a run reports.
pub use crate::jobs::run::Outcome;

pub type RunFuture = Pin<Box<dyn Future<Output = anyhow::Result<Outcome>> + Send>>;

/// Runs a job by name.
pub type Runner = Arc<dyn Fn(String) -> RunFuture + Send + Sync>;

/// A job's state, for `/status` and `/metrics`.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct JobStatus {
    pub job: String,
    pub schedule: Option<String>,
    pub timezone: Option<String>,
    pub running: bool,
    pub last_started: Option<DateTime<Utc>>,
    pub last_finished: Option<DateTime<Utc>>,
    /// "ok" or "failed".
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub last_success: Option<DateTime<Utc>>,
    pub next_run: Option<DateTime<Utc>>,
    pub runs: u64,
    pub failures: u64,
    pub consecutive_failures: u32,
    pub backoff_until: Option<DateTime<Utc>>,
    pub skipped_ticks: u64,
    pub triggers: u64,
    pub last_items: u64,
    pub items_total: u64,
    pub pushes_total: u64,
    pub queue: u64,
    pub conflicts: u64,
}

/// A job as the core schedules it: its spec, its state, its trigger.
struct Scheduled {
    spec: JobSpec,
    status: Mutex<JobStatus>,
    trigger: Notify,
}

/// Bounds of the backoff after failed runs.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { first: Duration::from_secs(60), max: Duration::from_secs(6 * 3600) }
    }
}

pub struct Daemon {
    jobs: BTreeMap<String, Arc<Scheduled>>,
    locks: BTreeMap<String, Arc<tokio::sync::Mutex<()>>>,
    runner: Runner,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
}

impl Daemon {
    /// The time of day, from the daemon's clock.
    fn now(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(self.clock.now())
    }

    pub fn new(specs: Vec<JobSpec>, runner: Runner, clock: Arc<dyn Clock>, backoff: Backoff) -> Arc<Daemon> {
        let mut locks = BTreeMap::new();
        for r in specs.iter().flat_map(|s| s.resources.iter()) {
            locks.entry(r.clone()).or_insert_with(|| Arc::new(tokio::sync::Mutex::new(())));
        }
        let jobs = specs
            .into_iter()
            .map(|spec| {
                let status = JobStatus {
                    job: spec.name.clone(),
                    schedule: spec.schedule.as_ref().map(|s| s.as_str().to_string()),
                    timezone: spec.schedule.as_ref().map(|s| s.timezone().to_string()),
                    ..Default::default()
                };
                (spec.name.clone(), Arc::new(Scheduled { spec, status: Mutex::new(status), trigger: Notify::new() }))
            })
            .collect();
        Arc::new(Daemon { jobs, locks, runner, clock, backoff })
    }

    /// Whether a run holds `resource` now.
    pub fn busy(&self, resource: &str) -> bool {
        self.locks.get(resource).is_some_and(|l| l.try_lock().is_err())
    }

    /// The jobs that use `resource`.
    pub fn jobs_using(&self, resource: &str) -> Vec<String> {
        self.jobs.values().filter(|j| j.spec.resources.iter().any(|r| r == resource)).map(|j| j.spec.name.clone()).collect()
    }

    /// Runs `job` at once (or once more after the run in progress).
    /// `None` if there is no such job.
    pub fn trigger(&self, job: &str) -> Option<()> {
        let j = self.jobs.get(job)?;
        lock(&j.status).triggers += 1;
        j.trigger.notify_one();
        Some(())
    }

    /// Runs a job now, its backoff after failures ended: for what has just
    /// changed the odds (its wiki answers again, a person asked for it).
    pub fn retry_now(&self, job: &str) -> Option<()> {
        lock(&self.jobs.get(job)?.status).backoff_until = None;
        self.trigger(job)
    }

    pub fn status(&self) -> Vec<JobStatus> {
        self.jobs.values().map(|j| lock(&j.status).clone()).collect()
    }

    /// Runs every job until `shutdown` says true, then waits (at most
    /// `grace`) for the runs in progress to end. Each step of a run is
    /// committed where it happens, so what is cut off is only repeated.
    pub async fn run(self: Arc<Self>, shutdown: watch::Receiver<bool>, grace: Duration) {
        let mut tasks = tokio::task::JoinSet::new();
        for job in self.jobs.values() {
            tasks.spawn(self.clone().job_loop(job.clone(), shutdown.clone()));
        }
        let mut stop = shutdown.clone();
        let _ = stop.wait_for(|s| *s).await;
        tracing::info!(jobs = tasks.len(), "stopping: no new runs; waiting for the runs in progress");
        if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await.is_err() {
            tracing::warn!(grace_secs = grace.as_secs(), "runs still in progress after the grace period; stopping them");
            tasks.abort_all();
        }
    }

    async fn job_loop(self: Arc<Self>, job: Arc<Scheduled>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let now = self.now();
            let next = job.spec.schedule.as_ref().and_then(|s| s.next_after(now));
            lock(&job.status).next_run = next;
            let wait = next.map(|n| (n - now).to_std().unwrap_or_default());
            let triggered = tokio::select! {
                _ = async { match wait { Some(w) => tokio::time::sleep(w).await, None => std::future::pending().await } } => false,
                _ = job.trigger.notified() => true,
                _ = shutdown.changed() => return,
            };
            let in_backoff = lock(&job.status).backoff_until.is_some_and(|b| b > self.now());
            if !triggered && in_backoff {
                tracing::info!(job = %job.spec.name, "scheduled run skipped: backing off after failures");
                continue;
            }
            if in_backoff {
                // A trigger waits for the backoff to end: a failing job under a
                // stream of edits does not run back to back. Triggers meanwhile
                // make no more runs than this one; `retry_now` ends the wait.
                tracing::info!(job = %job.spec.name, "triggered while backing off after failures: runs when the backoff ends");
                loop {
                    let until = lock(&job.status).backoff_until;
                    let Some(wait) = until.and_then(|u| (u - self.now()).to_std().ok()).filter(|w| !w.is_zero()) else { break };
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => break,
                        _ = job.trigger.notified() => {}
                        _ = shutdown.changed() => return,
                    }
                }
            }
            let started = self.now();
            self.run_once(&job, triggered).await;
            // Ticks that fell while the job ran are skipped, not caught up.
            if let Some(s) = &job.spec.schedule {
                let mut missed = 0u64;
                let mut t = s.next_after(started);
                let end = self.now();
                while let Some(tick) = t.filter(|tick| *tick <= end) {
                    missed += 1;
                    t = s.next_after(tick);
                }
                if missed > 0 {
                    tracing::info!(job = %job.spec.name, missed, "ticks skipped: the job was still running");
                    lock(&job.status).skipped_ticks += missed;
                }
            }
        }
    }

    async fn run_once(&self, job: &Scheduled, triggered: bool) {
        // One wiki, one job at a time: take every resource's lock, in order.
        let names: BTreeSet<&String> = job.spec.resources.iter().collect();
        let mut guards = Vec::new();
        for r in names {
            guards.push(self.locks[r].clone().lock_owned().await);
        }
        let started = self.now();
        {
            let mut s = lock(&job.status);
            s.running = true;
            s.last_started = Some(started);
        }
        tracing::info!(job = %job.spec.name, triggered, "run starts");
        let result = (self.runner)(job.spec.name.clone()).await;
        let now = self.now();
        let mut s = lock(&job.status);
        s.running = false;
        s.runs += 1;
        s.last_finished = Some(now);
        match result {
            Ok(o) => {
                tracing::info!(job = %job.spec.name, items = o.items, "run done");
                s.last_outcome = Some("ok".into());
                s.last_error = None;
                s.last_success = Some(now);
                s.consecutive_failures = 0;
                s.backoff_until = None;
                s.last_items = o.items;
                s.items_total += o.items;
                s.pushes_total += o.pushes;
                s.queue = o.queue;
                s.conflicts = o.conflicts;
            }
            Err(e) => {
                s.failures += 1;
                s.consecutive_failures += 1;
                let wait = self.backoff.first.saturating_mul(1 << (s.consecutive_failures - 1).min(16)).min(self.backoff.max);
                s.backoff_until = Some(now + chrono::TimeDelta::from_std(wait).unwrap_or_default());
                s.last_outcome = Some("failed".into());
                s.last_error = Some(format!("{e:#}"));
                tracing::warn!(job = %job.spec.name, error = %format!("{e:#}"), backoff_secs = wait.as_secs(), "run failed; backing off");
            }
        }
    }

    /// The Prometheus text format.
    pub fn metrics(&self) -> String {
        let status = self.status();
        let mut out = String::new();
        let mut family = |name: &str, help: &str, kind: &str, value: &dyn Fn(&JobStatus) -> Option<f64>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            for s in &status {
                if let Some(v) = value(s) {
                    out.push_str(&format!("{name}{{job=\"{}\"}} {v}\n", s.job.replace('\\', "\\\\").replace('"', "\\\"")));
                }
            }
        };
        family("oai_mirror_runs_total", "Runs finished.", "counter", &|s| Some(s.runs as f64));
        family("oai_mirror_failures_total", "Runs that failed.", "counter", &|s| Some(s.failures as f64));
        family("oai_mirror_skipped_ticks_total", "Scheduled runs skipped while the job was still running.", "counter", &|s| Some(s.skipped_ticks as f64));
        family("oai_mirror_triggers_total", "Runs asked for through the control endpoint.", "counter", &|s| Some(s.triggers as f64));
        family("oai_mirror_items_total", "Records harvested, pages mirrored or synced.", "counter", &|s| Some(s.items_total as f64));
        family("oai_mirror_pushes_total", "Writes to wikis verified by a sync.", "counter", &|s| Some(s.pushes_total as f64));
        family("oai_mirror_retries", "Consecutive failed runs (the backoff doubles with each).", "gauge", &|s| Some(f64::from(s.consecutive_failures)));
        family("oai_mirror_queue_length", "Pushes waiting in a sync's outbox.", "gauge", &|s| Some(s.queue as f64));
        family("oai_mirror_open_conflicts", "Conflicts a sync recorded in its last run.", "gauge", &|s| Some(s.conflicts as f64));
        family("oai_mirror_running", "1 while the job runs.", "gauge", &|s| Some(if s.running { 1.0 } else { 0.0 }));
        family("oai_mirror_last_success_timestamp_seconds", "When the job last succeeded.", "gauge", &|s| s.last_success.map(|t| t.timestamp() as f64));
        out
    }
}

#[cfg(test)]
mod tests;
