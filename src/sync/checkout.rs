//! A checkout: one file per page in a directory, edited offline. This
//! module is the pure core: how a title becomes a file name and back, what
//! a directory holds, and which new files are old ones renamed. Reading and
//! writing the directory during a sync is `peer`'s.
//!
//! File names are safe and reversible. A title's characters stay as they
//! are, except `%`, the characters that are special in paths on some
//! system (`/ \ : * ? " < > |`), control characters (C0 and C1), the
//! characters that reorder text on screen (bidi controls), a leading `.`
//! and a trailing space or `.`, which become `%XX` (UTF-8 bytes). The
//! extension is `.wiki`. A name that would be longer than a file system
//! allows ends in `~` and a hash of the title instead; so does the second
//! of two titles that differ only in case (they would be one file on macOS
//! and Windows).
//!
//! The same rule reads names back: a character that is escaped when
//! written is refused when it stands raw in a name, and every escaped one
//! decodes. So every title a wiki has round-trips through its file, and a
//! name no title could have produced is skipped with its reason.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sha1::{Digest, Sha1};

use crate::util::TEMP_PREFIX;

pub const EXTENSION: &str = ".wiki";

/// The most bytes a page's file name may have: file systems allow 255, and
/// a conflict copy (`NAME.conflict-ID`) needs 29 more at the most. (Names
/// written by older versions may be up to 240 bytes; they are read as
/// before, only new names keep to this.)
pub const MAX_NAME: usize = 224;

/// Characters that never stand raw in a name: they would hide or disguise
/// it on a terminal (control characters, C1 included, and the bidi
/// controls that reorder what is shown).
fn unsafe_char(c: char) -> bool {
    crate::util::is_control_or_bidi(c)
}

fn escaped(c: char, first: bool, last: bool) -> bool {
    matches!(c, '%' | '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || unsafe_char(c) || (first && c == '.') || (last && (c == ' ' || c == '.'))
}

fn hash_tag(title: &str) -> String {
    Sha1::digest(title.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The file name of a title. `taken` holds the lower-cased names already in
/// use: a name that collides with one of them in case only gets a hash.
pub fn file_name(title: &str, taken: &HashSet<String>) -> String {
    safe_name(title, EXTENSION, taken)
}

/// `title` as a file name ending in `extension`, by the rules above (also
/// used for the files of records that `cat --dir` writes).
pub fn safe_name(title: &str, extension: &str, taken: &HashSet<String>) -> String {
    let chars: Vec<char> = title.chars().collect();
    let mut name = String::with_capacity(title.len() + 8);
    for (i, c) in chars.iter().enumerate() {
        if escaped(*c, i == 0, i + 1 == chars.len()) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                name.push_str(&format!("%{b:02X}"));
            }
        } else {
            name.push(*c);
        }
    }
    let plain = format!("{name}{extension}");
    // A title that ends like a hash (`~` and 16 hex digits) would be read
    // back as a hashed name: it gets a real hash instead.
    if plain.len() <= MAX_NAME && !taken.contains(&plain.to_lowercase()) && !is_hashed_with(&plain, extension) {
        return plain;
    }
    // Too long, or a case twin: keep a readable start and make it unique.
    let room = MAX_NAME - extension.len() - 17;
    let mut cut = room.min(name.len());
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    // Never split a %XX escape.
    if let Some(p) = name[..cut].rfind('%')
        && cut - p < 3
    {
        cut = p;
    }
    format!("{}~{}{extension}", &name[..cut], hash_tag(title))
}

/// Why a directory entry is not a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    NotAWikiFile,
    Hidden,
    BadEscape,
    NotUtf8,
    /// A control or bidi character standing raw in the name.
    ControlCharacter,
    Empty,
    /// A temporary name of a write that did not finish (or one planted).
    Temporary,
    /// A hashed name that no known page has.
    UnknownHashedName,
    Symlink,
    Directory,
    UnreadableText,
    /// The other side's text of a conflict, written beside the page's file.
    ConflictCopy,
}

/// The title of a plain (not hashed) file name.
pub fn title_of(file: &str) -> Result<String, Skip> {
    if is_temp_name(file) {
        return Err(Skip::Temporary);
    }
    if file.starts_with('.') {
        return Err(Skip::Hidden);
    }
    // A conflict copy ends in its conflict's number, never in `.wiki`: a
    // title that holds ".wiki.conflict-" is still a page.
    let Some(stem) = file.strip_suffix(EXTENSION) else {
        return Err(if is_conflict_copy(file) { Skip::ConflictCopy } else { Skip::NotAWikiFile });
    };
    if stem.chars().any(unsafe_char) {
        return Err(Skip::ControlCharacter);
    }
    let mut bytes = Vec::with_capacity(stem.len());
    let raw = stem.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hex = stem.get(i + 1..i + 3).ok_or(Skip::BadEscape)?;
            bytes.push(u8::from_str_radix(hex, 16).map_err(|_| Skip::BadEscape)?);
            i += 3;
        } else {
            bytes.push(raw[i]);
            i += 1;
        }
    }
    let title = String::from_utf8(bytes).map_err(|_| Skip::NotUtf8)?;
    if title.trim().is_empty() {
        return Err(Skip::Empty);
    }
    Ok(title)
}

