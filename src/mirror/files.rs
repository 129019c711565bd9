//! The files pass: the files of a mirrored wiki's File: pages, every
//! version (with full history) or the current one, downloaded into the
//! files directory beside the database and checked against the size and
//! SHA-1 the wiki states.
//!
//! A File: page is read (`prop=imageinfo`) when its current revision is
//! not the one its versions were last read at: an upload, a re-upload, a
//! revert and a move all give the page a new revision, which the feed
//! brings. Then each version not yet stored is downloaded (`download`):
//! streamed to a partial file (memory holds one chunk, whatever the
//! size), resumed with a range request where a download was cut off, and
//! kept only if its size and SHA-1 match; a mismatch goes to quarantine,
//! is counted, and is tried again, never kept as good. A content is kept
//! once, however many versions, pages or wikis have it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use checkpoints::{Blobs, FileKey, FileState, FileVersion, Store, StoredFile};

use crate::mediawiki::{FileInfo, Wiki};
use crate::util::lock;

mod download;

pub use download::Downloads;
use download::Outcome;

/// How a wiki's files are mirrored: data, from `[files]` and `[wiki.NAME]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilesOptions {
    /// Every version of each file (`history = "full"`), or the current one.
    pub all_versions: bool,
    /// Download files kept by a shared repository (`foreign_files = "copy"`).
    pub copy_foreign: bool,
    /// A version larger than this is recorded as `too_large`.
    pub max_file_bytes: u64,
    /// What the files directory may hold in all.
    pub max_total_bytes: Option<u64>,
    /// The files directory; `None`: `DB.files` beside the database.
    pub dir: Option<PathBuf>,
}

/// What a files pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FilesSummary {
    /// File: pages whose versions were read.
    pub pages: u64,
    /// Versions new to the store.
    pub versions: u64,
    /// Versions downloaded, checked and kept.
    pub downloaded: u64,
    /// Bytes downloaded and kept.
    pub bytes: u64,
    /// Versions whose content was kept already (another version, page or wiki).
    pub reused: u64,
    /// Downloads whose bytes were not what the wiki states (quarantined).
    pub bad: u64,
    /// Versions that could not be downloaded this time (see the log).
    pub failed: u64,
}

/// Tries per version and pass; a version is left for later passes after
/// [`MAX_ATTEMPTS`] failures in all, and quarantined after [`MAX_BAD`]
/// downloads that did not match.
const TRIES: u32 = 3;
pub const MAX_ATTEMPTS: u32 = 9;
pub const MAX_BAD: u32 = 3;

/// A page's versions as the store records them: each in the state its
/// description puts it in. Pure.
pub fn versions(info: &FileInfo, opts: &FilesOptions) -> Vec<FileVersion> {
    let foreign = !info.repository.is_empty() && info.repository != "local";
    info.versions
        .iter()
        .filter(|v| !v.timestamp.is_empty())
        .map(|v| {
            let hidden = v.hidden || !checkpoints::blobs::is_sha1(&v.sha1);
            let state = if hidden {
                FileState::Hidden
            } else if foreign && !opts.copy_foreign {
                FileState::Foreign
            } else if v.size > opts.max_file_bytes {
                FileState::TooLarge
            } else {
                FileState::Pending
            };
            FileVersion {
                timestamp: v.timestamp.clone(),
                sha1: if hidden { String::new() } else { v.sha1.clone() },
                size: v.size,
                mime: v.mime.clone(),
                user: v.user.clone(),
                comment: v.comment.clone(),
                url: v.url.clone(),
                state,
            }
        })
        .collect()
}

/// The files directory of a store: `dir` (`[files] dir`), else beside the database.
pub fn blobs(store: &Store, dir: Option<&std::path::Path>) -> anyhow::Result<Blobs> {
    match (dir, store.path()) {
        (Some(dir), _) => Ok(Blobs::new(dir)),
        (None, Some(db)) => Ok(Blobs::beside(db)),
        (None, None) => anyhow::bail!("files need a place: this store has no file beside which to keep them; set [files] dir"),
    }
}

/// File: pages read at a time (500: what a bot may ask in one request);
/// the first request asks fewer, so that the downloads start early.
const GAPS: usize = 500;
const FIRST_GAPS: usize = 50;
/// Versions to download asked of the store at a time.
const PENDING: usize = 100;

