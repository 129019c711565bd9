//! Files in packages (`export --files`).
//!
//! A File: page in the XML carries its stored file versions as `<upload>`
//! elements, oldest first, the old ones with their `<archivename>` as
//! MediaWiki's own dumps write them; each names its content by `<rel>`,
//! `sha1/ab/ab12…`, a member `files/sha1/ab/ab12…` of the package (one per
//! content). So a wiki takes every version, with its uploader, time and
//! comment, from the unpacked package:
//!
//! ```text
//! tar -xf PACKAGE.tar && php maintenance/importDump.php --uploads --image-base-path files pages.xml.gz
//! ```
//!
//! `importImages.php` was the other way MediaWiki offers; it takes one
//! version per name, by the account running it, and would lose the older
//! versions and their authors. `files.jsonl` lists the versions again, a
//! line each, for `oai-mirror import` (which reads no `<upload>`), and each
//! content's member name is its SHA-1, checked when the package is verified.

use std::collections::BTreeMap;

use anyhow::Context;
use checkpoints::StoredFile;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::manifest::{FilesPart, Part};

/// The list of versions in a package.
pub const LIST: &str = "files.jsonl";
/// Where contents are in a package, and under `--image-base-path`.
pub const DIR: &str = "files/";

/// One version, a line of `files.jsonl`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub page: u64,
    pub timestamp: String,
    pub sha1: String,
    pub size: u64,
    pub mime: String,
    pub user: String,
    pub comment: String,
}

impl Line {
    pub fn of(f: &StoredFile) -> Line {
        let v = &f.version;
        Line {
            page: f.pageid,
            timestamp: v.timestamp.clone(),
            sha1: v.sha1.clone(),
            size: v.size,
            mime: v.mime.clone(),
            user: v.user.clone(),
            comment: v.comment.clone(),
        }
    }
}

/// A content's place under `files/` (its `<rel>`).
pub fn rel(sha1: &str) -> String {
    format!("sha1/{}/{sha1}", &sha1[..2.min(sha1.len())])
}

/// The SHA-1 a member name `files/sha1/ab/ab12…` promises, if it is one.
pub fn member_sha1(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(DIR)?.strip_prefix("sha1/")?;
    let (dir, sha1) = rest.split_once('/')?;
    (checkpoints::blobs::is_sha1(sha1) && dir == &sha1[..2]).then_some(sha1)
}

/// A time as an archive name starts: `YYYYMMDDHHMMSS`.
fn compact(timestamp: &str) -> String {
    timestamp.chars().filter(char::is_ascii_digit).collect()
}

/// The `<upload>` elements of a File: page titled `title` for its stored
/// versions (`versions` newest first, as the store lists them), oldest
/// first, appended to `out`; the contents they need go into `contents`
/// (SHA-1 → size). Pure.
pub fn uploads(out: &mut String, title: &str, versions: &[StoredFile], contents: &mut BTreeMap<String, u64>) {
    let name = title.split_once(':').map_or(title, |(_, n)| n).replace(' ', "_");
    let stored: Vec<&StoredFile> = versions.iter().filter(|f| f.version.state == checkpoints::FileState::Stored).collect();
    let text = |s: &str| crate::util::xml_escape(s).into_owned();
    for (i, f) in stored.iter().enumerate().rev() {
        let v = &f.version;
        out.push_str(&format!("    <upload>\n      <timestamp>{}</timestamp>\n", text(&v.timestamp)));
        if v.user.is_empty() {
            out.push_str("      <contributor deleted=\"deleted\" />\n");
        } else if v.user.parse::<std::net::IpAddr>().is_ok() {
            out.push_str(&format!("      <contributor>\n        <ip>{}</ip>\n      </contributor>\n", text(&v.user)));
        } else {
            out.push_str(&format!("      <contributor>\n        <username>{}</username>\n      </contributor>\n", text(&v.user)));
        }
        out.push_str(&format!("      <comment>{}</comment>\n      <filename>{}</filename>\n", text(&v.comment), text(&name)));
        // Every version but the newest is an old one (`stored` is newest first).
        if i > 0 {
            out.push_str(&format!("      <archivename>{}!{}</archivename>\n", compact(&v.timestamp), text(&name)));
        }
        out.push_str(&format!(
            "      <src>{}</src>\n      <size>{}</size>\n      <sha1base36>{}</sha1base36>\n      <rel>{}</rel>\n    </upload>\n",
            text(&v.url),
            v.size,
            super::xml::base36_sha1(&v.sha1),
            rel(&v.sha1)
        ));
        contents.insert(v.sha1.clone(), v.size);
    }
}

