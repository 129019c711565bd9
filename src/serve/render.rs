//! OAI-PMH response documents, written as bytes. Pure: every function
//! appends to a buffer what the protocol's schema (OAI-PMH.xsd) asks for,
//! in its order.

use checkpoints::{OriginFormat, OriginSet};
use chrono::{DateTime, Utc};

use super::request::OaiError;
use crate::util::xml_escape as esc;

/// The protocol's datestamp form at seconds granularity.
pub fn datestamp(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0).unwrap_or_default().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// What goes around every answer.
pub struct Envelope<'a> {
    pub response_date: i64,
    /// This repository's base URL, as the `<request>` element holds it.
    pub base_url: &'a str,
    /// The verb and arguments to echo; `None` after badVerb or badArgument.
    pub echo: Option<(&'a str, &'a [(String, String)])>,
}

const START: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<OAI-PMH xmlns=\"http://www.openarchives.org/OAI/2.0/\" \
xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd\">\n";

/// A whole document: the envelope, then what `body` writes.
/// The document's start, up to its body; [`TAIL`] ends it.
pub fn head(env: &Envelope<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(START.as_bytes());
    push(&mut out, &format!("<responseDate>{}</responseDate>\n<request", datestamp(env.response_date)));
    if let Some((verb, arguments)) = env.echo {
        push(&mut out, &format!(" verb=\"{verb}\""));
        for (k, v) in arguments.iter().filter(|(k, _)| k != "verb") {
            push(&mut out, &format!(" {k}=\"{}\"", esc(v)));
        }
    }
    push(&mut out, &format!(">{}</request>\n", esc(env.base_url)));
    out
}

/// The document's end, after its body.
pub const TAIL: &[u8] = b"</OAI-PMH>\n";

fn push(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(text.as_bytes());
}

pub fn error(out: &mut Vec<u8>, e: &OaiError) {
    push(out, &format!("<error code=\"{}\">{}</error>\n", e.code, esc(&e.message)));
}

/// What Identify says.
pub struct Identity<'a> {
    pub name: &'a str,
    pub base_url: &'a str,
    pub admin_emails: &'a [String],
    pub earliest: i64,
    pub origin: &'a str,
}

pub fn identify(out: &mut Vec<u8>, id: &Identity<'_>) {
    push(
        out,
        &format!("<Identify><repositoryName>{}</repositoryName><baseURL>{}</baseURL><protocolVersion>2.0</protocolVersion>", esc(id.name), esc(id.base_url)),
    );
    for email in id.admin_emails {
        push(out, &format!("<adminEmail>{}</adminEmail>", esc(email)));
    }
    push(
        out,
        &format!(
            "<earliestDatestamp>{}</earliestDatestamp><deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity>\
             <compression>gzip</compression><compression>deflate</compression>",
            datestamp(id.earliest)
        ),
    );
    push(
        out,
        &format!(
            "<description><friends xmlns=\"http://www.openarchives.org/OAI/2.0/friends/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xsi:schemaLocation=\"http://www.openarchives.org/OAI/2.0/friends/ http://www.openarchives.org/OAI/2.0/friends.xsd\"><baseURL>{}</baseURL></friends></description>",
            esc(id.origin)
        ),
    );
    push(out, "</Identify>\n");
}

pub fn formats(out: &mut Vec<u8>, formats: &[OriginFormat]) {
    push(out, "<ListMetadataFormats>");
    for f in formats {
        push(
            out,
            &format!(
                "<metadataFormat><metadataPrefix>{}</metadataPrefix><schema>{}</schema><metadataNamespace>{}</metadataNamespace></metadataFormat>",
                esc(&f.prefix),
                esc(&f.schema),
                esc(&f.namespace)
            ),
        );
    }
    push(out, "</ListMetadataFormats>\n");
}

pub fn sets(out: &mut Vec<u8>, sets: &[OriginSet]) {
    push(out, "<ListSets>");
    for s in sets {
        push(out, &format!("<set><setSpec>{}</setSpec><setName>{}</setName></set>", esc(&s.spec), esc(&s.name)));
    }
    push(out, "</ListSets>\n");
}