/// Reads the versions of the File: pages that changed, and downloads every
/// version not stored yet: the downloads of one batch of pages go while
/// the next batch is read (the API and the files are asked side by side).
#[tracing::instrument(name = "files", skip_all, fields(wiki = %name))]
pub async fn fill(store: &Arc<Mutex<Store>>, wiki: &Wiki, name: &str, opts: &FilesOptions, downloads: &Downloads) -> anyhow::Result<FilesSummary> {
    let blobs = blobs(&lock(store), opts.dir.as_deref())?;
    // Each batch of pages recorded is a signal to the downloads to look again.
    let (read_more, mut more_read) = tokio::sync::mpsc::channel::<()>(2);
    let reading = read_versions(store, wiki, name, opts, read_more);
    let fetching = async {
        let mut summary = FilesSummary::default();
        // Versions whose content another version brought meanwhile are kept already.
        summary.reused += crate::util::blocking(|| lock(store).adopt_stored_contents(name, chrono::Utc::now().timestamp()))?;
        let mut used = if opts.max_total_bytes.is_some() { lock(store).files_bytes()? } else { 0 };
        let mut from = (0u64, String::new());
        loop {
            download_pending(store, wiki, name, opts, downloads, &blobs, &mut from, &mut used, &mut summary).await?;
            if more_read.recv().await.is_none() {
                // The reading is done (or failed): what it recorded last is fetched.
                download_pending(store, wiki, name, opts, downloads, &blobs, &mut from, &mut used, &mut summary).await?;
                return anyhow::Ok(summary);
            }
        }
    };
    let (read, fetched) = tokio::join!(reading, fetching);
    let (pages, versions) = read?;
    let summary = FilesSummary { pages, versions, ..fetched? };
    if summary.versions > 0 || summary.downloaded > 0 || summary.bad > 0 || summary.failed > 0 {
        tracing::info!(
            pages = summary.pages,
            versions = summary.versions,
            downloaded = summary.downloaded,
            bytes = summary.bytes,
            bad = summary.bad,
            failed = summary.failed,
            "files read"
        );
    }
    Ok(summary)
}

const MIB: u64 = 1024 * 1024;

/// Reads the versions of the File: pages whose revision moved, as many
/// pages a request as the account may ask (50, or 500 for a bot), each
/// batch recorded in one transaction with the pages' points,
/// then told on `read_more`. Returns the pages read and the versions new.
async fn read_versions(
    store: &Arc<Mutex<Store>>,
    wiki: &Wiki,
    name: &str,
    opts: &FilesOptions,
    read_more: tokio::sync::mpsc::Sender<()>,
) -> anyhow::Result<(u64, u64)> {
    let (mut pages, mut added) = (0, 0);
    let mut after = 0;
    loop {
        // As many as a bot may ask at once; `file_info` asks fewer a request
        // for an account that may not (and nothing at all when none changed).
        let gaps = lock(store).file_gaps(name, after, if after == 0 { FIRST_GAPS } else { GAPS })?;
        let Some(last) = gaps.last() else { break };
        after = last.pageid;
        let ids: Vec<u64> = gaps.iter().map(|g| g.pageid).collect();
        let infos = wiki.file_info(&ids, opts.all_versions).await.context("reading files' versions")?;
        // A page the answer did not name keeps its point: it is read another time.
        let read: Vec<(u64, u64, Vec<FileVersion>)> =
            gaps.iter().filter_map(|gap| infos.iter().find(|i| i.pageid == gap.pageid).map(|i| (gap.pageid, gap.rev_id, versions(i, opts)))).collect();
        pages += read.len() as u64;
        let (store, name) = (store.clone(), name.to_string());
        added += tokio::task::spawn_blocking(move || lock(&store).set_files_read(&name, &read)).await.context("recording files' versions panicked")??;
        // The downloads may be busy: a batch told while they are is seen with the next.
        let _ = read_more.try_send(());
    }
    Ok((pages, added))
}

/// Downloads the versions pending after `from`, as many at once as a
/// host takes, the next ones listed while the last of the listed still
/// go (no wait for a batch's slowest); `from` and `used` (the files
/// directory's bytes, with a budget) move on. What is kept is flushed
/// and recorded a batch at a time, beside the downloads that follow.
#[allow(clippy::too_many_arguments)]
async fn download_pending(
    store: &Arc<Mutex<Store>>,
    wiki: &Wiki,
    name: &str,
    opts: &FilesOptions,
    downloads: &Downloads,
    blobs: &Blobs,
    from: &mut (u64, String),
    used: &mut u64,
    summary: &mut FilesSummary,
) -> anyhow::Result<()> {
    let mut queue = std::collections::VecDeque::new();
    let mut listed_all = false;
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut kept = Vec::new();
    let mut recording = Recording::default();
    let done = loop {
        if queue.len() < downloads.per_host() && !listed_all {
            match list_pending(store, name, opts, blobs, from, used) {
                Ok(more) => {
                    listed_all = more.len() < PENDING;
                    queue.extend(more);
                }
                Err(e) => break Err(e),
            }
        }
        while running.len() < downloads.per_host() {
            let Some(file) = queue.pop_front() else { break };
            running.push(fetch(store, wiki, name, blobs, downloads, file));
        }
        let Some(one) = futures_util::StreamExt::next(&mut running).await else { break Ok(()) };
        let (one, file) = match one {
            Ok(one) => one,
            Err(e) => break Err(e),
        };
        kept.extend(file);
        summary.downloaded += one.downloaded;
        summary.bytes += one.bytes;
        summary.reused += one.reused;
        summary.bad += one.bad;
        summary.failed += one.failed;
        if kept.len() >= PENDING
            && let Err(e) = recording.start(store, name, blobs, std::mem::take(&mut kept)).await
        {
            break Err(e);
        }
    };
    // What was kept is recorded, whatever stopped the downloads.
    let last = recording.start(store, name, blobs, kept).await;
    let recorded = recording.finish().await;
    done.and(last).and(recorded)
}

