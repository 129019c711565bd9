//! MediaWiki's export XML (0.11) as Special:Export writes it, page by page,
//! and read back page by page from a stream. Pure but for the `Read` the
//! reader is given.

use std::io::BufRead;

use checkpoints::{RevisionRow, StoredPage, WikiSite};

use crate::mirror::export::{self, ExportPage, NAMESPACE, SCHEMA};

/// The document's start, up to the first page, with what the wiki says of
/// itself: its name, database name, main page, software, case rule and
/// namespaces, as its own Special:Export writes them (importDump.php then
/// maps each title's namespace by the foreign namespace's id, or its
/// name for one the importing wiki lacks). A wiki the store knows nothing
/// of gets its config name and the first-letter rule.
pub fn header(site: &WikiSite, wiki: &str) -> String {
    let mut out = format!(
        "<mediawiki xmlns=\"{NAMESPACE}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"{NAMESPACE} {SCHEMA}\" version=\"0.11\" xml:lang=\"en\">\n"
    );
    siteinfo(&mut out, site, wiki);
    out
}

/// A `<siteinfo>` element, in the schema's order.
pub fn siteinfo(out: &mut String, site: &WikiSite, wiki: &str) {
    let sitename = if site.sitename.is_empty() { wiki } else { &site.sitename };
    out.push_str(&format!("  <siteinfo>\n    <sitename>{}</sitename>\n", text(sitename)));
    if !site.dbname.is_empty() {
        out.push_str(&format!("    <dbname>{}</dbname>\n", text(&site.dbname)));
    }
    if !site.base.is_empty() {
        out.push_str(&format!("    <base>{}</base>\n", text(&site.base)));
    }
    let generator = if site.generator.is_empty() { format!("oai-mirror {}", env!("CARGO_PKG_VERSION")) } else { site.generator.clone() };
    let case = if site.case.is_empty() { "first-letter" } else { &site.case };
    out.push_str(&format!("    <generator>{}</generator>\n    <case>{}</case>\n", text(&generator), text(case)));
    if !site.namespaces.is_empty() {
        out.push_str("    <namespaces>\n");
        for ns in &site.namespaces {
            let case = if ns.case.is_empty() { case } else { &ns.case };
            match ns.name.is_empty() {
                true => out.push_str(&format!("      <namespace key=\"{}\" case=\"{}\" />\n", ns.id, text(case))),
                false => out.push_str(&format!("      <namespace key=\"{}\" case=\"{}\">{}</namespace>\n", ns.id, text(case), text(&ns.name))),
            }
        }
        out.push_str("    </namespaces>\n");
    }
    out.push_str("  </siteinfo>\n");
}

pub const FOOTER: &str = "</mediawiki>\n";

/// One page and the given revisions, oldest first, appended to `out`.
pub fn page(out: &mut String, page: &StoredPage, revisions: &[RevisionRow]) {
    page_open(out, page);
    self::revisions(out, page, revisions);
    page_close(out);
}

/// The given revisions of a page, oldest first, appended to `out`.
pub fn revisions(out: &mut String, page: &StoredPage, revisions: &[RevisionRow]) {
    for r in revisions {
        revision_open(out, page, r, r.text.len() as u64);
        out.push_str(&text(&r.text));
        revision_close(out, r);
    }
}

/// A page's start: its title, namespace, id and redirect.
pub fn page_open(out: &mut String, page: &StoredPage) {
    out.push_str(&format!("  <page>\n    <title>{}</title>\n    <ns>{}</ns>\n    <id>{}</id>\n", text(&page.title), page.ns, page.pageid));
    if let Some(target) = &page.redirect {
        out.push_str(&format!("    <redirect title=\"{}\" />\n", text(target)));
    }
}

pub fn page_close(out: &mut String) {
    out.push_str("  </page>\n");
}

