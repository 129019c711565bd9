//! The history pass: every revision of every page in the mirror, read from
//! the wiki in its own order (timestamp, then id), a chunk at a time.
//!
//! Each chunk is stored with how far the page's history now goes, in one
//! transaction (`Store::add_history`), so a pass killed anywhere goes on
//! from its last commit, and memory holds one chunk whatever the length of
//! a page's history. A page edited since is read on from where its history
//! stopped: after the first pass, each pass reads only what is new. One
//! request is in flight at a time, through the wiki's client (`maxlag`,
//! retries, `Retry-After`).

use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::{HistoryGap, RevisionRow, Store};

use crate::mediawiki::{Revision, Wiki};
use crate::util::{lock, sha1_hex};

/// What a history pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HistorySummary {
    /// Pages whose history was read (in part or whole).
    pub pages: u64,
    /// Revisions added to the store.
    pub revisions: u64,
    /// Revisions whose text the wiki hides (deleted or suppressed): not stored.
    pub hidden: u64,
    /// Pages that failed (told in the log); the next pass tries them again.
    pub failed: u64,
}

/// One chunk read, ready to store: the rows, how far the page's history
/// goes after them, and whether that is its current revision.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub rows: Vec<RevisionRow>,
    pub hidden: u64,
    pub through: (String, u64),
    pub complete: bool,
}

/// A chunk of `gap`'s revisions as read (`more`: the wiki has more after
/// them) into what to store. Pure. Revisions the store has already (the
/// one the chunk starts from, read again) are stored again harmlessly.
pub fn step(gap: &HistoryGap, chunk: &[Revision], more: bool) -> Step {
    let rows: Vec<RevisionRow> = chunk.iter().filter_map(row).collect();
    let hidden = chunk.iter().filter(|r| r.text.is_none()).count() as u64;
    let last = chunk.last().map(|r| (r.timestamp.clone(), r.revid));
    let complete = !more;
    let through = match (complete, last, &gap.through) {
        // Through the current revision, whatever came last at its second.
        (true, Some((ts, _)), _) => (ts, gap.rev_id),
        (true, None, Some((ts, _))) => (ts.clone(), gap.rev_id),
        (true, None, None) => (String::new(), gap.rev_id),
        (false, Some(last), _) => last,
        (false, None, through) => through.clone().unwrap_or_default(),
    };
    Step { rows, hidden, through, complete }
}

/// A revision as stored; `None` when the wiki hides its text.
pub fn row(r: &Revision) -> Option<RevisionRow> {
    let text = r.text.clone()?;
    Some(RevisionRow {
        revid: r.revid,
        parentid: r.parentid,
        timestamp: r.timestamp.clone(),
        user: r.user.clone(),
        comment: r.comment.clone(),
        sha1: sha1_hex(&text),
        text,
        minor: r.minor,
        user_id: r.user_id,
    })
}

/// Pages asked of the store at a time.
const GAPS: usize = 200;

/// Reads every revision the mirror of `name` lacks, page by page.
#[tracing::instrument(name = "history", skip_all, fields(wiki = %name))]
pub async fn fill(store: &Arc<Mutex<Store>>, wiki: &Wiki, name: &str) -> anyhow::Result<HistorySummary> {
    let mut summary = HistorySummary::default();
    let mut after = 0;
    loop {
        let gaps = lock(store).history_gaps(name, after, GAPS)?;
        let Some(last) = gaps.last() else { break };
        after = last.pageid;
        for gap in gaps {
            summary.pages += 1;
            if let Err(e) = fill_page(store, wiki, name, &gap, &mut summary).await {
                // A page that fails fails alone: the pass goes on, and the
                // next one reads it from where its history stopped.
                summary.failed += 1;
                tracing::warn!(page = gap.pageid, title = %gap.title, "reading its history failed: {e:#}");
            }
        }
    }
    if summary.revisions > 0 || summary.hidden > 0 {
        tracing::info!(pages = summary.pages, revisions = summary.revisions, hidden = summary.hidden, "history read");
    }
    Ok(summary)
}

async fn fill_page(store: &Arc<Mutex<Store>>, wiki: &Wiki, name: &str, gap: &HistoryGap, summary: &mut HistorySummary) -> anyhow::Result<()> {
    let mut gap = gap.clone();
    let mut cont: Option<String> = None;
    let mut guard = crate::mediawiki::client::Continuation::new(name, "rvcontinue");
    loop {
        let from = gap.through.as_ref().map(|t| t.1).filter(|_| cont.is_none());
        let Some(chunk) = wiki.revision_chunk(gap.pageid, from, gap.rev_id, cont.as_deref()).await? else {
            // Gone from the wiki: the feed will say so; nothing to read.
            return Ok(());
        };
        let step = step(&gap, &chunk.revisions, chunk.next.is_some());
        summary.hidden += step.hidden;
        let (store, name2, g, s) = (store.clone(), name.to_string(), gap.clone(), step.clone());
        let added = tokio::task::spawn_blocking(move || {
            lock(&store).add_history(&name2, g.pageid, &g.title, &s.rows, (&s.through.0, s.through.1), chrono::Utc::now().timestamp())
        })
        .await
        .context("storing a page's history panicked")?
        .with_context(|| format!("storing the history of [[{}]]", gap.title))?;
        summary.revisions += added;
        if step.complete {
            return Ok(());
        }
        gap.through = Some(step.through);
        cont = guard.next(chunk.next.as_deref())?;
    }
}

#[cfg(test)]
mod tests;
