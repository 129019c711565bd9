//! A wiki's rendering made safe to show and local to the copy: sanitised
//! by ammonia (no script, no event handler, no style, no frame, no form:
//! what it keeps is an allow-list of tags and attributes), its internal
//! links pointed at the reader (marked `?absent` where the page is not in
//! the copy, which the stylesheet shows red), its images at the mirror's
//! files, and anything that would load from outside dropped.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::links::{self, Image, Link};

/// Where a rendering's links and images lead: into the running reader,
/// or between the files of a static copy (each page `ID.html`, each file
/// `files/ID.EXT`, by page id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addresses {
    Reader,
    Static,
}

/// The titles of the pages a rendering links to, and of the files it
/// shows (`File:Name`): to look up which the copy holds.
pub fn linked_titles(html: &str) -> Vec<String> {
    let found = Arc::new(Mutex::new(Vec::new()));
    let seen = found.clone();
    let mut b = builder();
    b.attribute_filter(move |element, attribute, value| {
        match (element, attribute) {
            ("a", "href") => {
                if let Link::Page { title, .. } = links::link(value) {
                    crate::util::lock(&seen).push(title);
                }
            }
            ("img", "src") => {
                if let Image::File(name) = links::image(value) {
                    crate::util::lock(&seen).push(format!("File:{name}"));
                }
            }
            _ => {}
        }
        Some(Cow::Borrowed(value))
    });
    let _ = b.clean(html);
    let mut titles = std::mem::take(&mut *crate::util::lock(&found));
    titles.sort();
    titles.dedup();
    titles
}

/// The rendering of a page of `wiki`, sanitised, its links and images
/// made local; `present`: the linked titles the copy holds, with their ids.
pub fn clean(html: &str, wiki: &str, present: HashMap<String, u64>, addresses: Addresses) -> String {
    let wiki = wiki.to_string();
    let mut b = builder();
    b.attribute_filter(move |element, attribute, value| match (element, attribute) {
        ("a", "href") => match links::link(value) {
            Link::Keep => Some(Cow::Borrowed(value)),
            Link::Page { title, fragment } => {
                let to = match (present.get(&title), addresses) {
                    (None, Addresses::Reader) => return Some(Cow::Owned(format!("{}?absent", links::page_url(&wiki, &title)))),
                    (None, Addresses::Static) => return Some(Cow::Borrowed("absent.html?absent")),
                    (Some(_), Addresses::Reader) => links::page_url(&wiki, &title),
                    (Some(id), Addresses::Static) => format!("{id}.html"),
                };
                Some(Cow::Owned(match fragment {
                    Some(f) => format!("{to}#{}", links::encode_title(&f)),
                    None => to,
                }))
            }
        },
        ("img", "src") => match (links::image(value), addresses) {
            (Image::File(name), Addresses::Reader) => Some(Cow::Owned(links::file_url(&wiki, &name))),
            (Image::File(name), Addresses::Static) => present.get(&format!("File:{name}")).map(|id| Cow::Owned(static_file(*id, &name))),
            (Image::Drop, _) => None,
        },
        _ => Some(Cow::Borrowed(value)),
    });
    b.clean(html).to_string()
}

/// A file's name in a static copy: its page id, and its name's extension
/// where that is plain letters and digits. Pure.
pub fn static_file(pageid: u64, name: &str) -> String {
    match name.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() && ext.len() <= 8 && ext.chars().all(|c| c.is_ascii_alphanumeric()) => {
            format!("files/{pageid}.{}", ext.to_ascii_lowercase())
        }
        _ => format!("files/{pageid}"),
    }
}

/// A display title (the wiki's HTML, `DISPLAYTITLE`), as text-level HTML only.
pub fn clean_inline(html: &str) -> String {
    let mut b = ammonia::Builder::empty();
    b.add_tags(["i", "b", "em", "strong", "span", "sub", "sup", "small"]);
    b.clean(html).to_string()
}

/// ammonia's allow-list, plus the attributes a wiki's page needs to read
/// well: `class` (thumbnails, tables, infoboxes) and `id` (sections, which
/// `#` links reach). Never `style`: the reader's own stylesheet lays out.
fn builder() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.add_generic_attributes(["class", "id"]);
    b.add_tag_attributes("img", ["loading"]);
    b.link_rel(Some("noopener noreferrer nofollow"));
    b
}