/// Whether a name is a conflict copy, as [`conflict_copy_name`] makes them.
pub fn is_conflict_copy(file: &str) -> bool {
    file.rsplit_once(".wiki.conflict-").is_some_and(|(_, id)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether a name is the hashed form (it cannot be decoded on its own).
pub fn is_hashed(file: &str) -> bool {
    is_hashed_with(file, EXTENSION)
}

fn is_hashed_with(file: &str, extension: &str) -> bool {
    file.strip_suffix(extension).and_then(|s| s.rsplit_once('~')).is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A page file as found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageFile {
    pub file: String,
    pub title: String,
    pub text: String,
    /// Identifies the content: equal texts, equal fingerprints.
    pub fingerprint: u64,
}

/// A page's text as read from its file: line ends made `\n` and trailing
/// white space dropped, as MediaWiki does on every save (so an editor's
/// final newline is not an edit).
pub fn normalize(raw: &str) -> String {
    raw.replace("\r\n", "\n").trim_end().to_string()
}

/// What a page's file holds for `text`: the text and a final newline.
pub fn file_content(text: &str) -> String {
    let text = text.trim_end();
    if text.is_empty() { String::new() } else { format!("{text}\n") }
}

/// The name of the file that keeps the other side's whole text of a
/// conflict beside the page's file. It is not a page file.
pub fn conflict_copy_name(file: &str, conflict_id: i64) -> String {
    format!("{file}.conflict-{conflict_id}")
}

/// Whether a name is a temporary one, of this version or of the older form
/// (`.NAME.oai-mirror-tmp`).
pub fn is_temp_name(file: &str) -> bool {
    file.starts_with(TEMP_PREFIX) || (file.starts_with('.') && file.ends_with(".oai-mirror-tmp"))
}

pub fn fingerprint(text: &str) -> u64 {
    let d = Sha1::digest(text.as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("eight bytes")) | 1
}

/// What a checkout directory holds: pages, and entries that are not, with why.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scan {
    pub pages: Vec<PageFile>,
    pub skipped: Vec<(String, Skip)>,
}

/// Reads a checkout. `hashed` maps the hashed file names the sync wrote to
/// their titles. Nothing outside `dir` is followed: symlinks and
/// subdirectories are skipped, and a name can never hold a path separator.
pub fn scan(dir: &Path, hashed: &HashMap<String, String>) -> std::io::Result<Scan> {
    let mut out = Scan::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            out.skipped.push((entry.file_name().to_string_lossy().into_owned(), Skip::NotUtf8));
            continue;
        };
        if is_temp_name(&name) {
            out.skipped.push((name, Skip::Temporary));
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            out.skipped.push((name, Skip::Symlink));
            continue;
        }
        if kind.is_dir() {
            out.skipped.push((name, Skip::Directory));
            continue;
        }
        let title = match hashed.get(&name) {
            Some(t) => Ok(t.clone()),
            None if is_hashed(&name) => Err(Skip::UnknownHashedName),
            None => title_of(&name),
        };
        let title = match title {
            Ok(t) => t,
            Err(why) => {
                out.skipped.push((name, why));
                continue;
            }
        };
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            out.skipped.push((name, Skip::UnreadableText));
            continue;
        };
        let text = normalize(&text);
        out.pages.push(PageFile { fingerprint: fingerprint(&text), file: name, title, text });
    }
    out.pages.sort_by(|a, b| a.file.cmp(&b.file));
    out.skipped.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A file that was there at the last scan and is gone now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gone<'a> {
    pub file_id: u64,
    pub fingerprint: u64,
    /// The text it was last synced with, to recognise it edited and renamed at once.
    pub base_text: &'a str,
}

/// How alike two texts must be (`similar`'s line ratio) for a gone file
/// and a new one to count as one file renamed and edited.
pub const RENAME_SIMILARITY: f32 = 0.6;

/// Which new files are gone files under another name: a rename is a move,
/// never a delete and a create. The same content wins first; then the most
/// similar text, as git finds renames. Returns (file id, new name).
pub fn renames(gone: &[Gone<'_>], new: &[&PageFile]) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    let mut taken_ids = HashSet::new();
    let mut taken_files = HashSet::new();
    for p in new {
        if let Some(g) = gone.iter().find(|g| g.fingerprint == p.fingerprint && !taken_ids.contains(&g.file_id)) {
            taken_ids.insert(g.file_id);
            taken_files.insert(p.file.as_str());
            out.push((g.file_id, p.file.clone()));
        }
    }
    let mut candidates = Vec::new();
    for p in new.iter().filter(|p| !taken_files.contains(p.file.as_str())) {
        for g in gone.iter().filter(|g| !taken_ids.contains(&g.file_id) && !g.base_text.is_empty()) {
            let ratio = similar::TextDiff::from_lines(g.base_text, p.text.as_str()).ratio();
            if ratio >= RENAME_SIMILARITY {
                candidates.push((ratio, g.file_id, p.file.as_str()));
            }
        }
    }
    // Best matches first, each file used once.
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(b.2)));
    for (_, id, file) in candidates {
        if !taken_ids.contains(&id) && !taken_files.contains(file) {
            taken_ids.insert(id);
            taken_files.insert(file);
            out.push((id, file.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests;