/// What an export gathers of files as it writes pages: the list of
/// versions (in a temporary file: it grows with the wiki) and the contents.
pub(super) struct Collector {
    blobs: checkpoints::Blobs,
    list_tmp: super::TempFile,
    list: super::Hashing<std::io::BufWriter<std::fs::File>>,
    versions: u64,
    contents: BTreeMap<String, u64>,
}

impl Collector {
    pub(super) fn new(blobs: checkpoints::Blobs, dir: &std::path::Path) -> anyhow::Result<Collector> {
        let list_tmp = super::TempFile::create(dir)?;
        let list = super::Hashing::new(std::io::BufWriter::new(list_tmp.file()?));
        Ok(Collector { blobs, list_tmp, list, versions: 0, contents: BTreeMap::new() })
    }

    /// A File: page's `<upload>` elements into `out`, its versions into the list.
    pub(super) fn page(&mut self, store: &checkpoints::Store, wiki: &str, page: &checkpoints::StoredPage, out: &mut String) -> anyhow::Result<()> {
        use std::io::Write;
        if page.ns != 6 {
            return Ok(());
        }
        let versions = store.file_versions(wiki, page.pageid)?;
        uploads(out, &page.title, &versions, &mut self.contents);
        for f in versions.iter().filter(|f| f.version.state == checkpoints::FileState::Stored) {
            let mut line = serde_json::to_vec(&Line::of(f)).expect("a line serialises");
            line.push(b'\n');
            self.list.write_all(&line).context("writing the package's list of files")?;
            self.versions += 1;
        }
        Ok(())
    }

    /// Closes the list; what the manifest says of the files.
    pub(super) fn finish(&mut self) -> anyhow::Result<FilesPart> {
        use std::io::Write;
        self.list.flush().context("writing the package's list of files")?;
        let (sha256, bytes) = self.list.peek();
        Ok(FilesPart {
            list: Part { name: LIST.into(), bytes, sha256 },
            versions: self.versions,
            contents: self.contents.len() as u64,
            bytes: self.contents.values().sum(),
        })
    }

    /// The list and every content, as members of the package's tar.
    pub(super) fn append(&self, add: &mut dyn FnMut(&str, u64, &mut dyn std::io::Read) -> std::io::Result<()>) -> anyhow::Result<()> {
        let (_, len) = self.list.peek();
        add(LIST, len, &mut std::fs::File::open(&self.list_tmp.path)?).context("writing the package's list of files")?;
        for (sha1, size) in &self.contents {
            let file = self.blobs.open(sha1).with_context(|| format!("reading the stored file {sha1} from {}", self.blobs.root().display()))?;
            // A content is written as long as the store says, and checked when the package is verified.
            add(&format!("{DIR}{}", rel(sha1)), *size, &mut std::io::Read::take(file, *size)).context("writing a file into the package")?;
        }
        Ok(())
    }
}

