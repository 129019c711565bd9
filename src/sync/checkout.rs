//! A checkout: one file per page in a directory, edited offline. This
//! module is the pure core (the runner does not use it yet): how a title
//! becomes a file name and back, what a directory holds, and what changed
//! in it since the last sync.
//!
//! File names are safe and reversible. A title's characters stay as they
//! are, except `%`, the characters that are special in paths on some
//! system (`/ \ : * ? " < > |`), control characters, a leading `.` and a
//! trailing space or `.`, which become `%XX` (UTF-8 bytes). The extension
//! is `.wiki`. A name that would be longer than a file system allows ends
//! in `~` and a hash of the title instead; so does the second of two titles
//! that differ only in case (they would be one file on macOS and Windows).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use sha1::{Digest, Sha1};

pub const EXTENSION: &str = ".wiki";

/// The most bytes a file name may have (most file systems allow 255).
const MAX_NAME: usize = 240;

fn escaped(c: char, first: bool, last: bool) -> bool {
    matches!(c, '%' | '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') || c.is_control() || (first && c == '.') || (last && (c == ' ' || c == '.'))
}

fn hash_tag(title: &str) -> String {
    Sha1::digest(title.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The file name of a title. `taken` holds the lower-cased names already in
/// use: a name that collides with one of them in case only gets a hash.
pub fn file_name(title: &str, taken: &HashSet<String>) -> String {
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
    let plain = format!("{name}{EXTENSION}");
    if plain.len() <= MAX_NAME && !taken.contains(&plain.to_lowercase()) {
        return plain;
    }
    // Too long, or a case twin: keep a readable start and make it unique.
    let room = MAX_NAME - EXTENSION.len() - 17;
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
    format!("{}~{}{EXTENSION}", &name[..cut], hash_tag(title))
}

/// Why a directory entry is not a page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Skip {
    NotAWikiFile,
    Hidden,
    BadEscape,
    NotUtf8,
    ControlCharacter,
    Empty,
    /// A hashed name that no known page has.
    UnknownHashedName,
    Symlink,
    Directory,
    UnreadableText,
}

/// The title of a plain (not hashed) file name.
pub fn title_of(file: &str) -> Result<String, Skip> {
    if file.starts_with('.') {
        return Err(Skip::Hidden);
    }
    let Some(stem) = file.strip_suffix(EXTENSION) else { return Err(Skip::NotAWikiFile) };
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
    if title.chars().any(char::is_control) {
        return Err(Skip::ControlCharacter);
    }
    Ok(title)
}

/// Whether a name is the hashed form (it cannot be decoded on its own).
pub fn is_hashed(file: &str) -> bool {
    file.strip_suffix(EXTENSION).and_then(|s| s.rsplit_once('~')).is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
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
        out.pages.push(PageFile { fingerprint: fingerprint(&text), file: name, title, text });
    }
    out.pages.sort_by(|a, b| a.file.cmp(&b.file));
    out.skipped.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A change in a checkout since the last sync.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    New { file: String },
    Edited { file: String },
    Deleted { file: String },
    /// The same content under another name: a move, not a delete and a create.
    Renamed { from: String, to: String },
}

/// Compares the files the last sync left (`known`: name → fingerprint)
/// with what is there now.
pub fn changes(known: &HashMap<String, u64>, now: &Scan) -> Vec<FileChange> {
    let present: HashMap<&str, u64> = now.pages.iter().map(|p| (p.file.as_str(), p.fingerprint)).collect();
    let mut gone: Vec<(&String, u64)> = known.iter().filter(|(f, _)| !present.contains_key(f.as_str())).map(|(f, fp)| (f, *fp)).collect();
    gone.sort();
    let mut out = Vec::new();
    let mut renamed_from = HashSet::new();
    for p in &now.pages {
        match known.get(&p.file) {
            Some(fp) if *fp == p.fingerprint => {}
            Some(_) => out.push(FileChange::Edited { file: p.file.clone() }),
            None => match gone.iter().find(|(f, fp)| *fp == p.fingerprint && !renamed_from.contains(*f)) {
                Some((from, _)) => {
                    renamed_from.insert((*from).clone());
                    out.push(FileChange::Renamed { from: (*from).clone(), to: p.file.clone() });
                }
                None => out.push(FileChange::New { file: p.file.clone() }),
            },
        }
    }
    out.extend(gone.into_iter().filter(|(f, _)| !renamed_from.contains(*f)).map(|(f, _)| FileChange::Deleted { file: f.clone() }));
    out
}

#[cfg(test)]
mod tests;
