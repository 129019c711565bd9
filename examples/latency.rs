//! Measures sync latency through a running daemon: an edit on wiki A until
//! the same text is on wiki B, once followed by a trigger and once left to
//! the schedule. Used by bench/latency.sh, which sets everything up.
//!
//!     latency A_API B_API USER PASSWORD_FILE DAEMON_URL TOKEN TITLE

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use std::time::{Duration, Instant};

use oai_mirror::mediawiki::{CreateMode, Edit, PageRef, Wiki};

#[path = "probe/mod.rs"]
mod probe;
use probe::{text_on, wiki};

async fn edit(w: &Wiki, title: &str, text: &str) -> anyhow::Result<()> {
    let e = Edit {
        page: PageRef::Title(title),
        text,
        summary: "latency probe",
        base_revid: None,
        start_timestamp: None,
        mode: CreateMode::Either,
        minor: false,
        tags: &[],
    };
    w.edit(&e).await?;
    Ok(())
}

/// Seconds until `text` is on `w`, polling every 100 ms, at most `limit`.
async fn until_there(w: &Wiki, title: &str, text: &str, start: Instant, limit: Duration) -> anyhow::Result<f64> {
    loop {
        if text_on(w, title).await.as_deref() == Some(text) {
            return Ok(start.elapsed().as_secs_f64());
        }
        anyhow::ensure!(start.elapsed() < limit, "the text did not reach wiki B within {}s", limit.as_secs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [a_api, b_api, user, password_file, daemon, token, title] = args.as_slice() else {
        anyhow::bail!("usage: latency A_API B_API USER PASSWORD_FILE DAEMON_URL TOKEN TITLE");
    };
    let password = std::fs::read_to_string(password_file)?.trim().to_string();
    let (a, b) = (wiki("a", a_api, user, &password)?, wiki("b", b_api, user, &password)?);
    let http = reqwest::Client::new();
    let mut triggered = Vec::new();
    for i in 0..5 {
        let text = format!("latency probe {i} at {:?}", Instant::now());
        let start = Instant::now();
        edit(&a, title, &text).await?;
        http.post(format!("{daemon}/trigger/sync.ab")).bearer_auth(token).send().await?.error_for_status()?;
        triggered.push(until_there(&b, title, &text, start, Duration::from_secs(30)).await?);
    }
    triggered.sort_by(f64::total_cmp);
    println!("edit on A -> same text on B, with a trigger: median {:.2}s, max {:.2}s ({} edits)", triggered[2], triggered[4], triggered.len());
    let text = format!("scheduled probe at {:?}", Instant::now());
    let start = Instant::now();
    edit(&a, title, &text).await?;
    let scheduled = until_there(&b, title, &text, start, Duration::from_secs(150)).await?;
    println!("edit on A -> same text on B, left to the 1-minute schedule: {scheduled:.1}s");
    Ok(())
}
