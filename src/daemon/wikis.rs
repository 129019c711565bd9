//! The wikis the daemon's jobs use: each one's session kept alive between
//! runs, and whether it answers, for `/status` and `/metrics`.
//!
//! The clients are the settings' own (`Settings::wiki_client`), shared with
//! the runs: a login kept here is the one the next run uses, and every
//! request of a run says whether its wiki answers ([`Health`]). Every
//! `[daemon] check_wikis_secs` a wiki no run is using is asked a cheap
//! question (logging in again if it forgot the session); a wiki that
//! answers again after it did not gets the jobs that use it run at once:
//! a run that met it down waits for it this way, not for its schedule.

use std::sync::Arc;
use std::time::Duration;

use super::core::Daemon;
use crate::connections::Connections;
use crate::mediawiki::{Health, Wiki};
use crate::settings::Settings;

/// One wiki as `/status` shows it.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WikiStatus {
    pub wiki: String,
    pub api: String,
    /// `None` until it was first asked.
    pub reachable: Option<bool>,
    pub down_since: Option<chrono::DateTime<chrono::Utc>>,
    pub last_answer: Option<chrono::DateTime<chrono::Utc>>,
    pub last_error: Option<String>,
    pub logged_in: bool,
}

pub struct Wikis {
    clients: Vec<(String, String, Arc<Wiki>)>,
    every: Duration,
}

impl Wikis {
    /// The wikis the jobs use (`wiki:NAME` among their resources).
    pub fn new(settings: &Settings, conns: &Connections, jobs: &[crate::jobs::Job]) -> anyhow::Result<Wikis> {
        let mut names: Vec<String> = jobs.iter().flat_map(|j| j.resources()).filter_map(|r| r.strip_prefix("wiki:").map(str::to_string)).collect();
        names.sort();
        names.dedup();
        let mut clients = Vec::new();
        for name in names {
            let api = settings.wiki.get(&name).map(|w| w.api.clone()).unwrap_or_default();
            let client = conns.wiki(&name)?;
            clients.push((name, api, client));
        }
        Ok(Wikis { clients, every: Duration::from_secs(settings.daemon.check_wikis_secs.max(1)) })
    }

    pub fn status(&self) -> Vec<WikiStatus> {
        self.clients
            .iter()
            .map(|(name, api, client)| {
                let Health { reachable, down_since, last_answer, last_error, logged_in } = client.health();
                WikiStatus { wiki: name.clone(), api: api.clone(), reachable, down_since, last_answer, last_error, logged_in }
            })
            .collect()
    }

    /// The wikis' part of `/metrics`, in Prometheus' text format.
    pub fn metrics(&self) -> String {
        let status = self.status();
        let mut out = String::new();
        let mut family = |name: &str, help: &str, value: &dyn Fn(&WikiStatus) -> Option<f64>| {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for s in &status {
                if let Some(v) = value(s) {
                    out.push_str(&format!("{name}{{wiki=\"{}\"}} {v}\n", s.wiki.replace('\\', "\\\\").replace('"', "\\\"")));
                }
            }
        };
        family("oai_mirror_wiki_up", "1 if the wiki answered its last request, 0 if not.", &|s| s.reachable.map(|r| if r { 1.0 } else { 0.0 }));
        family("oai_mirror_wiki_down_since_timestamp_seconds", "Since when the wiki has not answered.", &|s| s.down_since.map(|t| t.timestamp() as f64));
        family("oai_mirror_wiki_logged_in", "1 while the daemon holds a session on the wiki.", &|s| Some(if s.logged_in { 1.0 } else { 0.0 }));
        out
    }

    /// Checks every idle wiki now and then until `stop`; a wiki that
    /// answers again gets its jobs run.
    pub async fn watch(self: Arc<Self>, daemon: Arc<Daemon>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            for (name, _, client) in &self.clients {
                let resource = format!("wiki:{name}");
                // A run is using it: its own requests say whether it answers.
                if daemon.busy(&resource) {
                    continue;
                }
                let was_down = client.health().reachable == Some(false);
                match client.keep_alive().await {
                    Ok(()) if was_down => {
                        let jobs = daemon.jobs_using(&resource);
                        tracing::info!(wiki = %name, jobs = %jobs.join(", "), "the wiki answers again; running its jobs");
                        for job in jobs {
                            daemon.retry_now(&job);
                        }
                    }
                    Ok(()) => {}
                    Err(e) => tracing::warn!(wiki = %name, "the wiki does not answer: {e}"),
                }
            }
        }
    }
}
