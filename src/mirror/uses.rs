//! The files the selected pages use (`used_files = true`): each page's
//! `prop=images` read when its revision moves, and the File: pages of the
//! files used that the mirror lacks read and stored like any page, so that
//! the files pass fetches their files. Later, the pull follows those pages
//! as selected ones (`Selection::also`): a used file uploaded again, moved
//! or deleted comes through the feed.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::Store;

use super::plan::Incoming;
use super::pull::{PullOptions, PullSummary, apply, incoming_from_states};
use crate::mediawiki::{PageRef, Wiki};
use crate::util::lock;

/// Pages whose uses are read at a time (what a bot may ask in one request).
const GAPS: usize = 500;
/// Pages read by title at a time.
const TITLES: usize = 50;

/// After a pull with `used_files`: reads the uses of the pages that
/// changed, then stores the used File: pages the mirror lacks (their
/// history, with full history, is read by the next pull's pass), counted
/// in the pull's summary.
pub async fn follow_after(store: &Arc<Mutex<Store>>, wiki: &Wiki, opts: &PullOptions, summary: &mut PullSummary) -> anyhow::Result<()> {
    if !opts.used_files {
        return Ok(());
    }
    let before = wiki.requests();
    let added = follow(store, wiki, opts, summary).await.context("reading the files pages use")?;
    summary.wrote |= added > 0;
    summary.requests += wiki.requests() - before;
    Ok(())
}

/// Reads the uses of the pages that changed, then stores the used File:
/// pages the mirror lacks. Returns how many pages it stored.
async fn follow(store: &Arc<Mutex<Store>>, wiki: &Wiki, opts: &PullOptions, summary: &mut PullSummary) -> anyhow::Result<u64> {
    let name = &opts.wiki;
    let mut after = 0;
    loop {
        let gaps = lock(store).use_gaps(name, after, GAPS)?;
        let Some(last) = gaps.last() else { break };
        after = last.pageid;
        let ids: Vec<u64> = gaps.iter().map(|g| g.pageid).collect();
        let mut used = wiki.images_used(&ids).await?;
        let read: Vec<(u64, u64, Vec<String>)> = gaps.iter().map(|g| (g.pageid, g.rev_id, used.remove(&g.pageid).unwrap_or_default())).collect();
        let (s, n) = (store.clone(), name.clone());
        tokio::task::spawn_blocking(move || lock(&s).set_file_uses(&n, &read)).await.context("recording the files pages use panicked")??;
    }
    let missing = lock(store).used_titles_missing(name)?;
    if missing.is_empty() {
        return Ok(0);
    }
    // Selected from now on, as every pull will select them.
    let mut opts = opts.clone();
    opts.selection.also.extend(missing.iter().cloned());
    let before = summary.counts.created;
    for chunk in missing.chunks(TITLES) {
        let refs: Vec<PageRef<'_>> = chunk.iter().map(|t| PageRef::Title(t)).collect();
        let states = wiki.pages(&refs).await?;
        let mut incoming = Vec::new();
        // Only what is there: a used file without a page is not a deletion.
        for (inc, current) in incoming_from_states(states, &opts, &[]) {
            if let Incoming::Present { page, .. } = inc {
                incoming.push(Incoming::Present { page, revisions: current.into_iter().collect() });
            }
        }
        if !incoming.is_empty() {
            apply(store, name, incoming, None, summary).await?;
        }
    }
    Ok(summary.counts.created - before)
}
