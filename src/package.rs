//! MediaWiki XML packages: a mirrored wiki's pages and revisions as one
//! file a person can carry, full or holding only what changed since an
//! earlier package, and applied to another store as a feed.
//!
//! A package is a tar file of four members, in this order:
//! `manifest.json` ([`manifest::Manifest`]), `manifest.sha256` (its
//! checksum), `pages.xml.gz` (MediaWiki export XML 0.11, gzip, which
//! `importDump.php` reads as it is) and `delete-first.txt` (the titles a wiki
//! importing with `importDump.php` deletes first: pages moved or deleted, one
//! per line, as `deleteBatch.php` reads them). Moved and undeleted pages carry
//! their whole history (with `--history`), so that a wiki that deleted their
//! old titles gets them back whole.
//!
//! Export reads one snapshot of the store a page at a time; the package is
//! written under temporary names and renamed into place once synced, so a
//! package is never seen half written. Import checks the whole file first
//! (checksums, sequence, stream), then applies every page in one
//! transaction, so a package is applied whole or not at all.

pub mod dump;
pub mod files;
pub mod manifest;
pub mod xml;

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use checkpoints::{ImportState, Store, WikiWrite};
use sha2::{Digest, Sha256};

use crate::mirror::plan::{self, Incoming};
use manifest::{Applied, FORMAT, Follows, Manifest, Moved, Part, Removed, Verdict};

const MANIFEST: &str = "manifest.json";
const MANIFEST_SUM: &str = "manifest.sha256";
const XML: &str = "pages.xml.gz";
const DELETE_FIRST: &str = "delete-first.txt";

/// A title's line of `delete-first.txt`, which `deleteBatch.php` reads a
/// title a line: a title that could add a line of its own (or that
/// MediaWiki would refuse anyway) is refused instead of written.
fn delete_line(title: &str) -> anyhow::Result<String> {
    match crate::mediawiki::title_problem(title) {
        Some(why) => bail!("the mirror holds a title with {why} ({title:?}): it cannot go into {DELETE_FIRST}"),
        None => Ok(format!("{title}\n")),
    }
}
/// A manifest is a few lines per moved or deleted page; more is not one.
const MAX_MANIFEST: u64 = 256 << 20;
/// The most one revision of XML (with its page's head) may take when
/// imported; a page of many revisions is read in parts.
pub const MAX_PAGE: usize = 64 << 20;

/// A batch of an import is applied once its text reaches this many bytes…
const BATCH_BYTES: usize = 16 << 20;
/// … or it holds this many revisions.
const BATCH_REVISIONS: usize = 20_000;
/// Pages planned together when a package is applied (as a pull's batch).
const BATCH: usize = 50;

/// Where an export starts.
#[derive(Clone, Debug)]
pub enum Since {
    /// Every live page: a package a store with nothing can start from.
    Full,
    /// After the last package this store exported of the wiki (full if none).
    Last,
    /// After this package (its manifest, read back).
    Package(Box<Manifest>),
    /// After the package of this sequence that reached this store sequence
    /// (the one the other site of a sync acknowledged).
    After(Follows),
}

pub struct ExportOptions {
    pub wiki: String,
    /// Whose sequence of packages this is (the wiki's name for `export`,
    /// `sync.NAME` for a sync by packages): each has its own stream.
    pub stream_key: String,
    /// The wiki's API, for `<siteinfo>` and the manifest.
    pub site: Option<String>,
    pub since: Since,
    pub history: bool,
    /// The sync by packages that writes it, and the other site's package
    /// last applied here.
    pub sync: Option<String>,
    pub ack: Option<manifest::Ack>,
    /// With the files of its File: pages, from this files directory (`--files`).
    pub files: Option<checkpoints::Blobs>,
}

/// What an export wrote.
pub struct Exported {
    pub manifest: Manifest,
    /// The XML's size before compression.
    pub xml_bytes: u64,
}

