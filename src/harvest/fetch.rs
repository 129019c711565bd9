//! The fetching side of a harvest: pages asked for in order (the next as
//! soon as a page has arrived), windows followed, a lost token restarted,
//! each parsed page handed to the writer through a bounded channel.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use checkpoints::Position;
use oai::{Client, ErrorCode, ListArgs, Record, TokenGuard};
use tokio::sync::mpsc;

use super::plan::Windows;
use super::write::{BYTES_AHEAD_KIB, PageWrite, Write};
use super::{HarvestRequest, ListProgress, pack};

/// Windows restarted in a row after a token could not be followed before
/// giving up: a window that cannot finish before its token expires needs
/// a smaller one.
pub(super) const MAX_WINDOW_RESTARTS: u32 = 3;

/// Whether a failed request for a token's page means the token is lost,
/// so the window must start again from its first page: the repository
/// refused it (`badResumptionToken`), it is too long to send, or the
/// repository kept failing on it (a restarted server that forgot its
/// tokens answers 5xx rather than `badResumptionToken`). Left in flight, such
/// a token would fail every later run the same way.
pub(super) fn token_is_lost(e: &oai::Error) -> bool {
    // An error status, other than those that say "later" (a server that is
    // busy or down is not one that lost the token).
    let refused = |e: &oai::Error| matches!(e, oai::Error::Status { status, .. } if *status >= 400 && !matches!(status, 408 | 425 | 429 | 503));
    e.oai_code() == Some(&ErrorCode::BadResumptionToken)
        || matches!(e, oai::Error::TokenTooLong { .. })
        || refused(e)
        || matches!(e, oai::Error::RetriesExhausted { last, .. } if refused(last))
}

/// The request for a page, sent before the page that named it was parsed.
/// Dropping it cancels the request.
pub(super) struct Prefetch {
    pub(super) args: ListArgs,
    pub(super) reply: tokio::task::JoinHandle<oai::Result<oai::Received>>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.reply.abort();
    }
}

/// What fetchers hand their pages to: the writer's channel, the room for
/// pages waiting, the packing of their metadata, the clocks.
#[derive(Clone)]
pub(super) struct Pipeline {
    pub(super) tx: mpsc::Sender<Write>,
    pub(super) budget: Arc<tokio::sync::Semaphore>,
    pub(super) packing: Arc<pack::Packing>,
    pub(super) clocks: Arc<pack::Clocks>,
}

impl Pipeline {
    pub(super) async fn send(&self, write: Write) -> anyhow::Result<()> {
        self.tx.send(write).await.map_err(|_| anyhow::anyhow!("the writer stopped"))
    }
}

/// Where a fetcher starts.
pub(super) struct Start {
    pub(super) position: Position,
    pub(super) slice: Option<SliceStart>,
}

/// A slice of a parallel run, as its fetcher takes it.
pub(super) struct SliceStart {
    pub(super) id: i64,
    /// Its first page, when planning already asked for it.
    pub(super) first: Option<oai::Fetched<oai::Page<Record>>>,
    /// The run's records as far as the slices' first pages say, for progress.
    pub(super) run_size: Option<u64>,
}

