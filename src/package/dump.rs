//! A MediaWiki XML dump imported as a mirror's pages: what Special:Export,
//! `dumpBackup.php` and Wikimedia's dumps write (export schema 0.10 and
//! 0.11, earlier ones read too), plain or compressed — gzip, bzip2
//! (multistream included) or zstd, told by the file's first bytes.
//! Streamed with bounded memory (a page of many revisions is read in
//! parts); each batch committed on its own, so a run killed anywhere keeps
//! what it applied, and the next run applies the rest (revisions already
//! stored are not stored twice). Each revision's SHA-1, where the dump
//! gives it, is checked: a mismatch is counted and reported. The pages go
//! into the same pages-by-id store as a mirror's, and the wiki's API feed
//! is set to go on from the dump's newest revision.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, bail};
use checkpoints::{FeedState, Store};

use super::{BATCH_BYTES, BATCH_REVISIONS, MAX_PAGE, xml};
use crate::mirror::plan::{self, Incoming};

/// Pages planned and committed together: a dump's pages are new to the
/// store mostly, and a commit costs a flush to the disk.
const BATCH: usize = 500;

/// What an import of a dump did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct DumpImported {
    pub wiki: String,
    /// How the file was compressed: `none`, `gzip`, `bzip2` or `zstd`.
    pub compression: &'static str,
    pub pages: u64,
    pub revisions: u64,
    /// Revisions whose text's SHA-1 is not the one the dump states (stored all the same, as the dump has them).
    pub bad_sha1: u64,
    /// The newest revision's time: where `mirror` goes on from.
    pub newest: Option<String>,
    #[serde(flatten)]
    pub counts: plan::Counts,
}

/// The compression of a file, from its first bytes.
pub fn compression(head: &[u8]) -> &'static str {
    match head {
        [0x1f, 0x8b, ..] => "gzip",
        [b'B', b'Z', b'h', ..] => "bzip2",
        [0x28, 0xb5, 0x2f, 0xfd, ..] => "zstd",
        [b'7', b'z', 0xbc, 0xaf, ..] => "7z",
        _ => "none",
    }
}

