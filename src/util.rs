//! Small helpers the modules share.

use std::sync::{Mutex, MutexGuard};

use md5::Md5;
use sha1::{Digest, Sha1};

/// Locks a mutex even if a panic poisoned it: everything behind our
/// mutexes (the store, job states) stays consistent, since SQLite writes
/// are transactions and job states are plain values.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Lower-case hexadecimal, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn md5_hex(text: &str) -> String {
    hex(&Md5::digest(text.as_bytes()))
}

pub fn sha1_hex(text: &str) -> String {
    hex(&Sha1::digest(text.as_bytes()))
}

/// reqwest is built without a bundled crypto provider (see Cargo.toml) and
/// panics if none is installed when a client is built; a second install
/// fails harmlessly.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Runs blocking work (SQLite, fsync) from async code without holding up
/// the other tasks of the worker it runs on: on a multi-threaded runtime the
/// worker hands its tasks to another first (`block_in_place`). Elsewhere
/// (a current-thread runtime in a test, or no runtime) it simply runs.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Control characters (C0, DEL, C1) and the bidi controls that reorder
/// text on screen: what must never stand raw where a person reads a name
/// (checkout file names, a terminal).
pub fn is_control_or_bidi(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

pub const TEMP_PREFIX: &str = ".oai-mirror-tmp.";

/// A temporary name to write a file under before it is renamed into place:
/// hidden, short whatever the final name (so it is always within a file
/// system's limit), and new each time (`random`), so that it is created
/// afresh and never an entry someone left or planted there.
pub fn temp_name(random: u64) -> String {
    format!("{TEMP_PREFIX}{random:016x}")
}

/// Writes `dir/name` whole: a new hidden temporary file beside it, synced,
/// renamed into place, the directory synced. The temporary file is created
/// with `O_EXCL`, so no entry already there (a symlink someone planted) is
/// ever followed or reused; if anything fails it is removed.
pub fn replace_file(dir: &std::path::Path, name: &str, content: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = dir.join(temp_name(fastrand::u64(..)));
    let mut created = false;
    let mut write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        created = true;
        f.write_all(content)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(name))?;
        std::fs::File::open(dir)?.sync_all()
    };
    let result = write();
    if result.is_err() && created {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A character XML 1.0 cannot hold at all, escaped or not: C0 controls
/// but tab and line ends, and U+FFFE/U+FFFF.
fn xml_forbidden(c: char) -> bool {
    (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// Escapes text for XML content and attribute values: the one rule for
/// everything written as XML (served answers, exports, packages, `cat`).
/// A character XML cannot hold becomes U+FFFD, so no value (a title from
/// a package, a text from a wiki) can make a document not well-formed;
/// MediaWiki never saves one, so only text that did not come from a wiki
/// is changed.
pub fn xml_escape(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"']) && !text.contains(xml_forbidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if xml_forbidden(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `bytes` are one well-formed XML element, with only whitespace,
/// comments and processing instructions around it: what can go inside a
/// served `<metadata>` (or `cat`'s) without making the document not
/// well-formed. Checked: UTF-8, characters XML allows, tags that match,
/// attributes, references (the five predefined entities and character
/// references to allowed characters; a DTD's entities cannot be known
/// here), no XML declaration or DOCTYPE inside. Namespace prefixes are not
/// checked: a prefix the origin declared on an outer element is bound
/// there.
pub fn well_formed_element(bytes: &[u8]) -> bool {
    use quick_xml::events::Event;
    let Ok(text) = std::str::from_utf8(bytes) else { return false };
    if text.contains(xml_forbidden) {
        return false;
    }
    let mut r = quick_xml::Reader::from_str(text);
    r.config_mut().check_end_names = true;
    r.config_mut().check_comments = true;
    let (mut depth, mut roots) = (0usize, 0usize);
    let attributes_ok = |e: &quick_xml::events::BytesStart<'_>| {
        e.attributes().with_checks(true).all(|a| match a {
            Ok(a) => !a.value.contains('<') && references_ok(a.value.as_bytes()),
            Err(_) => false,
        })
    };
    loop {
        match r.read_event() {
            Err(_) | Ok(Event::Decl(_) | Event::DocType(_)) => return false,
            Ok(Event::Eof) => return depth == 0 && roots == 1,
            Ok(Event::Start(e)) => {
                if !attributes_ok(&e) {
                    return false;
                }
                roots += (depth == 0) as usize;
                depth += 1;
            }
            Ok(Event::Empty(e)) => {
                if !attributes_ok(&e) {
                    return false;
                }
                roots += (depth == 0) as usize;
            }
            Ok(Event::End(_)) => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return false,
            },
            Ok(Event::Text(t)) => {
                if depth == 0 && !t.trim_ascii().is_empty() {
                    return false;
                }
            }
            Ok(Event::GeneralRef(g)) => {
                let known = matches!(&*g, "amp" | "lt" | "gt" | "quot" | "apos");
                if depth == 0 || !(known || matches!(g.resolve_char_ref(), Ok(Some(c)) if !xml_forbidden(c))) {
                    return false;
                }
            }
            Ok(Event::CData(_)) if depth == 0 => return false,
            Ok(_) => {}
        }
    }
}

/// Whether every `&…;` in an attribute's raw value is a reference XML
/// knows without a DTD.
fn references_ok(raw: &[u8]) -> bool {
    let mut rest = raw;
    while let Some(at) = rest.iter().position(|&b| b == b'&') {
        let after = &rest[at + 1..];
        let Some(end) = after.iter().position(|&b| b == b';') else { return false };
        let name = &after[..end];
        let ok = match name {
            b"amp" | b"lt" | b"gt" | b"quot" | b"apos" => true,
            [b'#', b'x', hex @ ..] => {
                std::str::from_utf8(hex).ok().and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32).is_some_and(|c| !xml_forbidden(c))
            }
            [b'#', dec @ ..] => std::str::from_utf8(dec).ok().and_then(|d| d.parse::<u32>().ok()).and_then(char::from_u32).is_some_and(|c| !xml_forbidden(c)),
            _ => false,
        };
        if !ok {
            return false;
        }
        rest = &after[end + 1..];
    }
    true
}

#[cfg(test)]
mod tests;