/// A revision up to its text's start tag, the text being `bytes` long:
/// its escaped text follows, then [`revision_close`] (a large text is
/// written a part at a time in between).
pub fn revision_open(out: &mut String, page: &StoredPage, r: &RevisionRow, bytes: u64) {
    let (model, format) = content_model(page.ns, &page.title);
    out.push_str(&format!("    <revision>\n      <id>{}</id>\n", r.revid));
    if r.parentid != 0 {
        out.push_str(&format!("      <parentid>{}</parentid>\n", r.parentid));
    }
    out.push_str(&format!("      <timestamp>{}</timestamp>\n", text(&r.timestamp)));
    // As MediaWiki's own export: an IP when the editor had no account, and
    // no name where the wiki hides it.
    if r.user.is_empty() {
        out.push_str("      <contributor deleted=\"deleted\" />\n");
    } else if r.user_id.unwrap_or(0) == 0 && r.user.parse::<std::net::IpAddr>().is_ok() {
        out.push_str(&format!("      <contributor>\n        <ip>{}</ip>\n      </contributor>\n", text(&r.user)));
    } else {
        out.push_str(&format!("      <contributor>\n        <username>{}</username>\n", text(&r.user)));
        if let Some(id) = r.user_id {
            out.push_str(&format!("        <id>{id}</id>\n"));
        }
        out.push_str("      </contributor>\n");
    }
    if r.minor {
        out.push_str("      <minor/>\n");
    }
    if !r.comment.is_empty() {
        out.push_str(&format!("      <comment>{}</comment>\n", text(&r.comment)));
    }
    let sha1 = base36_sha1(&r.sha1);
    out.push_str(&format!(
        "      <origin>{}</origin>\n      <model>{model}</model>\n      <format>{format}</format>\n      \
         <text bytes=\"{bytes}\" sha1=\"{sha1}\" xml:space=\"preserve\">",
        r.revid
    ));
}

/// A revision's end, after its text.
pub fn revision_close(out: &mut String, r: &RevisionRow) {
    out.push_str(&format!("</text>\n      <sha1>{}</sha1>\n    </revision>\n", base36_sha1(&r.sha1)));
}

/// Escapes text for XML, by the one rule (`util::xml_escape`).
fn text(s: &str) -> std::borrow::Cow<'_, str> {
    crate::util::xml_escape(s)
}

/// MediaWiki's default content model of a title, and its format: CSS,
/// JavaScript and JSON pages in the MediaWiki namespace and users' subpages
/// by their ending, wikitext otherwise. (The mirror does not store a
/// page's model; a page whose model was changed by hand is written with
/// its default.)
pub fn content_model(ns: i64, title: &str) -> (&'static str, &'static str) {
    let code_page = ns == 8 || (ns == 2 && title.contains('/'));
    match title.rsplit_once('.').map(|(_, ext)| ext) {
        Some("css") if code_page => ("css", "text/css"),
        Some("js") if code_page => ("javascript", "text/javascript"),
        Some("json") if code_page => ("json", "application/json"),
        _ => ("wikitext", "text/x-wiki"),
    }
}

/// A SHA-1 given in hex as MediaWiki writes it in exports: base 36, 31
/// digits with leading zeros. Anything not 40 hex digits gives "".
pub fn base36_sha1(hex: &str) -> String {
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return String::new();
    }
    // Big-endian 160-bit number in five 32-bit limbs, divided by 36 until zero.
    let mut limbs: Vec<u64> = (0..5).map(|i| u64::from_str_radix(&hex[i * 8..i * 8 + 8], 16).expect("checked hex")).collect();
    let mut digits = Vec::with_capacity(31);
    while limbs.iter().any(|&l| l != 0) {
        let mut rem = 0u64;
        for l in limbs.iter_mut() {
            let cur = (rem << 32) | *l;
            *l = cur / 36;
            rem = cur % 36;
        }
        digits.push(char::from_digit(rem as u32, 36).expect("below 36"));
    }
    while digits.len() < 31 {
        digits.push('0');
    }
    digits.iter().rev().collect()
}

/// Reads the pages of an export document from a stream, one at a time: a
/// page's bytes are collected up to its `</page>` (which cannot occur in
/// escaped text) and parsed alone, so memory holds one page. A page of
/// many revisions comes in parts of about `part` bytes, each ending after a
/// revision, with the page's head (title, id) again: memory then holds one
/// part ([`PageReader::continues`] tells a part after the first).
pub struct PageReader<R> {
    input: R,
    buf: Vec<u8>,
    /// The most bytes one revision (with its page's head) may take.
    max_page: usize,
    /// A page larger than this comes in parts.
    part: usize,
    offset: u64,
    /// The document's `<siteinfo>`, once read.
    site: Option<WikiSite>,
    /// The head of a page whose first part was given (up to its first
    /// `<revision`), for the parts after it.
    head: Option<String>,
    continues: bool,
}

