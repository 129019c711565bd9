//! A mirrored wiki served over OAI-PMH, as MediaWiki's OAI extension serves
//! a wiki: one record per page, in the `mediawiki` format (the page and its
//! current revision in the export format) and in `oai_dc`. Identifiers end
//! in the page id (`oai:NAMESPACE:WIKI:ID`), so a move stays a move for a
//! mirror below this one; a deleted page is a deleted header from then on.

use checkpoints::{OriginFormat, ServedPage, Store};

use super::render;
use super::request::{OaiError, Request};
use super::spool::Spool;
use super::{ListStart, Service};
use crate::mirror::export;
use crate::package::xml;
use crate::util::xml_escape as esc;

fn formats() -> Vec<OriginFormat> {
    vec![
        OriginFormat { prefix: "mediawiki".into(), schema: export::SCHEMA.into(), namespace: export::NAMESPACE.into() },
        OriginFormat {
            prefix: "oai_dc".into(),
            schema: "http://www.openarchives.org/OAI/2.0/oai_dc.xsd".into(),
            namespace: "http://www.openarchives.org/OAI/2.0/oai_dc/".into(),
        },
    ]
}

fn identifier(service: &Service, wiki: &str, pageid: u64) -> String {
    format!("oai:{}:{wiki}:{pageid}", service.namespace)
}

/// The page id a served identifier names, if it is one of this wiki's.
fn page_id(service: &Service, wiki: &str, served: &str) -> Option<u64> {
    served.strip_prefix(&format!("oai:{}:{wiki}:", service.namespace))?.parse().ok()
}

fn base_url(service: &Service, wiki: &str) -> String {
    format!("{}/oai/wiki/{wiki}", service.public_url.trim_end_matches('/'))
}

/// The answer to one request about `wiki`, as a document.
pub fn answer(store: &Store, service: &Service, wiki: &str, arguments: &[(String, String)], now: i64) -> anyhow::Result<Vec<u8>> {
    Ok(answer_spooled(store, service, wiki, arguments, now)?.into_vec()?)
}

/// As [`answer`], its body left where it was written (see [`super::spool`]).
pub fn answer_spooled(store: &Store, service: &Service, wiki: &str, arguments: &[(String, String)], now: i64) -> anyhow::Result<super::Answer> {
    super::document(&base_url(service, wiki), arguments, now, |r| respond(store, service, wiki, r, now))
}

fn respond(store: &Store, service: &Service, wiki: &str, r: &Request, now: i64) -> anyhow::Result<Result<Spool, OaiError>> {
    let served = Served { store, service, wiki, site: store.wiki_site(wiki)?.unwrap_or_default() };
    let mut out = Spool::new();
    let known_format = |p: &str| formats().iter().any(|f| f.prefix == p);
    match r {
        Request::Identify => {
            let earliest = store.served_wiki_earliest(wiki)?.unwrap_or(now);
            let name = format!("{wiki} (a mirror of a wiki)");
            let origin = base_url(service, wiki);
            render::identify(&mut out, &render::Identity { name: &name, base_url: &origin, admin_emails: &service.admin_emails, earliest, origin: &origin });
        }
        Request::ListMetadataFormats { identifier } => {
            if let Some(id) = identifier {
                let found = page_id(service, wiki, id).map(|p| store.served_wiki_page(wiki, p)).transpose()?.flatten();
                if found.is_none() {
                    return Ok(Err(OaiError::new("idDoesNotExist", "no page has this identifier here")));
                }
            }
            render::formats(&mut out, &formats());
        }
        Request::ListSets { .. } => return Ok(Err(OaiError::new("noSetHierarchy", "a wiki is served without sets"))),
        Request::GetRecord { identifier, prefix } => {
            let Some(found) = page_id(service, wiki, identifier).map(|p| store.served_wiki_page(wiki, p)).transpose()?.flatten() else {
                return Ok(Err(OaiError::new("idDoesNotExist", "no page has this identifier here")));
            };
            if !known_format(prefix) {
                return Ok(Err(OaiError::new("cannotDisseminateFormat", format!("pages are served as mediawiki and oai_dc, not {prefix}"))));
            }
            out.extend_from_slice(b"<GetRecord>");
            push_page(&mut out, &served, &found, prefix, true)?;
            out.extend_from_slice(b"</GetRecord>\n");
        }
        Request::ListIdentifiers(list) | Request::ListRecords(list) => {
            let records = matches!(r, Request::ListRecords(_));
            let start = match ListStart::of(list) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            let selection = start.selection.clone();
            if !known_format(&selection.prefix) {
                return Ok(Err(OaiError::new("cannotDisseminateFormat", format!("pages are served as mediawiki and oai_dc, not {}", selection.prefix))));
            }
            if selection.set.is_some() {
                return Ok(Err(OaiError::new("noSetHierarchy", "a wiki is served without sets")));
            }
            let max_seq = match start.max_seq {
                Some(m) => m,
                None => store.last_stored_seq()?,
            };
            return super::list_page(
                &start,
                records,
                max_seq,
                || Ok(store.served_wiki_count(wiki, max_seq, selection.from, selection.until)?),
                |after, bound, n| {
                    let bound = match bound {
                        Some(b) => b,
                        None => store.last_stored_seq()?,
                    };
                    Ok(store.served_wiki_pages(wiki, after, bound, selection.from, selection.until, n)?)
                },
                |p| p.stored_seq,
                |out, p| push_page(out, &served, p, &selection.prefix, records),
            );
        }
    }
    Ok(Ok(out))
}