/// Writes a package of `opts.wiki` to `out`.
pub fn export(store: &mut Store, opts: &ExportOptions, out: &Path) -> anyhow::Result<Exported> {
    let wiki = opts.wiki.as_str();
    let previous = store.package_export_stream(&opts.stream_key)?;
    let stream = previous.as_ref().map_or_else(|| format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)), |p| p.stream.clone());
    let follows = match &opts.since {
        Since::Full => None,
        Since::Last => previous.as_ref().map(|p| Follows { sequence: p.last_sequence, end: p.last_end_seq }),
        Since::Package(m) => {
            if m.stream != stream {
                bail!("{} was not exported from wiki '{wiki}' of this store: --since takes a package this store wrote of the same wiki", manifest::describe(m));
            }
            Some(Follows { sequence: m.sequence, end: m.end })
        }
        Since::After(follows) => Some(*follows),
    };
    let sequence = previous.as_ref().map_or(1, |p| p.last_sequence + 1);
    let after = follows.map_or(0, |f| f.end);
    let dir = parent_of(out);
    let xml_tmp = TempFile::create(&dir)?;
    let mut counted = Counting::new(flate2::write::GzEncoder::new(Hashing::new(BufWriter::new(xml_tmp.file()?)), flate2::Compression::default()));
    let mut moves = Vec::new();
    let mut deletions = Vec::new();
    let mut undeletions = Vec::new();
    let mut delete_first = String::new();
    let (mut pages, mut revisions) = (0u64, 0u64);
    let site = store.wiki_site(wiki)?.unwrap_or_default();
    let mut files = opts.files.clone().map(|b| files::Collector::new(b, &dir)).transpose()?;
    counted.write_all(xml::header(&site, wiki).as_bytes()).context("writing the package")?;
    let end = store.in_snapshot(|s| -> anyhow::Result<i64> {
        let end = s.last_stored_seq()?;
        let mut page_xml = String::new();
        s.for_each_changed_page(wiki, after, |c| -> anyhow::Result<()> {
            let before = c.before.filter(|b| !b.title.contains('<'));
            let was_live = before.as_ref().is_some_and(|b| !b.deleted);
            if c.now.deleted {
                if let (true, Some(b)) = (was_live, &before) {
                    deletions.push(Removed { page: c.now.pageid, title: b.title.clone() });
                    delete_first.push_str(&delete_line(&b.title)?);
                }
                return Ok(());
            }
            if c.now.displaced || c.now.title.contains('<') {
                // Moved aside until its own update arrives: no title to write.
                tracing::warn!(wiki, page = c.now.pageid, "a page moved aside by the mirror is left out until its own update arrives");
                return Ok(());
            }
            let whole = match &before {
                None => true,
                Some(b) if b.deleted => {
                    undeletions.push(Removed { page: c.now.pageid, title: c.now.title.clone() });
                    true
                }
                Some(b) if (b.ns, &b.title) != (c.now.ns, &c.now.title) => {
                    moves.push(Moved { page: c.now.pageid, from: b.title.clone(), to: c.now.title.clone() });
                    delete_first.push_str(&delete_line(&b.title)?);
                    true
                }
                Some(_) => false,
            };
            let mut revs = if opts.history { s.wiki_revisions_stored_after(wiki, c.now.pageid, (!whole).then_some(after))? } else { Vec::new() };
            if revs.is_empty() {
                revs.extend(c.now.rev_id.map(|id| s.wiki_revision(wiki, id)).transpose()?.flatten());
            }
            page_xml.clear();
            xml::page_open(&mut page_xml, &c.now);
            xml::revisions(&mut page_xml, &c.now, &revs);
            if let Some(files) = &mut files {
                files.page(s, wiki, &c.now, &mut page_xml)?;
            }
            xml::page_close(&mut page_xml);
            counted.write_all(page_xml.as_bytes()).context("writing the package")?;
            pages += 1;
            revisions += revs.len() as u64;
            Ok(())
        })?;
        Ok(end)
    })?;
    counted.write_all(xml::FOOTER.as_bytes()).context("writing the package")?;
    let xml_bytes = counted.count;
    let hashing = counted.inner.finish().context("writing the package")?;
    let (buffered, xml_sum, xml_len) = hashing.finish();
    buffered.into_inner().map_err(|e| e.into_error()).and_then(|f| f.sync_all()).context("writing the package")?;
    let manifest = Manifest {
        format: FORMAT.into(),
        wiki: wiki.into(),
        site: opts.site.clone(),
        stream: stream.clone(),
        sequence,
        follows,
        end,
        history: opts.history,
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        pages,
        revisions,
        xml: Part { name: XML.into(), bytes: xml_len, sha256: xml_sum },
        delete_first: Part { name: DELETE_FIRST.into(), bytes: delete_first.len() as u64, sha256: sha256_hex(delete_first.as_bytes()) },
        moves,
        deletions,
        undeletions,
        sync: opts.sync.clone(),
        ack: opts.ack.clone(),
        files: files.as_mut().map(files::Collector::finish).transpose()?,
    };
    let manifest_json = serde_json::to_vec_pretty(&manifest).expect("a manifest serialises");
    let tar_tmp = TempFile::create(&dir)?;
    {
        let mut tar = tar::Builder::new(BufWriter::new(tar_tmp.file()?));
        let mtime = chrono::Utc::now().timestamp().max(0) as u64;
        let mut add = |name: &str, len: u64, data: &mut dyn Read| -> std::io::Result<()> {
            let mut h = tar::Header::new_ustar();
            h.set_size(len);
            h.set_mode(0o644);
            h.set_mtime(mtime);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            tar.append_data(&mut h, name, data)
        };
        let mut write = || -> std::io::Result<()> {
            add(MANIFEST, manifest_json.len() as u64, &mut manifest_json.as_slice())?;
            let sum = format!("{}  {MANIFEST}\n", sha256_hex(&manifest_json));
            add(MANIFEST_SUM, sum.len() as u64, &mut sum.as_bytes())?;
            add(XML, xml_len, &mut File::open(&xml_tmp.path)?)?;
            add(DELETE_FIRST, delete_first.len() as u64, &mut delete_first.as_bytes())
        };
        write().context("writing the package")?;
        if let Some(files) = &files {
            files.append(&mut add)?;
        }
        let file = tar.into_inner().context("writing the package")?.into_inner().map_err(|e| e.into_error()).context("writing the package")?;
        file.sync_all().context("writing the package")?;
    }
    tar_tmp.rename_to(out)?;
    drop(xml_tmp);
    store.record_package_export(&opts.stream_key, &stream, sequence, end)?;
    Ok(Exported { manifest, xml_bytes })
}