/// Follows tokens and windows, sending each page to the writer.
///
/// The next page is requested as soon as this one has arrived, with the
/// token read from the end of its body ([`oai::Received::peek_token`]),
/// so the repository prepares it while this one is parsed and stored.
/// Still one request at a time: the next is sent only once this one has
/// been received in full. The parsed page decides: if its token is not
/// the one peeked, or it fails, the early request is dropped.
pub(super) async fn fetch_pages(
    client: &Client,
    request: &HarvestRequest,
    start: Start,
    windows: &Windows,
    mut requests_before: u64,
    pipeline: &Pipeline,
) -> anyhow::Result<()> {
    let mut position = start.position;
    let (slice, mut first, run_size) = match start.slice {
        Some(s) => (Some(s.id), s.first, s.run_size),
        None => (None, None, None),
    };
    let mut guard = position.token.as_deref().map(TokenGuard::resuming).unwrap_or_default();
    let mut restarts_in_a_row = 0;
    let mut prefetch: Option<Prefetch> = None;
    let clocks = &pipeline.clocks;
    loop {
        let args = match &position.token {
            Some(token) => ListArgs::Resume { token: token.clone() },
            None => ListArgs::Initial {
                metadata_prefix: request.source.metadata_prefix.clone(),
                set: request.source.set_spec.clone(),
                from: position.window_from.clone(),
                until: position.window_until.clone(),
            },
        };
        let fetched = match first.take() {
            Some(page) => Ok(page),
            None => {
                let asked = Instant::now();
                let received = match prefetch.take() {
                    Some(mut early) if early.args == args => (&mut early.reply).await.context("a request task failed")?,
                    _ => client.receive_records(&args).await,
                };
                clocks.add(&clocks.waiting, asked.elapsed());
                if let Ok(page) = &received
                    && let Some(token) = page.peek_token()
                    && !guard.has_seen(&token)
                {
                    let args = ListArgs::Resume { token };
                    prefetch = Some(Prefetch { reply: tokio::spawn(client.receive_records(&args)), args });
                }
                let parsing = Instant::now();
                let parsed = client.list_records_received(&args, received).await;
                clocks.add(&clocks.parsing, parsing.elapsed());
                parsed
            }
        };
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) if position.token.is_some() && token_is_lost(&e) => {
                // The window starts again from its first page, now or at
                // the next run: a lost token never stays in flight.
                pipeline.send(Write::RestartWindow { error: e.to_string(), slice }).await?;
                restarts_in_a_row += 1;
                if restarts_in_a_row > MAX_WINDOW_RESTARTS {
                    return Err(e).context("the repository keeps failing on its own resumptionTokens; try a smaller --window");
                }
                tracing::warn!(error = %e, window_from = ?position.window_from, "the resumptionToken cannot be followed; restarting the window from its first page (what was stored stays, and is stored again)");
                position.token = None;
                guard = TokenGuard::new();
                continue;
            }
            Err(e) => return Err(e).context(format!("harvesting {}", request.source.base_url)),
        };
        let origin = oai::Origin { url: client.url(oai::Verb::ListRecords, &[]).to_string(), verb: oai::Verb::ListRecords, token: position.token.clone() };
        let next_token = guard.next(&fetched.value, &origin).context("following resumption tokens")?.map(str::to_string);
        let next = match next_token {
            Some(token) => Position { token: Some(token), ..position.clone() },
            None => {
                restarts_in_a_row = 0;
                match windows.after(&position) {
                    Some(next_window) => {
                        guard = TokenGuard::new();
                        next_window
                    }
                    None => Position { token: None, ..position.clone() },
                }
            }
        };
        let done = next.token.is_none() && next.window_from == position.window_from;
        // The early request belongs to the next page; it is counted there.
        // Slices share the client: each page counts its own attempts.
        let requests_now = client.requests() - prefetch.is_some() as u64;
        let requests = match slice {
            Some(_) => u64::from(fetched.attempts),
            None => requests_now - requests_before,
        };
        let page = fetched.value;
        let list = match slice {
            Some(_) => ListProgress { window: None, complete_list_size: run_size, page_records: page.items.len() as u64 },
            None => ListProgress {
                window: position.window_from.as_ref().map(|from| format!("{from}..{}", position.window_until.as_deref().unwrap_or(""))),
                complete_list_size: page.token.as_ref().and_then(|t| t.complete_list_size),
                page_records: page.items.len() as u64,
            },
        };
        for why in &page.skipped {
            tracing::warn!(%origin, skipped = %why, "a record left out; the rest of the page is stored");
        }
        let outside = super::plan::outside(&page.items, position.window_from.as_deref(), position.window_until.as_deref());
        if outside > 0 {
            tracing::warn!(records = outside, from = ?position.window_from, until = ?position.window_until, "records outside the range asked for: stored, and counted");
        }
        // Pages waiting for the writer are bounded in bytes as well as in
        // number: a page of a million tiny records is as big as many pages.
        let kib = page.items.iter().map(|r| r.header.identifier.len() + r.header.datestamp.len() + r.metadata.as_ref().map_or(0, Vec::len) + 64).sum::<usize>()
            / 1024
            + 1;
        let room = pipeline.budget.clone().acquire_many_owned(kib.min(BYTES_AHEAD_KIB) as u32).await.context("the writer stopped")?;
        let texts = if request.search { page.items.iter().map(record_text).collect() } else { Vec::new() };
        let records = Arc::new(page.items);
        pipeline
            .send(Write::Page(PageWrite {
                _room: room,
                texts,
                packing: pipeline.packing.start(records.clone()),
                records,
                next: next.clone(),
                requests,
                repairs: fetched.repairs,
                skipped: page.skipped.len() as u64,
                outside,
                transcoded: fetched.transcoded.is_some(),
                response_date: page.response_date,
                list,
                slice,
            }))
            .await?;
        requests_before = requests_now;
        if done {
            return Ok(());
        }
        position = next;
    }
}

/// What search finds a record by: its DC fields, each field's values one
/// a line; `None` for a deletion or metadata without DC fields.
fn record_text(record: &Record) -> Option<checkpoints::RecordText> {
    let dc = oai::dc::dc_text(record.metadata.as_deref().filter(|_| !record.header.deleted)?)?;
    Some(checkpoints::RecordText {
        title: dc.title.join("\n"),
        creator: dc.creator.join("\n"),
        subject: dc.subject.join("\n"),
        description: dc.description.join("\n"),
    })
}
