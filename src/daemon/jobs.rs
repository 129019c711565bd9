//! The daemon's jobs, from the config, and the runner that runs them.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::Store;

use super::core::{JobSpec, Outcome, RunFuture, Runner};
use super::schedule::Schedule;
use crate::settings::Settings;

/// Every `[source.*]`, `[wiki.*]` and `[sync.*]` is a job; those with a
/// `schedule` run on it, the others when triggered.
pub fn specs(settings: &Settings) -> anyhow::Result<Vec<JobSpec>> {
    let schedule = |table: &str, s: &Option<String>, tz: &Option<String>| -> anyhow::Result<Option<Schedule>> {
        s.as_deref().map(|e| Schedule::parse(e, tz.as_deref())).transpose().map_err(anyhow::Error::msg).with_context(|| format!("[{table}] schedule"))
    };
    let mut out = Vec::new();
    for (name, s) in &settings.source {
        let table = format!("source.{name}");
        out.push(JobSpec { schedule: schedule(&table, &s.schedule, &s.timezone)?, resources: vec![format!("source:{}", s.url)], name: table });
    }
    for (name, w) in &settings.wiki {
        let table = format!("wiki.{name}");
        out.push(JobSpec { schedule: schedule(&table, &w.schedule, &w.timezone)?, resources: vec![format!("wiki:{name}")], name: table });
    }
    for (name, s) in &settings.sync {
        let table = format!("sync.{name}");
        let mut resources = vec![format!("wiki:{}", s.wiki)];
        resources.extend(s.with.iter().map(|w| format!("wiki:{w}")));
        // Two syncs of one directory never run at once either.
        resources.extend(s.checkout.iter().map(|d| format!("checkout:{}", d.display())));
        out.push(JobSpec { schedule: schedule(&table, &s.schedule, &s.timezone)?, resources, name: table });
    }
    Ok(out)
}

/// Runs jobs by name through [`crate::tasks`].
pub fn runner(settings: Arc<Settings>, store: Arc<Mutex<Store>>) -> Runner {
    Arc::new(move |job: String| {
        let (settings, store) = (settings.clone(), store.clone());
        Box::pin(async move {
            let (kind, name) = job.split_once('.').context("a job name is KIND.NAME")?;
            match kind {
                "source" => {
                    let s = crate::tasks::harvest_source(&settings, store, name, Arc::new(crate::harvest::Quiet)).await?;
                    Ok(Outcome { items: s.records, ..Default::default() })
                }
                "wiki" => {
                    let s = crate::tasks::mirror_wiki(&settings, store, name, None).await?;
                    Ok(Outcome { items: s.pages_seen, ..Default::default() })
                }
                "sync" => {
                    let r = crate::tasks::sync_pair(&settings, store.clone(), name, false).await?;
                    let conflicts = crate::util::lock(&store).conflicts(name, true)?.len() as u64;
                    if r.failed > 0 {
                        anyhow::bail!("{} write(s) did not go through (queued: {})", r.failed, r.queued);
                    }
                    Ok(Outcome { items: r.pushes + r.moves + r.deletes + r.created + r.revived, pushes: r.pushes, queue: r.queued, conflicts })
                }
                other => anyhow::bail!("unknown kind of job {other:?}"),
            }
        }) as RunFuture
    })
}
