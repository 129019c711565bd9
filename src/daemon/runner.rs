//! The daemon's view of the resolved jobs, and the runner that runs them
//! through [`crate::jobs::run`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::Store;

use super::core::{JobSpec, RunFuture, Runner};
use crate::connections::Connections;
use crate::jobs::Job;
use crate::settings::Settings;

/// What the daemon's core needs of each job: its id, schedule and resources.
pub fn specs(jobs: &[Job]) -> Vec<JobSpec> {
    jobs.iter().map(|j| JobSpec { name: j.id(), schedule: j.schedule.clone(), resources: j.resources() }).collect()
}

/// Runs the jobs by id. Each run opens its own connection to the database
/// (WAL lets them work side by side), so no job waits for another's
/// transactions behind a shared lock, and the connection is opened off the
/// async workers.
///
/// Harvests run at most `[harvest] jobs` at once (the others wait their
/// turn), and share the process's connections (per-host limits, wiki
/// sessions) with each other.
/// How far each running harvest is, by job id, for the console.
pub type Progress = Arc<Mutex<BTreeMap<String, String>>>;

/// A harvest's progress as the console shows it: records so far, and of how many.
struct Telling {
    job: String,
    progress: Progress,
}

impl crate::harvest::Progress for Telling {
    fn page_committed(&self, tally: &checkpoints::Tally, list: &crate::harvest::ListProgress) {
        let of = list.complete_list_size.map(|n| format!(" of about {n}")).unwrap_or_default();
        let line = format!("{} records{of}, {} pages", tally.records, tally.pages);
        crate::util::lock(&self.progress).insert(self.job.clone(), line);
    }
}

pub fn runner(settings: Arc<Settings>, conns: Arc<Connections>, db: PathBuf, jobs: Vec<Job>, progress: Progress) -> Runner {
    let jobs: Arc<BTreeMap<String, Job>> = Arc::new(jobs.into_iter().map(|j| (j.id(), j)).collect());
    let harvests = Arc::new(tokio::sync::Semaphore::new(settings.harvest.jobs.max(1)));
    Arc::new(move |id: String| {
        let (settings, conns, db, jobs, harvests, progress) = (settings.clone(), conns.clone(), db.clone(), jobs.clone(), harvests.clone(), progress.clone());
        Box::pin(async move {
            let job = jobs.get(&id).with_context(|| format!("no job {id:?}"))?;
            let _turn = match job.kind() {
                crate::jobs::Kind::Harvest => Some(harvests.acquire_owned().await.expect("the semaphore is never closed")),
                _ => None,
            };
            let store = tokio::task::spawn_blocking(move || Store::open(&db)).await.context("opening the database panicked")??;
            let store = Arc::new(Mutex::new(store));
            let started = chrono::Utc::now().timestamp();
            let telling = Arc::new(Telling { job: id.clone(), progress: progress.clone() });
            let result = crate::jobs::run::run_telling(&settings, &conns, store.clone(), job, telling).await;
            crate::util::lock(&progress).remove(&id);
            // The console's history of runs; a run is not failed for want of it.
            let run = checkpoints::JobRun {
                job: id.clone(),
                started_at: started,
                finished_at: chrono::Utc::now().timestamp(),
                ok: result.is_ok(),
                items: result.as_ref().map_or(0, |o| o.items),
                requests: result.as_ref().ok().and_then(|o| o.requests),
                error: result.as_ref().err().map(|e| format!("{e:#}")),
            };
            if let Err(e) = crate::util::blocking(|| crate::util::lock(&store).record_job_run(&run)) {
                tracing::warn!(job = %id, "the run could not be recorded for the console: {e}");
            }
            result
        }) as RunFuture
    })
}