/// What every record of one answer shares.
struct Served<'a> {
    store: &'a Store,
    service: &'a Service,
    wiki: &'a str,
    /// What the wiki says of itself (empty where the store does not know).
    site: checkpoints::WikiSite,
}

fn push_page(out: &mut Spool, served: &Served<'_>, p: &ServedPage, prefix: &str, with_metadata: bool) -> anyhow::Result<()> {
    let (service, wiki) = (served.service, served.wiki);
    let id = identifier(service, wiki, p.page.pageid);
    // A page with no revision here cannot be served with content.
    let deleted = p.page.deleted || p.revision.is_none();
    let header = render::Header { identifier: &id, stored_at: p.stored_at, sets: &[], deleted };
    if !with_metadata {
        render::header(out, &header);
        out.push(b'\n');
        return Ok(());
    }
    out.extend_from_slice(b"<record>");
    render::header(out, &header);
    if !deleted && let Some(rev) = &p.revision {
        out.extend_from_slice(b"<metadata>");
        let metadata = if prefix == "mediawiki" {
            // As the OAI extension serves a page: its export, with the
            // wiki's <siteinfo> and the current revision. A large text is
            // read from the store and escaped a part at a time, into the
            // spool, which moves it on to disk as it grows.
            let mut doc = xml::header(&served.site, wiki);
            xml::page_open(&mut doc, &p.page);
            let bytes = p.large_text.map_or(rev.text.len() as u64, |(_, bytes)| bytes);
            xml::revision_open(&mut doc, &p.page, rev, bytes);
            match p.large_text {
                None => doc.push_str(&esc(&rev.text)),
                Some((rowid, _)) => {
                    out.extend_from_slice(doc.as_bytes());
                    doc.clear();
                    let mut escaper = Escaper::default();
                    served.store.read_text(rowid, TEXT_PART, |part| -> anyhow::Result<()> {
                        escaper.write(out, part);
                        out.spill();
                        Ok(())
                    })?;
                    escaper.finish(out);
                }
            }
            xml::revision_close(&mut doc, rev);
            xml::page_close(&mut doc);
            doc.push_str(xml::FOOTER);
            doc
        } else {
            format!(
                "<oai_dc:dc xmlns:oai_dc=\"http://www.openarchives.org/OAI/2.0/oai_dc/\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
                 xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
                 xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/oai_dc/ http://www.openarchives.org/OAI/2.0/oai_dc.xsd\">\
                 <dc:title>{}</dc:title><dc:creator>{}</dc:creator><dc:type>Text</dc:type><dc:format>text/x-wiki</dc:format>\
                 <dc:identifier>{}</dc:identifier><dc:date>{}</dc:date></oai_dc:dc>",
                esc(&p.page.title),
                esc(&rev.user),
                esc(&id),
                esc(&rev.timestamp)
            )
        };
        out.extend_from_slice(metadata.as_bytes());
        out.extend_from_slice(b"</metadata>");
    }
    out.extend_from_slice(b"</record>\n");
    Ok(())
}

/// A large text is read this much at a time.
const TEXT_PART: usize = 64 << 10;

/// Escapes text that arrives in parts cut anywhere: a character cut in two
/// waits for its other half.
#[derive(Default)]
struct Escaper {
    held: Vec<u8>,
}

impl Escaper {
    fn write(&mut self, out: &mut Vec<u8>, part: &[u8]) {
        self.held.extend_from_slice(part);
        let whole = match std::str::from_utf8(&self.held) {
            Ok(_) => self.held.len(),
            // Up to the last whole character; a byte that can never be
            // UTF-8 is written as U+FFFD by `finish`'s lossy rule.
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.held.len(),
        };
        let text = String::from_utf8_lossy(&self.held[..whole]);
        out.extend_from_slice(esc(&text).as_bytes());
        self.held.drain(..whole);
    }

    fn finish(self, out: &mut Vec<u8>) {
        out.extend_from_slice(esc(&String::from_utf8_lossy(&self.held)).as_bytes());
    }
}
