//! The render pass: each live page whose current revision has no kept
//! rendering is rendered by the wiki itself (`action=parse` of that
//! revision) and kept with it, for the reader. One request a page (the
//! API renders one revision a request), through the wiki's client and so
//! within its limits; a batch of renderings is kept in one transaction.
//!
//! A page whose templates changed after it was rendered keeps its
//! rendering until the page itself changes: every mirror has this limit;
//! `mirror WIKI --render-all` renders every page again.

use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::{Rendering, Store};

use crate::mediawiki::{MwError, Wiki};
use crate::util::lock;

/// What a render pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RenderSummary {
    /// Pages rendered and kept.
    pub rendered: u64,
    /// Pages whose revision the wiki no longer shows (the next pull brings what it has).
    pub gone: u64,
    /// Pages the wiki could not render this time (see the log); tried again next pass.
    pub failed: u64,
}

/// Pages asked of the store at a time, and kept in one transaction.
const BATCH: usize = 50;

/// Renders the pages of `name` whose current revision is not rendered.
/// A page the wiki refuses to render is logged and left for the next
/// pass; a wiki that cannot be reached ends the pass (what is kept stays).
#[tracing::instrument(name = "render", skip_all, fields(wiki = %name))]
pub async fn render(store: &Arc<Mutex<Store>>, wiki: &Wiki, name: &str) -> anyhow::Result<RenderSummary> {
    let mut summary = RenderSummary::default();
    let mut after = 0;
    loop {
        let gaps = lock(store).render_gaps(name, after, BATCH)?;
        let Some(last) = gaps.last() else { break };
        after = last.pageid;
        let mut kept = Vec::with_capacity(gaps.len());
        for gap in &gaps {
            match wiki.parse(gap.rev_id, &gap.title).await {
                Ok(Some(p)) if p.html.len() <= checkpoints::render::MAX_HTML => {
                    kept.push((gap.pageid, Rendering { rev_id: gap.rev_id, html: p.html, display_title: p.display_title, categories: p.categories }));
                }
                Ok(Some(p)) => {
                    tracing::warn!(title = %gap.title, bytes = p.html.len(), "a rendering larger than {} bytes is not kept; the page is shown as text", checkpoints::render::MAX_HTML);
                    summary.failed += 1;
                }
                Ok(None) => summary.gone += 1,
                Err(e @ (MwError::Unreachable { .. } | MwError::NotApi { .. } | MwError::LoginFailed { .. } | MwError::NoCredentials { .. })) => {
                    keep(store, name, kept).await?;
                    return Err(e).context("rendering pages");
                }
                Err(e) => {
                    tracing::warn!(title = %gap.title, rev_id = gap.rev_id, "rendering a page failed: {e}");
                    summary.failed += 1;
                }
            }
        }
        summary.rendered += kept.len() as u64;
        keep(store, name, kept).await?;
    }
    if summary != RenderSummary::default() {
        tracing::info!(rendered = summary.rendered, gone = summary.gone, failed = summary.failed, "pages rendered");
    }
    Ok(summary)
}

async fn keep(store: &Arc<Mutex<Store>>, name: &str, kept: Vec<(u64, Rendering)>) -> anyhow::Result<()> {
    if kept.is_empty() {
        return Ok(());
    }
    let (store, name) = (store.clone(), name.to_string());
    tokio::task::spawn_blocking(move || lock(&store).set_renderings(&name, &kept, chrono::Utc::now().timestamp()))
        .await
        .context("keeping renderings panicked")??;
    Ok(())
}