/// Where a part of a page may end: after a revision.
const REVISION_END: &[u8] = b"</revision>";

impl<R: BufRead> PageReader<R> {
    pub fn new(input: R, max_page: usize) -> PageReader<R> {
        PageReader { input, buf: Vec::new(), max_page, part: PART, offset: 0, site: None, head: None, continues: false }
    }

    /// As [`PageReader::new`], with parts of `part` bytes.
    pub fn with_parts(input: R, max_page: usize, part: usize) -> PageReader<R> {
        PageReader { part, ..PageReader::new(input, max_page) }
    }

    /// What the document's `<siteinfo>` said, once the first page is read.
    pub fn site(&self) -> Option<&WikiSite> {
        self.site.as_ref()
    }

    /// Whether the page last given is a later part of the one before it
    /// (more of its revisions).
    pub fn continues(&self) -> bool {
        self.continues
    }

    pub fn into_inner(self) -> R {
        self.input
    }

    /// The next page, or part of a page; `None` after the last (once
    /// `</mediawiki>` is read).
    pub fn next_page(&mut self) -> Result<Option<ExportPage>, String> {
        self.buf.clear();
        let whole = loop {
            let room = (self.max_page - self.buf.len().min(self.max_page)) as u64 + 1;
            let n = <&mut R as std::io::Read>::take(&mut self.input, room)
                .read_until(b'>', &mut self.buf)
                .map_err(|e| format!("reading the XML at byte {}: {e}", self.offset + self.buf.len() as u64))?;
            if self.buf.ends_with(b"</page>") {
                break true;
            }
            if self.buf.len() >= self.part && self.buf.ends_with(REVISION_END) {
                break false;
            }
            if self.buf.len() > self.max_page {
                return Err(format!("a revision at byte {} is larger than {} MiB", self.offset, self.max_page >> 20));
            }
            if n == 0 {
                let rest = String::from_utf8_lossy(&self.buf);
                if self.head.is_none() && rest.trim_end().ends_with("</mediawiki>") && !rest.contains("<page") {
                    return Ok(None);
                }
                return Err(format!("the XML ends at byte {} inside a page or without </mediawiki>", self.offset + self.buf.len() as u64));
            }
        };
        let at = self.offset;
        self.offset += self.buf.len() as u64;
        let chunk = std::str::from_utf8(&self.buf).map_err(|e| format!("the page at byte {at} is not UTF-8: {e}"))?;
        self.continues = self.head.is_some();
        let text = match self.head.take() {
            // A later part: the page's head again, then its revisions.
            Some(head) => {
                if !whole {
                    self.head = Some(head.clone());
                }
                let tail = if whole { "" } else { "</page>" };
                format!("{head}{chunk}{tail}")
            }
            None => {
                // The chunk holds the page, and before the first one the
                // document's start, whose elements the parser passes over.
                let start = chunk.rfind("<page>").or_else(|| chunk.rfind("<page ")).ok_or_else(|| format!("no <page> before byte {}", self.offset))?;
                if at == 0 {
                    self.site = export::parse_siteinfo(&chunk[..start]).map_err(|e| format!("the <siteinfo>: {e}"))?;
                }
                let page = &chunk[start..];
                if whole {
                    page.to_string()
                } else {
                    let head_end = page.find("<revision").ok_or_else(|| format!("the page at byte {} has no revision where it is cut", at + start as u64))?;
                    self.head = Some(page[..head_end].to_string());
                    format!("{page}</page>")
                }
            }
        };
        let mut pages = export::parse(&text).map_err(|e| format!("the page at byte {at}: {e}"))?;
        match (pages.pop(), pages.is_empty()) {
            (Some(p), true) => Ok(Some(p)),
            _ => Err(format!("the page at byte {at} is not one <page> element")),
        }
    }
}

/// A page larger than this is read in parts.
pub const PART: usize = 4 << 20;

#[cfg(test)]
mod tests;