/// The next versions pending after `from`, checked against the budget
/// before any of them is downloaded.
fn list_pending(
    store: &Arc<Mutex<Store>>,
    name: &str,
    opts: &FilesOptions,
    blobs: &Blobs,
    from: &mut (u64, String),
    used: &mut u64,
) -> anyhow::Result<Vec<StoredFile>> {
    let pending = lock(store).pending_files(name, (from.0, &from.1), MAX_ATTEMPTS, PENDING)?;
    let Some(last) = pending.last() else { return Ok(pending) };
    *from = (last.pageid, last.version.timestamp.clone());
    for file in &pending {
        let v = &file.version;
        if let Some(max) = opts.max_total_bytes
            && !blobs.has(&v.sha1, v.size)
        {
            if *used + v.size > max {
                anyhow::bail!(
                    "the files directory {} holds {} MiB and [{name}]'s [[{}]] needs {} MiB more, over [files] max_total_mb = {}: raise it, or \
                     set files = false for wikis whose files are not wanted (what is stored stays; the rest is fetched next time)",
                    blobs.root().display(),
                    *used / MIB,
                    file.title,
                    v.size.div_ceil(MIB),
                    max / MIB
                );
            }
            *used += v.size;
        }
    }
    Ok(pending)
}

/// The flush and record of kept versions, one batch at a time, on a
/// blocking thread while the downloads go on: a content kept but not yet
/// recorded (a crash in between) is found in the files directory next
/// time, not fetched again.
#[derive(Default)]
struct Recording {
    running: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Recording {
    /// Waits for the batch before (batches are recorded in order), then
    /// starts flushing and recording `kept`.
    async fn start(&mut self, store: &Arc<Mutex<Store>>, name: &str, blobs: &Blobs, kept: Vec<StoredFile>) -> anyhow::Result<()> {
        self.finish().await?;
        if kept.is_empty() {
            return Ok(());
        }
        let (store, name, blobs) = (store.clone(), name.to_string(), blobs.clone());
        self.running = Some(tokio::task::spawn_blocking(move || {
            blobs.sync().with_context(|| format!("flushing {}", blobs.root().display()))?;
            let keys: Vec<FileKey> = kept.iter().map(StoredFile::key).collect();
            Ok(lock(&store).files_stored(&name, &keys, chrono::Utc::now().timestamp())?)
        }));
        Ok(())
    }

    async fn finish(&mut self) -> anyhow::Result<()> {
        match self.running.take() {
            Some(task) => task.await.context("recording kept files panicked")?,
            None => Ok(()),
        }
    }
}

/// One version: kept already, or downloaded (tried again a few times).
/// Returns what it did, as a summary's counts, and the version if its
/// bytes are kept (to be recorded with the others of its batch).
async fn fetch(
    store: &Arc<Mutex<Store>>,
    wiki: &Wiki,
    name: &str,
    blobs: &Blobs,
    downloads: &Downloads,
    file: StoredFile,
) -> anyhow::Result<(FilesSummary, Option<StoredFile>)> {
    let v = &file.version;
    let mut did = FilesSummary::default();
    let record = |f: &dyn Fn(&mut Store) -> checkpoints::Result<FileState>| -> anyhow::Result<FileState> { Ok(crate::util::blocking(|| f(&mut lock(store)))?) };
    if blobs.has(&v.sha1, v.size) {
        did.reused = 1;
        return Ok((did, Some(file)));
    }
    for _ in 0..TRIES {
        let (error, bad) = match download::download(wiki, blobs, downloads, v).await {
            Outcome::Kept => {
                (did.downloaded, did.bytes) = (1, v.size);
                return Ok((did, Some(file)));
            }
            Outcome::Bad(why) => (why, true),
            Outcome::Failed { why, again } => {
                if !again {
                    record(&|s| s.file_failed(name, file.key(), &why, false, MAX_BAD))?;
                    did.failed = 1;
                    tracing::warn!(title = %file.title, timestamp = %v.timestamp, "downloading a file failed: {why}");
                    return Ok((did, None));
                }
                (why, false)
            }
        };
        did.bad += bad as u64;
        tracing::warn!(title = %file.title, timestamp = %v.timestamp, bad, "downloading a file failed: {error}");
        if record(&|s| s.file_failed(name, file.key(), &error, bad, MAX_BAD))? == FileState::Quarantined {
            break;
        }
    }
    did.failed = 1;
    Ok((did, None))
}

#[cfg(test)]
mod tests;
