//! Reads MediaWiki's XML export format (schema 0.3 to 0.11), as the OAI
//! extension puts it inside `<metadata>` for metadataPrefix `mediawiki`.
//!
//! Pure: a fragment in, pages out. Text arrives split into text events and
//! entity references (`&amp;`, `&lt;` …); both are collected, so no
//! character of the wikitext is lost.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

/// A page with the revision(s) the export holds (the OAI extension: exactly
/// one, the current).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportPage {
    pub pageid: u64,
    pub ns: i64,
    pub title: String,
    /// The target of a redirect page.
    pub redirect: Option<String>,
    pub revisions: Vec<ExportRevision>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportRevision {
    pub revid: u64,
    pub parentid: u64,
    pub timestamp: String,
    /// The user name, or the IP of an anonymous editor.
    pub user: String,
    pub comment: String,
    pub text: String,
    pub minor: bool,
    /// The contributor's `<id>`; 0 for an IP.
    pub user_id: Option<u64>,
    /// The text's SHA-1 as the export states it (base 36), if it does.
    pub sha1: Option<String>,
}

impl ExportPage {
    /// The page as a feed's incoming state: its revisions as stored (each
    /// with the SHA-1 of its text), the last one current; an empty redirect
    /// element (schema 0.3) says nothing of a target.
    pub fn into_incoming(self) -> crate::mirror::plan::Incoming {
        let revisions: Vec<checkpoints::RevisionRow> = self
            .revisions
            .into_iter()
            .map(|r| checkpoints::RevisionRow {
                revid: r.revid,
                parentid: r.parentid,
                timestamp: r.timestamp,
                user: r.user,
                comment: r.comment,
                sha1: crate::util::sha1_hex(&r.text),
                text: r.text,
                minor: r.minor,
                user_id: r.user_id,
            })
            .collect();
        let rev_id = revisions.last().map_or(0, |r| r.revid);
        let redirect = self.redirect.filter(|t| !t.is_empty());
        let page = checkpoints::PageRow { pageid: self.pageid, ns: self.ns, title: self.title, redirect, displaced: false, rev_id };
        crate::mirror::plan::Incoming::Present { page, revisions }
    }
}

/// Parses a `<mediawiki>` document or fragment. `Err` carries a message
/// with the byte offset.
pub fn parse(xml: &str) -> Result<Vec<ExportPage>, String> {
    let mut r = Reader::from_str(xml);
    r.config_mut().trim_text(false);
    r.config_mut().expand_empty_elements = true;
    let mut pages = Vec::new();
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) if local(&e) == "page" => pages.push(page(&mut r)?),
            Ok(Event::Eof) => return Ok(pages),
            Ok(_) => {}
            Err(e) => return Err(format!("at byte {}: {e}", r.buffer_position())),
        }
    }
}

fn local<'s>(e: &'s BytesStart<'_>) -> &'s str {
    let n = e.name().0;
    n.rsplit_once(':').map_or(n, |(_, l)| l)
}

fn err(r: &Reader<&[u8]>, e: impl std::fmt::Display) -> String {
    format!("at byte {}: {e}", r.buffer_position())
}

/// After a start tag: the next child's start, or `None` at the end.
fn child<'a>(r: &mut Reader<&'a [u8]>) -> Result<Option<BytesStart<'a>>, String> {
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) => return Ok(Some(e)),
            Ok(Event::End(_)) => return Ok(None),
            Ok(Event::Eof) => return Err(err(r, "the export ends inside an element")),
            Ok(_) => {}
            Err(e) => return Err(err(r, e)),
        }
    }
}

/// After a start tag: its text, references resolved, up to its end tag.
fn text(r: &mut Reader<&[u8]>) -> Result<String, String> {
    let mut out = String::new();
    let mut depth = 0;
    loop {
        match r.read_event() {
            Ok(Event::Text(t)) => out.push_str(&t.xml_content(quick_xml::XmlVersion::Implicit1_0)),
            Ok(Event::CData(t)) => out.push_str(&t),
            Ok(Event::GeneralRef(g)) => match g.resolve_char_ref() {
                Ok(Some(c)) => out.push(c),
                _ => match &*g {
                    "amp" => out.push('&'),
                    "lt" => out.push('<'),
                    "gt" => out.push('>'),
                    "quot" => out.push('"'),
                    "apos" => out.push('\''),
                    other => return Err(err(r, format!("unknown entity &{other};"))),
                },
            },
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) if depth == 0 => return Ok(out),
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => return Err(err(r, "the export ends inside text")),
            Ok(_) => {}
            Err(e) => return Err(err(r, e)),
        }
    }
}

