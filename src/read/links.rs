//! Where a link or an image of a wiki's rendering leads in the reader.
//! The wiki writes its internal links as paths (`/wiki/Title`,
//! `/w/index.php?title=Title&action=edit&redlink=1`, `/index.php/Title`)
//! and its images as paths under `images/` (originals, and thumbnails
//! under `images/thumb/`). Pure functions.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// What a link of the rendering becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Link {
    /// A page of the same wiki, with the fragment after `#`, if any.
    Page { title: String, fragment: Option<String> },
    /// Left as it is: a fragment of this page, or a page elsewhere.
    Keep,
}

/// What an image's source becomes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Image {
    /// The file of this name (without `File:`) in the mirror's files.
    File(String),
    /// Not shown: nothing is loaded from outside the copy.
    Drop,
}

/// Where a page's link points. Absolute URLs lead elsewhere and are kept
/// (following one is the reader's choice; nothing loads by itself).
pub fn link(href: &str) -> Link {
    if href.starts_with('#') || href.contains("://") || href.starts_with("//") || href.starts_with("mailto:") {
        return Link::Keep;
    }
    let (rest, fragment) = match href.split_once('#') {
        Some((r, f)) => (r, Some(decode(f))),
        None => (href, None),
    };
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let param = |name: &str| query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')).map(decode);
    let title = if let Some(t) = param("title") {
        // A red link to a file goes to Special:Upload.
        match (t.as_str(), param("wpDestFile")) {
            ("Special:Upload", Some(file)) => format!("File:{file}"),
            _ => t,
        }
    } else if let Some((_, t)) = path.split_once("/wiki/").or_else(|| path.split_once("/index.php/")) {
        decode(t)
    } else if let Image::File(name) = image(path) {
        format!("File:{name}")
    } else {
        return Link::Keep;
    };
    let title = title.replace('_', " ").trim().to_string();
    if title.is_empty() {
        return Link::Keep;
    }
    Link::Page { title, fragment }
}

/// Where an image's source points.
pub fn image(src: &str) -> Image {
    if src.contains("://") || src.starts_with("//") || src.starts_with("data:") {
        return Image::Drop;
    }
    let path = src.split(['?', '#']).next().unwrap_or_default();
    let Some((_, under)) = path.split_once("/images/") else { return Image::Drop };
    let parts: Vec<&str> = under.split('/').filter(|p| !p.is_empty()).collect();
    // thumb/a/ab/Name.png/120px-Name.png, or a/ab/Name.png, or Name.png ($wgHashedUploadDirectory = false).
    let name = match parts.as_slice() {
        ["thumb", _, _, name, ..] => name,
        [_, _, name] => name,
        [name] => name,
        _ => return Image::Drop,
    };
    let name = decode(name).replace('_', " ");
    if name.is_empty() { Image::Drop } else { Image::File(name) }
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// What stays as it is in a title in a path: what MediaWiki keeps
/// (`wfUrlencode`), less what a path would misread.
const TITLE: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b':').remove(b'/').remove(b'(').remove(b')').remove(b'!').remove(b',');

/// A title in a path: spaces as underscores, the rest percent-encoded.
pub fn encode_title(title: &str) -> String {
    utf8_percent_encode(&title.replace(' ', "_"), TITLE).to_string()
}

/// A title from a path: percent-decoded, underscores as spaces.
pub fn decode_title(path: &str) -> String {
    decode(path).replace('_', " ")
}

/// The reader's address of a wiki's page.
pub fn page_url(wiki: &str, title: &str) -> String {
    format!("/read/{}/{}", encode_title(wiki), encode_title(title))
}

/// The reader's address of a wiki's file.
pub fn file_url(wiki: &str, name: &str) -> String {
    format!("/read/files/{}/{}", encode_title(wiki), encode_title(name))
}