/// Whether `path` looks like an XML dump (compressed or not) rather than
/// one of this program's packages (a tar file).
pub fn is_dump(path: &Path) -> anyhow::Result<bool> {
    let mut head = [0u8; 262];
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let n = read_up_to(&mut f, &mut head)?;
    let tar = n >= 262 && &head[257..262] == b"ustar";
    Ok(!tar)
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Imports the dump at `path` into wiki `wiki` of the store.
pub fn import_dump(store: &mut Store, path: &Path, wiki: &str) -> anyhow::Result<DumpImported> {
    let shown = path.display().to_string();
    let mut file = BufReader::new(File::open(path).with_context(|| format!("opening {shown}"))?);
    let kind = compression(file.fill_buf().with_context(|| format!("reading {shown}"))?);
    let input: Box<dyn Read> = match kind {
        "gzip" => Box::new(flate2::read::MultiGzDecoder::new(file)),
        "bzip2" => Box::new(bzip2::read::MultiBzDecoder::new(file)),
        "zstd" => Box::new(zstd::stream::read::Decoder::with_buffer(file).with_context(|| format!("reading {shown}"))?),
        "7z" => bail!("{shown} is a 7z archive, which this program does not read: unpack it (`7z x`) and import the XML, or take the .bz2 dump"),
        _ => Box::new(file),
    };
    let mut pages = xml::PageReader::new(BufReader::new(input), MAX_PAGE);
    let mut done = DumpImported { wiki: wiki.to_string(), compression: kind, ..Default::default() };
    let mut batch = Vec::with_capacity(BATCH);
    // Pages read whole whose every revision the dump holds (the first has
    // no parent, each next one's parent is the one before): their
    // histories are complete through their newest revision.
    let mut points = Vec::new();
    let mut continued = false;
    let (mut bytes, mut revisions) = (0usize, 0usize);
    let mut site_saved = false;
    loop {
        let next = pages.next_page().map_err(|e| anyhow::anyhow!("{shown}: {e}; what was applied before it is kept, nothing after"))?;
        let last = next.is_none();
        let part = pages.continues();
        if !site_saved && let Some(site) = pages.site() {
            store.save_wiki_site(wiki, site, chrono::Utc::now().timestamp())?;
            site_saved = true;
        }
        if let Some(p) = next {
            if let Some(why) = crate::mediawiki::title_problem(&p.title) {
                bail!("{shown}: page {} has {why}: {:?}; what was applied before it is kept, nothing after", p.pageid, p.title);
            }
            if p.pageid == 0 || p.revisions.iter().any(|r| r.revid == 0) || (p.revisions.is_empty() && !part) {
                bail!(
                    "{shown}: page [[{}]] comes without a page id, a revision, or a revision id: a mirror keeps pages and revisions by id, \
                     so this export cannot be imported (export it again with Special:Export or dumpBackup.php); what was applied before it is kept",
                    p.title
                );
            }
            if part && !batch.is_empty() {
                apply(store, wiki, std::mem::take(&mut batch), std::mem::take(&mut points), &mut done)?;
                (bytes, revisions) = (0, 0);
            }
            let chained = p.revisions.first().is_some_and(|r| r.parentid == 0) && p.revisions.windows(2).all(|w| w[1].parentid == w[0].revid);
            if !part
                && !continued
                && chained
                && let Some(newest) = p.revisions.last()
            {
                points.push((p.pageid, newest.timestamp.clone(), newest.revid));
            }
            done.pages += !part as u64;
            done.revisions += p.revisions.len() as u64;
            for r in &p.revisions {
                if let Some(stated) = r.sha1.as_deref().filter(|s| !s.is_empty())
                    && xml::base36_sha1(&crate::util::sha1_hex(&r.text)) != stated
                {
                    done.bad_sha1 += 1;
                    tracing::warn!(page = p.pageid, revision = r.revid, "the dump states another SHA-1 for this revision's text");
                }
                if done.newest.as_deref().is_none_or(|n| r.timestamp.as_str() > n) {
                    done.newest = Some(r.timestamp.clone());
                }
            }
            bytes += p.revisions.iter().map(|r| r.text.len() + r.comment.len()).sum::<usize>();
            revisions += p.revisions.len();
            batch.push(p.into_incoming());
        }
        continued = part;
        if batch.len() == BATCH || bytes >= BATCH_BYTES || revisions >= BATCH_REVISIONS || (last && !batch.is_empty()) {
            apply(store, wiki, std::mem::take(&mut batch), std::mem::take(&mut points), &mut done)?;
            (bytes, revisions) = (0, 0);
        }
        if last {
            break;
        }
    }
    if done.pages == 0 {
        bail!("{shown} holds no page: nothing was imported");
    }
    // The API feed goes on from the dump's newest revision, unless the
    // wiki is followed already (its feed is further on).
    if let Some(newest) = &done.newest
        && store.wiki_feed(wiki, "api")?.next_from.is_none()
    {
        let write = store.begin_wiki_write(wiki, chrono::Utc::now().timestamp())?;
        write.finish(Some(("api", &FeedState { next_from: Some(newest.clone()), token: None, run_start: None })))?;
    }
    Ok(done)
}

/// One batch, planned against the store and committed on its own with
/// the history points of its pages read whole.
fn apply(store: &mut Store, wiki: &str, batch: Vec<Incoming>, points: Vec<(u64, String, u64)>, done: &mut DumpImported) -> anyhow::Result<()> {
    let mut write = store.begin_wiki_write(wiki, chrono::Utc::now().timestamp())?;
    let (ids, titles) = plan::lookup_keys(&batch);
    let (rows, occupants) = write.lookup(&ids, &titles)?;
    let plan = plan::plan(&plan::known_from(rows), &occupants, batch);
    write.apply(&plan.ops)?;
    write.set_history_points(&points)?;
    write.finish(None)?;
    done.counts.add(&plan);
    Ok(())
}

#[cfg(test)]
mod tests;
