//! Measures the time from an edit on one wiki of a group to the same text
//! on every other member, through a running daemon told by the edit hook
//! (nothing here triggers it). Used by bench/group.sh, which sets it all up.
//!
//!     group_latency EDIT_API OTHER_API[,OTHER_API…] USER PASSWORD_FILE TITLE SUFFIX ROUNDS
//!
//! Each round saves TITLE on the first wiki with a new line and SUFFIX (the
//! group's category), then polls the others every 20 ms.

#![allow(clippy::print_stdout, clippy::print_stderr)] // an example reports to its user

use std::time::{Duration, Instant};

use oai_mirror::mediawiki::{CreateMode, Edit, PageRef, Wiki};

#[path = "probe/mod.rs"]
mod probe;
use probe::{text_on, wiki};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [edit_api, others, user, password_file, title, suffix, rounds] = args.as_slice() else {
        anyhow::bail!("usage: group_latency EDIT_API OTHER_API[,OTHER_API...] USER PASSWORD_FILE TITLE SUFFIX ROUNDS");
    };
    let password = std::fs::read_to_string(password_file)?.trim().to_string();
    let edited = wiki("edited", edit_api, user, &password)?;
    let others: Vec<Wiki> = others.split(',').enumerate().map(|(i, api)| wiki(&format!("other{i}"), api, user, &password)).collect::<anyhow::Result<_>>()?;
    let mut seconds = Vec::new();
    for round in 0..rounds.parse::<usize>()? {
        let text = format!("latency probe {round} at {:?}\n\n{suffix}", Instant::now());
        let e = Edit {
            page: PageRef::Title(title),
            text: &text,
            summary: "latency probe",
            base_revid: None,
            start_timestamp: None,
            mode: CreateMode::Either,
            minor: false,
            tags: &[],
        };
        let start = Instant::now();
        edited.edit(&e).await?;
        for w in &others {
            while text_on(w, title).await.as_deref() != Some(text.as_str()) {
                anyhow::ensure!(start.elapsed() < Duration::from_secs(60), "round {round}: the edit did not reach {} within 60 s", w.name());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let took = start.elapsed().as_secs_f64();
        println!("round {round}: {took:.2} s");
        // The first round's includes the daemon's logins and first reads.
        if round > 0 {
            seconds.push(took);
        }
    }
    seconds.sort_by(f64::total_cmp);
    if let (Some(median), Some(max)) = (seconds.get(seconds.len() / 2), seconds.last()) {
        println!(
            "edit on one member -> the same text on every other, through the hook: median {median:.2} s, max {max:.2} s ({} edits after the first)",
            seconds.len()
        );
    }
    Ok(())
}