/// Reads a package's manifest and checks every member against it: the
/// manifest's own checksum, then the XML's and the list's length and
/// SHA-256. Reads the whole file; changes nothing.
pub fn verify(path: &Path) -> anyhow::Result<Manifest> {
    read(path, true)
}

/// Reads a package's manifest, checked against its own checksum only: to
/// sort and pick packages before one is verified whole.
pub fn peek(path: &Path) -> anyhow::Result<Manifest> {
    read(path, false)
}

/// What a file that is no package is, from its first bytes, when it is
/// something a person may take for one: MediaWiki XML, plain or gzipped
/// or bzip2ed (an export, a dump). Leaves the file at its start.
fn not_a_package(file: &mut File) -> std::io::Result<Option<&'static str>> {
    use std::io::{Seek, SeekFrom};
    let mut head = [0u8; 512];
    let mut got = 0;
    while got < head.len() {
        match file.read(&mut head[got..])? {
            0 => break,
            n => got += n,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    let head = &head[..got];
    let text = String::from_utf8_lossy(head);
    let start = text.trim_start_matches('\u{feff}').trim_start();
    Ok(if start.starts_with("<mediawiki") || (start.starts_with("<?xml") && text.contains("<mediawiki")) {
        Some("MediaWiki XML")
    } else if start.starts_with('<') {
        Some("an XML file")
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Some("a gzip file (perhaps a MediaWiki XML dump)")
    } else if head.starts_with(b"BZh") {
        Some("a bzip2 file (perhaps a MediaWiki XML dump)")
    } else {
        None
    })
}

fn read(path: &Path, whole: bool) -> anyhow::Result<Manifest> {
    let shown = path.display();
    if path.is_dir() {
        bail!("{shown} is a directory, not a package (a .tar file written by `oai-mirror export` or a sync by packages)");
    }
    let mut file = File::open(path).with_context(|| format!("opening the package {shown}"))?;
    if let Some(kind) = not_a_package(&mut file).with_context(|| format!("reading the package {shown}"))? {
        bail!(
            "{shown} is {kind}, not a package of oai-mirror (a tar file written by `oai-mirror export` or a sync by packages): \
             import MediaWiki XML into a wiki with its importDump.php"
        );
    }
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut entries = archive.entries().with_context(|| format!("{shown} is not a package (a tar file)"))?;
    let mut next = |name: &str| -> anyhow::Result<tar::Entry<'_, BufReader<File>>> {
        let entry = entries
            .next()
            .ok_or_else(|| anyhow::anyhow!("{shown} is truncated or not a package: it ends before its {name} (copy it again from where it was written)"))?
            .with_context(|| format!("{shown} is damaged or truncated before its {name}"))?;
        let found = entry.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        if found != name {
            bail!("{shown} is not a package of oai-mirror: it holds {found:?} where {name} belongs");
        }
        Ok(entry)
    };
    let mut manifest_json = Vec::new();
    let entry = next(MANIFEST)?;
    if entry.header().size().unwrap_or(u64::MAX) > MAX_MANIFEST {
        bail!("{shown}: its manifest is larger than {} MiB; not a package of oai-mirror", MAX_MANIFEST >> 20);
    }
    entry.take(MAX_MANIFEST).read_to_end(&mut manifest_json).with_context(|| format!("{shown} is truncated inside its manifest"))?;
    let mut sum = String::new();
    next(MANIFEST_SUM)?.take(1024).read_to_string(&mut sum).with_context(|| format!("{shown} is damaged in its {MANIFEST_SUM}"))?;
    if sum.split_whitespace().next() != Some(sha256_hex(&manifest_json).as_str()) {
        bail!("{shown} is corrupt: its manifest does not match its checksum (copy it again from where it was written)");
    }
    let manifest: Manifest = serde_json::from_slice(&manifest_json).with_context(|| format!("{shown}: its manifest cannot be read"))?;
    if manifest.format != FORMAT {
        bail!("{shown} is in format {:?}; this oai-mirror reads {FORMAT:?} (a newer oai-mirror wrote it?)", manifest.format);
    }
    if !whole {
        return Ok(manifest);
    }
    for part in [&manifest.xml, &manifest.delete_first] {
        let (sum, len) = hash_all(next(&part.name)?).with_context(|| format!("{shown} is truncated or damaged inside its {}", part.name))?;
        if len != part.bytes || sum != part.sha256 {
            bail!(
                "{shown} is corrupt or truncated: its {} has {len} bytes with SHA-256 {}…, the manifest says {} bytes with {}… (copy it again from where it was written)",
                part.name,
                &sum[..12],
                part.bytes,
                part.sha256.get(..12).unwrap_or(&part.sha256)
            );
        }
    }
    if let Some(f) = &manifest.files {
        files::verify(&mut entries, f).with_context(|| format!("{shown}: its files"))?;
    }
    Ok(manifest)
}