fn skip(r: &mut Reader<&[u8]>) -> Result<(), String> {
    text(r).map(drop)
}

/// After a start tag: its text as a number.
fn number<T: std::str::FromStr>(r: &mut Reader<&[u8]>, what: &str) -> Result<T, String> {
    let s = text(r)?;
    s.trim().parse().map_err(|_| err(r, format!("{what} is not a number: {s:?}")))
}

fn page(r: &mut Reader<&[u8]>) -> Result<ExportPage, String> {
    let mut p = ExportPage::default();
    while let Some(e) = child(r)? {
        match local(&e) {
            "title" => p.title = text(r)?,
            "ns" => p.ns = number(r, "<ns>")?,
            "id" => p.pageid = number(r, "page <id>")?,
            "redirect" => {
                // 0.3–0.4 write an empty <redirect/>; later ones name the target.
                let target = e.attributes().with_checks(false).flatten().find(|a| a.key.0 == "title");
                p.redirect = Some(match target {
                    Some(a) => a.normalized_value(quick_xml::XmlVersion::Implicit1_0).map(|v| v.into_owned()).unwrap_or_default(),
                    None => String::new(),
                });
                skip(r)?;
            }
            "revision" => p.revisions.push(revision(r)?),
            _ => skip(r)?,
        }
    }
    if p.pageid == 0 && p.title.is_empty() {
        return Err(err(r, "a <page> without <id> or <title>"));
    }
    Ok(p)
}

fn revision(r: &mut Reader<&[u8]>) -> Result<ExportRevision, String> {
    let mut rev = ExportRevision::default();
    while let Some(e) = child(r)? {
        match local(&e) {
            "id" => rev.revid = number(r, "revision <id>")?,
            "parentid" => rev.parentid = number(r, "<parentid>")?,
            "timestamp" => rev.timestamp = text(r)?,
            "comment" => rev.comment = text(r)?,
            "text" => rev.text = text(r)?,
            "sha1" => rev.sha1 = Some(text(r)?),
            "minor" => {
                rev.minor = true;
                skip(r)?;
            }
            "contributor" => {
                while let Some(c) = child(r)? {
                    match local(&c) {
                        "username" => rev.user = text(r)?,
                        "ip" => {
                            rev.user = text(r)?;
                            rev.user_id = Some(0);
                        }
                        "id" => rev.user_id = Some(number(r, "contributor <id>")?),
                        _ => skip(r)?,
                    }
                }
            }
            _ => skip(r)?,
        }
    }
    Ok(rev)
}

/// The export format's namespace, version 0.11 (MediaWiki 1.36 and later).
pub const NAMESPACE: &str = "http://www.mediawiki.org/xml/export-0.11/";
pub const SCHEMA: &str = "http://www.mediawiki.org/xml/export-0.11.xsd";

/// What a document's `<siteinfo>` says, if it has one: read from its start
/// (the part before the first page).
pub fn parse_siteinfo(xml: &str) -> Result<Option<checkpoints::WikiSite>, String> {
    let mut r = Reader::from_str(xml);
    r.config_mut().expand_empty_elements = true;
    loop {
        match r.read_event() {
            Ok(Event::Start(e)) if local(&e) == "siteinfo" => break,
            Ok(Event::Start(e)) if local(&e) == "page" => return Ok(None),
            Ok(Event::Eof) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(err(&r, e)),
        }
    }
    let mut site = checkpoints::WikiSite::default();
    while let Some(e) = child(&mut r)? {
        match local(&e) {
            "sitename" => site.sitename = text(&mut r)?,
            "dbname" => site.dbname = text(&mut r)?,
            "base" => site.base = text(&mut r)?,
            "generator" => site.generator = text(&mut r)?,
            "case" => site.case = text(&mut r)?,
            "namespaces" => {
                while let Some(ns) = child(&mut r)? {
                    let attr = |name: &str| {
                        ns.attributes()
                            .with_checks(false)
                            .flatten()
                            .find(|a| a.key.0 == name)
                            .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok().map(|v| v.into_owned()))
                    };
                    let id = attr("key").and_then(|k| k.trim().parse().ok()).ok_or_else(|| err(&r, "a <namespace> without a numeric key"))?;
                    let case = attr("case").unwrap_or_default();
                    site.namespaces.push(checkpoints::SiteNamespace { id, case, name: text(&mut r)? });
                }
            }
            _ => skip(&mut r)?,
        }
    }
    Ok(Some(site))
}

#[cfg(test)]
mod tests;
