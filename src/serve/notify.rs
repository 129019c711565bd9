//! Pushed along a chain: after a run that stored changes, every mirror
//! listed in `[serve] notify` is told at once (its `POST /trigger/JOB`), so
//! a change travels origin → mirror → mirror without a poll. Each call is
//! retried a few times with a growing wait, every failure is logged, and
//! none fails the run that stored the changes: the mirror below catches up
//! on its own schedule anyway.

use std::time::Duration;

use crate::settings::{NotifySettings, Settings};

/// Attempts per mirror, the first included.
const ATTEMPTS: u32 = 3;

/// Tells every mirror below this one; returns how many took the call.
pub async fn notify_all(settings: &Settings) -> usize {
    let Some(serve) = &settings.serve else { return 0 };
    if serve.notify.is_empty() {
        return 0;
    }
    crate::util::install_tls();
    let Ok(http) = reqwest::Client::builder().timeout(Duration::from_secs(10)).redirect(reqwest::redirect::Policy::none()).build() else { return 0 };
    let mut told = 0;
    for target in &serve.notify {
        match notify(&http, target).await {
            Ok(()) => told += 1,
            Err(e) => {
                tracing::warn!(url = %target.url, error = %format!("{e:#}"), "a mirror below this one was not told of the change; it catches up on its own schedule")
            }
        }
    }
    told
}

async fn notify(http: &reqwest::Client, target: &NotifySettings) -> anyhow::Result<()> {
    let token = target.token()?;
    let mut wait = Duration::from_millis(500);
    let mut last = None;
    for attempt in 1..=ATTEMPTS {
        let mut request = http.post(&target.url);
        if let Some(t) = &token {
            request = request.bearer_auth(t);
        }
        match request.send().await {
            Ok(r) if r.status().is_success() => {
                tracing::info!(url = %target.url, "told the mirror below of the change");
                return Ok(());
            }
            // A refusal (wrong token, no such job) is the same next time.
            Ok(r) if r.status().is_client_error() => anyhow::bail!("{} answered HTTP {}", target.url, r.status()),
            Ok(r) => last = Some(anyhow::anyhow!("{} answered HTTP {}", target.url, r.status())),
            Err(e) => last = Some(anyhow::anyhow!("{}: {e}", target.url)),
        }
        if attempt < ATTEMPTS {
            tracing::warn!(url = %target.url, attempt, wait_ms = wait.as_millis() as u64, error = %format!("{:#}", last.as_ref().expect("set above")), "retrying the notification");
            tokio::time::sleep(wait).await;
            wait *= 2;
        }
    }
    Err(last.expect("at least one attempt"))
}