/// A record's header as served.
pub struct Header<'a> {
    pub identifier: &'a str,
    pub stored_at: i64,
    pub sets: &'a [String],
    pub deleted: bool,
}

pub fn header(out: &mut Vec<u8>, h: &Header<'_>) {
    push(out, if h.deleted { "<header status=\"deleted\">" } else { "<header>" });
    push(out, &format!("<identifier>{}</identifier><datestamp>{}</datestamp>", esc(h.identifier), datestamp(h.stored_at)));
    for s in h.sets {
        push(out, &format!("<setSpec>{}</setSpec>", esc(s)));
    }
    push(out, "</header>");
}

/// Where a record came from: the OAI-PMH provenance container's
/// `originDescription` (guidelines for provenance).
pub struct Origin<'a> {
    pub base_url: &'a str,
    pub identifier: &'a str,
    pub datestamp: &'a str,
    pub namespace: &'a str,
    /// When this store harvested the version.
    pub harvested_at: i64,
    /// The origin's own provenance container, when the origin is a mirror:
    /// its `originDescription` goes inside this one.
    pub nested: Option<&'a [u8]>,
}

/// The content of a stored provenance container (`<provenance …>CONTENT
/// </provenance>`, unprefixed, as the harvest keeps them).
fn provenance_content(container: &[u8]) -> Option<&[u8]> {
    let start = container.iter().position(|b| *b == b'>')? + 1;
    let end = container.len().checked_sub(b"</provenance>".len())?;
    (container.ends_with(b"</provenance>") && start <= end && container[..start].ends_with(b">") && container[start - 2] != b'/')
        .then(|| &container[start..end])
}

pub const PROVENANCE_NS: &str = "http://www.openarchives.org/OAI/2.0/provenance";

/// A record: header, metadata as stored (byte for byte), provenance.
/// Metadata that is not one well-formed element (as a broken origin sent
/// it) is left out, the header and provenance kept, so the answer stays
/// well-formed: returns true then.
pub fn record(out: &mut Vec<u8>, h: &Header<'_>, metadata: Option<&[u8]>, origin: &Origin<'_>) -> bool {
    push(out, "<record>");
    header(out, h);
    let mut left_out = false;
    match metadata.filter(|_| !h.deleted) {
        Some(m) if crate::util::well_formed_element(m) => {
            push(out, "<metadata>");
            out.extend_from_slice(m);
            push(out, "</metadata>");
        }
        Some(_) => left_out = true,
        None => {}
    }
    push(
        out,
        &format!(
            "<about><provenance xmlns=\"{PROVENANCE_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
             xsi:schemaLocation=\"{PROVENANCE_NS} http://www.openarchives.org/OAI/2.0/provenance.xsd\">\
             <originDescription harvestDate=\"{}\" altered=\"false\"><baseURL>{}</baseURL><identifier>{}</identifier><datestamp>{}</datestamp>\
             <metadataNamespace>{}</metadataNamespace>",
            datestamp(origin.harvested_at),
            esc(origin.base_url),
            esc(origin.identifier),
            esc(origin.datestamp),
            esc(origin.namespace)
        ),
    );
    if let Some(inner) = origin.nested.and_then(provenance_content) {
        out.extend_from_slice(inner.trim_ascii());
    }
    push(out, "</originDescription></provenance></about></record>\n");
    left_out
}

/// The resumptionToken element: a token for the next page, or the empty
/// one that ends a list; with the list's size and this page's cursor.
pub fn token(out: &mut Vec<u8>, next: Option<&str>, complete_list_size: u64, cursor: u64) {
    push(out, &format!("<resumptionToken completeListSize=\"{complete_list_size}\" cursor=\"{cursor}\">{}</resumptionToken>\n", next.unwrap_or("")));
}

#[cfg(test)]
mod tests;