/// What an import did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Imported {
    pub wiki: String,
    pub sequence: u64,
    /// Nothing was done: the store had it all already.
    pub already_applied: bool,
    pub pages: u64,
    pub revisions: u64,
    /// File versions stored from it.
    pub files: u64,
    #[serde(flatten)]
    pub counts: plan::Counts,
}

/// Verifies the package at `path`, then applies it to wiki `local` of the
/// store in one transaction: its pages by id (moves planned as a mirror
/// plans them), its deletions, and for a full package the deletion of
/// every page it does not hold.
pub fn import(store: &mut Store, path: &Path, local: &str, files_dir: Option<&checkpoints::Blobs>) -> anyhow::Result<Imported> {
    let manifest = verify(path)?;
    // The manifest's titles are checked as the pages' are: a title MediaWiki
    // forbids is never stored, nor written again into a package.
    let titles = manifest.moves.iter().flat_map(|m| [&m.from, &m.to]).chain(manifest.deletions.iter().chain(&manifest.undeletions).map(|d| &d.title));
    for title in titles {
        if let Some(why) = crate::mediawiki::title_problem(title) {
            bail!("{}: its manifest names a title with {why}: {title:?}; the package is refused, nothing applied", path.display());
        }
    }
    let mut done = Imported { wiki: local.to_string(), sequence: manifest.sequence, ..Imported::default() };
    let holds_pages = store.has_wiki(local)?;
    let mut write = store.begin_wiki_write(local, chrono::Utc::now().timestamp())?;
    // Decided under the write lock: a second import of the same package
    // waits for the first and then finds it applied.
    let applied = write.package_import_state()?.map(|s| Applied { stream: s.stream, origin: s.origin, sequence: s.sequence, end: s.end_seq });
    let shown = path.display();
    match manifest::admit(&manifest, local, applied.as_ref(), holds_pages).map_err(|e| anyhow::anyhow!("{shown}: {e}"))? {
        // Its range was applied: then so was what it holds. A package that
        // holds what the store lacks shows that one applied before claimed
        // more than it held (damaged or forged): a full package mends the
        // stream, a follow-up one is refused.
        Verdict::AlreadyApplied => match missing_from(&write, path)? {
            0 => {
                done.already_applied = true;
                return Ok(done);
            }
            missing if manifest.follows.is_none() => {
                tracing::warn!(package = %shown, missing, "a full package of a stream whose range was applied already holds what the store lacks: applied, to mend the stream");
            }
            missing => bail!(
                "{shown}: {} is within the range wiki '{local}' here has applied, yet it holds {missing} revisions the store lacks: \
                 a package applied before claimed more than it held (damaged or forged). Nothing applied; \
                 import a full package of the wiki (`oai-mirror export {} --full` where it was written) to mend the stream",
                manifest::describe(&manifest),
                manifest.wiki
            ),
        },
        Verdict::Apply => {}
    }
    let mut archive = open_archive(path)?;
    let hashing = HashingReader { inner: xml_member(&mut archive, path)?, hasher: Sha256::new() };
    let mut pages = xml::PageReader::new(BufReader::new(flate2::read::GzDecoder::new(hashing)), MAX_PAGE);
    // A follow-up package's deletions come first, in the manifest's order:
    // at the origin they were made before the pages' newest state, which
    // may put another page on a deleted one's title.
    if manifest.follows.is_some() {
        for chunk in manifest.deletions.chunks(BATCH) {
            apply(&mut write, chunk.iter().map(|d| Incoming::Deleted { pageid: d.page }).collect(), &mut done)?;
        }
    }
    let mut seen = HashSet::new();
    let mut batch = Vec::with_capacity(BATCH);
    // A batch is applied once it holds BATCH pages, BATCH_BYTES of text or
    // BATCH_REVISIONS revisions: memory follows what is parsed, whatever
    // the pages hold. A page read in parts is applied part by part.
    let (mut bytes, mut revisions) = (0usize, 0usize);
    loop {
        let next = pages.next_page().map_err(|e| anyhow::anyhow!("{shown}: {XML}: {e}"))?;
        let last = next.is_none();
        let part = pages.continues();
        if let Some(p) = next {
            if let Some(why) = crate::mediawiki::title_problem(&p.title) {
                bail!("{shown}: page {} has {why}: {:?}; the package is refused, nothing applied", p.pageid, p.title);
            }
            if part && !batch.is_empty() {
                apply(&mut write, std::mem::take(&mut batch), &mut done)?;
                (bytes, revisions) = (0, 0);
            }
            seen.insert(p.pageid);
            done.pages += !part as u64;
            done.revisions += p.revisions.len() as u64;
            bytes += p.revisions.iter().map(|r| r.text.len() + r.comment.len()).sum::<usize>();
            revisions += p.revisions.len();
            batch.push(p.into_incoming());
        }
        if batch.len() == BATCH || bytes >= BATCH_BYTES || revisions >= BATCH_REVISIONS || (last && !batch.is_empty()) {
            apply(&mut write, std::mem::take(&mut batch), &mut done)?;
            (bytes, revisions) = (0, 0);
        }
        if last {
            break;
        }
    }
    if (done.pages, done.revisions) != (manifest.pages, manifest.revisions) {
        bail!(
            "{shown}: its manifest says {} pages and {} revisions, its XML holds {} and {}: a damaged or forged package; nothing applied",
            manifest.pages,
            manifest.revisions,
            done.pages,
            done.revisions
        );
    }
    // A full package deletes every page it does not hold, known once read.
    let removed: Vec<u64> = match manifest.follows {
        None => write.live_page_ids()?.into_iter().filter(|id| !seen.contains(id)).collect(),
        Some(_) => Vec::new(),
    };
    for ids in removed.chunks(BATCH) {
        apply(&mut write, ids.iter().map(|&pageid| Incoming::Deleted { pageid }).collect(), &mut done)?;
    }
    // The bytes applied are the bytes verified, even if the file was
    // replaced in between.
    if let Some(site) = pages.site() {
        write.save_site(site, chrono::Utc::now().timestamp())?;
    }
    let mut rest = pages.into_inner().into_inner().into_inner();
    std::io::copy(&mut rest, &mut std::io::sink()).with_context(|| format!("reading {shown}"))?;
    if sha256_hex_of(rest.hasher) != manifest.xml.sha256 {
        bail!("{shown} changed while it was applied; nothing was applied (import it again)");
    }
    if let Some(part) = &manifest.files {
        let blobs = files_dir.with_context(|| format!("{shown} holds files, and this store has no files directory: set [files] dir"))?;
        done.files = files::apply(&mut write, &mut open_archive(path)?, part, blobs).with_context(|| format!("{shown}: its files"))?;
    }
    let state = ImportState {
        stream: manifest.stream.clone(),
        origin: manifest.wiki.clone(),
        sequence: manifest.sequence,
        end_seq: manifest.end,
        acked: manifest.ack.as_ref().map(|a| (a.sequence, a.end)),
    };
    write.record_package_import(&state, chrono::Utc::now().timestamp())?;
    write.finish(None)?;
    Ok(done)
}