/// Checks the package's files against its manifest: the list's length and
/// SHA-256, then each content's SHA-1 against its name, and their number
/// and bytes. Reads every member after the XML; changes nothing.
pub(super) fn verify<R: std::io::Read>(entries: &mut tar::Entries<'_, R>, part: &FilesPart) -> anyhow::Result<()> {
    let mut list = entries.next().context("it ends before its list of files")?.context("it is damaged before its list of files")?;
    let name = list.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    if name != LIST {
        anyhow::bail!("it holds {name:?} where {LIST} belongs");
    }
    let (sum, len) = super::hash_all(&mut list).context("its list of files is truncated")?;
    if (sum.as_str(), len) != (part.list.sha256.as_str(), part.list.bytes) {
        anyhow::bail!("its {LIST} has {len} bytes with another SHA-256 than the manifest says (copy it again from where it was written)");
    }
    let (mut contents, mut bytes) = (0u64, 0u64);
    for entry in entries {
        let mut entry = entry.context("it is damaged or truncated among its files")?;
        let name = entry.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        let Some(sha1) = member_sha1(&name).map(str::to_string) else { anyhow::bail!("it holds {name:?}, which is no file of a package") };
        let (got, len) = super::digest_all::<sha1::Sha1>(&mut entry).with_context(|| format!("{name} is truncated"))?;
        if got != sha1 {
            anyhow::bail!("{name} is corrupt: its SHA-1 is {got} (copy the package again from where it was written)");
        }
        contents += 1;
        bytes += len;
    }
    if (contents, bytes) != (part.contents, part.bytes) {
        anyhow::bail!("it holds {contents} files of {bytes} bytes, the manifest says {} of {} (truncated?)", part.contents, part.bytes);
    }
    Ok(())
}

/// A line of `files.jsonl` longer than this is no line of a package.
const MAX_LINE: u64 = 1 << 20;

/// Applies a package's files in its import's write: every content copied
/// into the files directory (checked by SHA-1 as it is copied; a content
/// kept already is skipped), every version recorded as stored. The list
/// is checked again against the manifest (the file may have been replaced
/// since it was verified): a mismatch fails the import, nothing applied.
pub(super) fn apply<R: std::io::Read>(
    write: &mut checkpoints::WikiWrite<'_>,
    archive: &mut tar::Archive<R>,
    part: &FilesPart,
    blobs: &checkpoints::Blobs,
) -> anyhow::Result<u64> {
    use std::io::BufRead;
    let mut stored = 0;
    for entry in archive.entries()? {
        let entry = entry.context("reading the package's files")?;
        let name = entry.path().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        if name == LIST {
            let mut hashing = super::HashingReader { inner: entry, hasher: sha2::Sha256::new() };
            let mut lines = std::io::BufReader::new(&mut hashing);
            let mut line = Vec::new();
            loop {
                line.clear();
                std::io::Read::take(&mut lines, MAX_LINE).read_until(b'\n', &mut line).context("reading the package's list of files")?;
                if line.is_empty() {
                    break;
                }
                let l: Line = serde_json::from_slice(&line).context("a line of the package's list of files cannot be read")?;
                if !checkpoints::blobs::is_sha1(&l.sha1) {
                    anyhow::bail!("its list of files names {:?}, which is no SHA-1", l.sha1);
                }
                let v = checkpoints::FileVersion {
                    timestamp: l.timestamp,
                    sha1: l.sha1,
                    size: l.size,
                    mime: l.mime,
                    user: l.user,
                    comment: l.comment,
                    url: String::new(),
                    state: checkpoints::FileState::Stored,
                };
                stored += write.add_stored_files(l.page, std::slice::from_ref(&v))?;
            }
            drop(lines);
            if super::sha256_hex_of(hashing.hasher) != part.list.sha256 {
                anyhow::bail!("its {LIST} changed while it was applied; nothing was applied (import it again)");
            }
        } else if let Some(sha1) = member_sha1(&name).map(str::to_string) {
            let size = entry.header().size().unwrap_or(0);
            if blobs.has(&sha1, size) {
                continue;
            }
            let (mut file, _) = blobs.restart_partial(&sha1).with_context(|| format!("writing into {}", blobs.root().display()))?;
            let mut hashing = super::HashingReader { inner: entry, hasher: sha1::Sha1::new() };
            std::io::copy(&mut hashing, &mut file).with_context(|| format!("copying {name} into {}", blobs.root().display()))?;
            if crate::util::hex(&hashing.hasher.finalize()) != sha1 {
                blobs.discard(&sha1)?;
                anyhow::bail!("{name} changed while it was applied; nothing was applied (import it again)");
            }
            blobs.keep(&sha1).with_context(|| format!("keeping {name} in {}", blobs.root().display()))?;
        }
    }
    // On the disk before the import that records them commits.
    blobs.sync().with_context(|| format!("flushing {}", blobs.root().display()))?;
    Ok(stored)
}

#[cfg(test)]
mod tests;
