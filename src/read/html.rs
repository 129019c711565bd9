//! A wiki's rendering made safe to show and local to the copy: sanitised
//! by ammonia (no script, no event handler, no style, no frame, no form:
//! what it keeps is an allow-list of tags and attributes), its internal
//! links pointed at the reader (marked `?absent` where the page is not in
//! the copy, which the stylesheet shows red), its images at the mirror's
//! files, and anything that would load from outside dropped.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::links::{self, Image, Link};

/// The titles of the pages a rendering links to (to look up which the
/// copy holds).
pub fn linked_titles(html: &str) -> Vec<String> {
    let found = Arc::new(Mutex::new(Vec::new()));
    let seen = found.clone();
    let mut b = builder();
    b.attribute_filter(move |element, attribute, value| {
        if element == "a"
            && attribute == "href"
            && let Link::Page { title, .. } = links::link(value)
        {
            crate::util::lock(&seen).push(title);
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
/// made local; `present`: the linked titles the copy holds.
pub fn clean(html: &str, wiki: &str, present: HashSet<String>) -> String {
    let wiki = wiki.to_string();
    let mut b = builder();
    b.attribute_filter(move |element, attribute, value| match (element, attribute) {
        ("a", "href") => match links::link(value) {
            Link::Keep => Some(Cow::Borrowed(value)),
            Link::Page { title, .. } if !present.contains(&title) => Some(Cow::Owned(format!("{}?absent", links::page_url(&wiki, &title)))),
            Link::Page { title, fragment: Some(f) } => Some(Cow::Owned(format!("{}#{}", links::page_url(&wiki, &title), links::encode_title(&f)))),
            Link::Page { title, fragment: None } => Some(Cow::Owned(links::page_url(&wiki, &title))),
        },
        ("img", "src") => match links::image(value) {
            Image::File(name) => Some(Cow::Owned(links::file_url(&wiki, &name))),
            Image::Drop => None,
        },
        _ => Some(Cow::Borrowed(value)),
    });
    b.clean(html).to_string()
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
