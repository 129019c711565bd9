//! The daemon's recent runs of each job, for its console: a bounded
//! history, the last [`KEPT_RUNS`] of each job.

use rusqlite::params;

use crate::error::{Doing, Result};
use crate::store::Store;

/// Runs kept per job.
pub const KEPT_RUNS: i64 = 100;

/// One finished run of a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRun {
    pub job: String,
    pub started_at: i64,
    pub finished_at: i64,
    pub ok: bool,
    pub items: u64,
    pub requests: Option<u64>,
    pub error: Option<String>,
}

impl Store {
    /// Records a finished run, and forgets the job's runs beyond the last [`KEPT_RUNS`].
    pub fn record_job_run(&self, run: &JobRun) -> Result<()> {
        let tx = self.conn().unchecked_transaction().doing("recording a run")?;
        tx.execute(
            "INSERT INTO job_run (job, started_at, finished_at, outcome, items, requests, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                run.job,
                run.started_at,
                run.finished_at,
                if run.ok { "ok" } else { "failed" },
                run.items as i64,
                run.requests.map(|r| r as i64),
                run.error
            ],
        )
        .doing("recording a run")?;
        tx.execute(
            "DELETE FROM job_run WHERE job = ?1 AND run_id <= (SELECT run_id FROM job_run WHERE job = ?1 ORDER BY run_id DESC LIMIT 1 OFFSET ?2)",
            params![run.job, KEPT_RUNS],
        )
        .doing("forgetting old runs")?;
        tx.commit().doing("recording a run")
    }

    /// The job's last `limit` runs, newest first.
    pub fn job_runs(&self, job: &str, limit: u32) -> Result<Vec<JobRun>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT job, started_at, finished_at, outcome, items, requests, error FROM job_run WHERE job = ?1 ORDER BY run_id DESC LIMIT ?2")
            .doing("reading runs")?;
        let rows = stmt
            .query_map(params![job, limit], |r| {
                Ok(JobRun {
                    job: r.get(0)?,
                    started_at: r.get(1)?,
                    finished_at: r.get(2)?,
                    ok: r.get::<_, String>(3)? == "ok",
                    items: r.get::<_, i64>(4)? as u64,
                    requests: r.get::<_, Option<i64>>(5)?.map(|n| n as u64),
                    error: r.get(6)?,
                })
            })
            .doing("reading runs")?;
        rows.collect::<rusqlite::Result<_>>().doing("reading runs")
    }
}

#[cfg(test)]
mod tests;