/// How many of a package's revisions the store lacks. (Revisions are
/// never removed, so an applied package's are all there, whatever came
/// after it; a page's deletion may have been undone since.)
fn missing_from(write: &WikiWrite<'_>, path: &Path) -> anyhow::Result<u64> {
    let shown = path.display();
    let mut missing = 0u64;
    let mut archive = open_archive(path)?;
    let mut pages = xml::PageReader::new(BufReader::new(flate2::read::GzDecoder::new(xml_member(&mut archive, path)?)), MAX_PAGE);
    while let Some(page) = pages.next_page().map_err(|e| anyhow::anyhow!("{shown}: {XML}: {e}"))? {
        for r in &page.revisions {
            missing += write.revision_page(r.revid)?.is_none() as u64;
        }
    }
    Ok(missing)
}

type Archive = tar::Archive<BufReader<File>>;

fn open_archive(path: &Path) -> anyhow::Result<Archive> {
    let file = File::open(path).with_context(|| format!("opening the package {}", path.display()))?;
    Ok(tar::Archive::new(BufReader::new(file)))
}

/// The package's XML member, read from the start of the file (verified
/// whole before; gone means the file was replaced meanwhile).
fn xml_member<'a>(archive: &'a mut Archive, path: &Path) -> anyhow::Result<tar::Entry<'a, BufReader<File>>> {
    archive
        .entries()?
        .filter_map(Result::ok)
        .find(|e| e.path().is_ok_and(|p| p == Path::new(XML)))
        .ok_or_else(|| anyhow::anyhow!("{} changed while it was read: its {XML} is gone", path.display()))
}

fn apply(write: &mut WikiWrite<'_>, batch: Vec<Incoming>, done: &mut Imported) -> anyhow::Result<()> {
    let (ids, titles) = plan::lookup_keys(&batch);
    let (rows, occupants) = write.lookup(&ids, &titles)?;
    let plan = plan::plan(&plan::known_from(rows), &occupants, batch);
    write.apply(&plan.ops)?;
    done.counts.add(&plan);
    Ok(())
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha256_hex_of(Sha256::new_with_prefix(bytes))
}

fn sha256_hex_of(hasher: Sha256) -> String {
    crate::util::hex(&hasher.finalize())
}

fn hash_all(r: impl Read) -> std::io::Result<(String, u64)> {
    digest_all::<Sha256>(r)
}

/// The digest `D` (in hex) and length of everything `r` reads.
fn digest_all<D: Digest>(r: impl Read) -> std::io::Result<(String, u64)> {
    let mut reader = HashingReader { inner: r, hasher: D::new() };
    let len = std::io::copy(&mut reader, &mut std::io::sink())?;
    Ok((crate::util::hex(&reader.hasher.finalize()), len))
}

/// A file being written under a hidden temporary name beside its final
/// one: created anew (`O_EXCL`, never an entry already there), removed if
/// dropped before [`rename_to`](TempFile::rename_to).
struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl TempFile {
    fn create(dir: &Path) -> anyhow::Result<TempFile> {
        let path = dir.join(crate::util::temp_name(fastrand::u64(..)));
        std::fs::OpenOptions::new().write(true).create_new(true).open(&path).with_context(|| format!("creating a file in {}", dir.display()))?;
        Ok(TempFile { path, kept: false })
    }

    fn file(&self) -> anyhow::Result<File> {
        std::fs::OpenOptions::new().write(true).open(&self.path).with_context(|| format!("writing {}", self.path.display()))
    }

    fn rename_to(mut self, to: &Path) -> anyhow::Result<()> {
        std::fs::rename(&self.path, to).with_context(|| format!("moving the package into place at {}", to.display()))?;
        self.kept = true;
        File::open(parent_of(to)).and_then(|d| d.sync_all()).with_context(|| format!("syncing the directory of {}", to.display()))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Counts the bytes written through it.
struct Counting<W> {
    inner: W,
    count: u64,
}

impl<W> Counting<W> {
    fn new(inner: W) -> Counting<W> {
        Counting { inner, count: 0 }
    }
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes (SHA-256) and counts the bytes written through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing { inner, hasher: Sha256::new(), count: 0 }
    }
    fn finish(self) -> (W, String, u64) {
        (self.inner, sha256_hex_of(self.hasher), self.count)
    }
    /// The SHA-256 and count so far.
    fn peek(&self) -> (String, u64) {
        (sha256_hex_of(self.hasher.clone()), self.count)
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes the bytes read through it (SHA-256 unless told otherwise).
struct HashingReader<R, D = Sha256> {
    inner: R,
    hasher: D,
}

impl<R: Read, D: Digest> Read for HashingReader<R, D> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}
