//! Pure parsing of OAI-PMH responses, one function per verb.
//!
//! Each function takes a body that has already been through
//! [`crate::repair`] (so it is valid UTF-8) and walks it with quick-xml's
//! event reader: no DOM of the whole response is built. Record metadata is
//! not parsed at all: its bytes are sliced out of the body as received,
//! found by searching for `</metadata>` (tag by tag only when a comment,
//! CDATA or a nested `<metadata>` could mislead the search). So a fragment
//! that is not well-formed inside is kept as received, not refused with
//! the good records of its page; the structure around it is checked.
//!
//! Tolerated, because real repositories do it: element prefixes
//! (`<oai:OAI-PMH>`), stylesheet processing instructions, no XML
//! declaration, a byte-order mark, namespaces declared on any ancestor,
//! garbage after the closing root tag (PHP notices), error elements under
//! any HTTP status. Refused: a body whose root is not `OAI-PMH` (an HTML
//! page), and a document that breaks off (reported as truncated).

use std::io::BufRead as _;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::{Error, ErrorCode, OaiError, Origin, Result};
use crate::model::{DeletedRecord, Header, Identify, MetadataFormat, Page, Record, ResumptionToken, Set, Verb};

const OAI_NS: &str = "http://www.openarchives.org/OAI/2.0/";

/// What every response carries besides its verb's payload.
struct Envelope {
    response_date: String,
    errors: Vec<OaiError>,
    /// Whether the verb's own element (`<ListRecords>` …) was present.
    saw_verb: bool,
}

/// Parses an `Identify` response.
pub fn identify(body: &str, origin: &Origin, status: u16) -> Result<Identify> {
    let mut out = Identify::default();
    let env = walk(body, origin, status, Verb::Identify, |cur| {
        while let Some(child) = cur.next_child()? {
            match child.as_str() {
                "repositoryName" => out.repository_name = cur.text()?,
                "baseURL" => out.base_url = cur.text()?,
                "protocolVersion" => out.protocol_version = cur.text()?,
                "adminEmail" => out.admin_emails.push(cur.text()?),
                "earliestDatestamp" => out.earliest_datestamp = cur.text()?,
                "deletedRecord" => out.deleted_record = DeletedRecord::parse(&cur.text()?),
                "granularity" => out.granularity_text = cur.text()?,
                "compression" => out.compression.push(cur.text()?),
                _ => cur.skip()?,
            }
        }
        Ok(())
    })?;
    out.response_date = env.into_result(origin, body, false)?;
    Ok(out)
}

/// Parses a `ListRecords` page.
pub fn list_records(body: &str, origin: &Origin, status: u16) -> Result<Page<Record>> {
    list(body, origin, status, Verb::ListRecords, "record", |cur, start| Ok(cur.record(start)?.checked()))
}

/// Parses a `ListIdentifiers` page.
pub fn list_identifiers(body: &str, origin: &Origin, status: u16) -> Result<Page<Header>> {
    list(body, origin, status, Verb::ListIdentifiers, "header", |cur, start| {
        let header = cur.header(start)?;
        Ok(header.problem().map_or(Ok(header), Err))
    })
}

/// Parses a `ListSets` page.
pub fn list_sets(body: &str, origin: &Origin, status: u16) -> Result<Page<Set>> {
    list(body, origin, status, Verb::ListSets, "set", |cur, _| {
        let mut set = Set { spec: String::new(), name: String::new() };
        while let Some(child) = cur.next_child()? {
            match child.as_str() {
                "setSpec" => set.spec = cur.text()?,
                "setName" => set.name = cur.text()?,
                _ => cur.skip()?,
            }
        }
        Ok(Ok(set))
    })
}

/// Parses a `ListMetadataFormats` response (it has no resumptionToken).
pub fn list_metadata_formats(body: &str, origin: &Origin, status: u16) -> Result<Vec<MetadataFormat>> {
    list(body, origin, status, Verb::ListMetadataFormats, "metadataFormat", |cur, _| {
        let mut f = MetadataFormat { prefix: String::new(), schema: String::new(), namespace: String::new() };
        while let Some(child) = cur.next_child()? {
            match child.as_str() {
                "metadataPrefix" => f.prefix = cur.text()?,
                "schema" => f.schema = cur.text()?,
                "metadataNamespace" => f.namespace = cur.text()?,
                _ => cur.skip()?,
            }
        }
        Ok(Ok(f))
    })
    .map(|page| page.items)
}

/// Parses a `GetRecord` response.
pub fn get_record(body: &str, origin: &Origin, status: u16) -> Result<Record> {
    let page = list(body, origin, status, Verb::GetRecord, "record", |cur, start| Ok(cur.record(start)?.checked()))?;
    let why = page.skipped.first().cloned().unwrap_or_else(|| "GetRecord response without a record".into());
    page.items.into_iter().next().ok_or_else(|| Error::Malformed { origin: origin.clone(), offset: 0, detail: why, truncated: false })
}

/// The resumptionToken of a list response, read from the end of the body
/// without parsing what comes before: the body must end with
/// `<resumptionToken …>VALUE</resumptionToken>`, the end tag of a list
/// verb and the root's end tag, with only white space between them.
/// Anything else gives `None`: no token or an empty one (the last page),
/// an error response, a body that breaks off or has something after its
/// root. VALUE is unescaped and trimmed as the parser does it.
///
/// This is a guess for asking for the next page early; the token of the
/// parsed page is the one that counts.
pub fn peek_token(body: &[u8]) -> Option<String> {
    let rest = end_tag(body, &["OAI-PMH"])?;
    let rest = end_tag(rest, &["ListRecords", "ListIdentifiers", "ListSets"])?;
    let rest = end_tag(rest, &["resumptionToken"])?;
    // The start tag is the last `<`: a value holding markup (CDATA, a
    // comment) leaves something else there, and is left to the parser.
    let open = rest.iter().rposition(|&b| b == b'<')?;
    let tag = std::str::from_utf8(&rest[open + 1..]).ok()?;
    let (start, value) = tag.split_once('>')?;
    let name = start.split(|c: char| c.is_ascii_whitespace()).next()?;
    if name.rsplit_once(':').map_or(name, |(_, l)| l) != "resumptionToken" || start.ends_with('/') {
        return None;
    }
    let value = quick_xml::escape::unescape(value).ok()?;
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_string())
}

/// If `body`, less trailing white space, ends with the end tag of one of
/// `names` (any prefix), what comes before that tag.
fn end_tag<'b>(body: &'b [u8], names: &[&str]) -> Option<&'b [u8]> {
    let body = body.trim_ascii_end().strip_suffix(b">")?;
    let open = body.windows(2).rposition(|w| w == b"</")?;
    let name = std::str::from_utf8(&body[open + 2..]).ok()?.trim_end();
    let local = name.rsplit_once(':').map_or(name, |(_, l)| l);
    names.contains(&local).then_some(&body[..open])
}

/// The shape all list verbs share: a verb element holding items and,
/// perhaps, a resumptionToken. `parse_item` reads one item whole; an
/// item it gives back as `Err(why)` is well-formed but unusable, and is
/// left out with its reason instead of failing the page.
fn list<T>(
    body: &str,
    origin: &Origin,
    status: u16,
    verb: Verb,
    item: &str,
    mut parse_item: impl FnMut(&mut Cursor<'_>, &BytesStart<'_>) -> Result<std::result::Result<T, String>>,
) -> Result<Page<T>> {
    let mut page = Page { response_date: String::new(), items: Vec::new(), token: None, skipped: Vec::new() };
    let env = walk(body, origin, status, verb, |cur| {
        while let Some(start) = cur.next_child_start()? {
            let name = local(&start);
            if name == item {
                match parse_item(cur, &start)? {
                    Ok(parsed) => page.items.push(parsed),
                    Err(why) => page.skipped.push(format!("{item} {} of the page: {why}", page.items.len() + page.skipped.len() + 1)),
                }
            } else if name == "resumptionToken" {
                page.token = Some(cur.token(&start)?);
            } else {
                cur.skip()?;
            }
        }
        Ok(())
    })?;
    // noRecordsMatch is an empty list, not a failure (Zenodo sends it with 422).
    let empty_ok = !matches!(verb, Verb::Identify | Verb::GetRecord);
    page.response_date = env.into_result(origin, body, empty_ok)?;
    Ok(page)
}

impl Envelope {
    /// Turns error elements into an error, except a lone `noRecordsMatch`
    /// where an empty list is acceptable. Returns the responseDate.
    fn into_result(self, origin: &Origin, body: &str, empty_ok: bool) -> Result<String> {
        if !self.errors.is_empty() {
            let only_no_match = self.errors.iter().all(|e| e.code == ErrorCode::NoRecordsMatch);
            if !(empty_ok && only_no_match) {
                return Err(Error::Oai { origin: origin.clone(), errors: self.errors });
            }
        } else if !self.saw_verb {
            return Err(Error::Malformed {
                origin: origin.clone(),
                offset: 0,
                detail: format!("neither an error nor a <{}> element in {:?}", origin.verb, snippet(body)),
                truncated: false,
            });
        }
        Ok(self.response_date)
    }
}

/// Walks the envelope: checks the root, reads `responseDate` and `error`
/// elements, and hands the verb element's content to `on_verb`.
fn walk(body: &str, origin: &Origin, status: u16, verb: Verb, mut on_verb: impl FnMut(&mut Cursor<'_>) -> Result<()>) -> Result<Envelope> {
    let body = body.strip_prefix('\u{FEFF}').unwrap_or(body);
    let mut cur = Cursor::new(body, origin);
    let not_oai = || Error::NotOaiPmh { origin: origin.clone(), status, snippet: snippet(body) };

    // The root: anything before it that is not markup we tolerate means
    // this is not an OAI-PMH document.
    loop {
        match cur.reader.read_event() {
            Ok(Event::Start(e)) => {
                // Prefix-tolerant (`<oai:OAI-PMH>`); a namespace other than
                // OAI-PMH's on the root means another kind of document.
                let name = e.name().0;
                let declaration = match name.split_once(':') {
                    Some((prefix, _)) => format!("xmlns:{prefix}"),
                    None => "xmlns".to_string(),
                };
                let ns_ok = attr_exact(&e, &declaration).is_none_or(|ns| ns == OAI_NS);
                if local(&e) == "OAI-PMH" && ns_ok {
                    cur.note_bindings(&e);
                    break;
                }
                return Err(not_oai());
            }
            Ok(Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_)) => {}
            Ok(Event::Text(t)) if t.trim().is_empty() => {}
            Ok(_) | Err(_) => return Err(not_oai()),
        }
    }
    let mut env = Envelope { response_date: String::new(), errors: Vec::new(), saw_verb: false };
    while let Some(start) = cur.next_child_start()? {
        let name = local(&start);
        match name {
            "responseDate" => env.response_date = cur.text()?,
            "error" => {
                let code = attr(&start, "code").unwrap_or_default();
                let message = cur.text()?;
                env.errors.push(OaiError { code: ErrorCode::parse(&code), message });
            }
            n if n == verb.as_str() => {
                env.saw_verb = true;
                cur.note_bindings(&start);
                on_verb(&mut cur)?;
            }
            _ => cur.skip()?,
        }
    }
    Ok(env)
}

/// A reader positioned inside an element, with the few moves the parser needs.
struct Cursor<'a> {
    reader: Reader<&'a [u8]>,
    body: &'a str,
    origin: &'a Origin,
    /// Prefixed namespace declarations of the elements around the one
    /// being read, outermost first. A plain reader and this short list are
    /// cheaper than resolving every tag, and metadata needs nothing more.
    outer: Vec<Binding>,
    /// The end tag searched for by [`content_len`], kept from record to
    /// record: building a searcher costs more than most searches.
    end_tag: Option<EndTag>,
}

/// `</qname` and a searcher for it.
struct EndTag {
    qname: String,
    finder: memchr::memmem::Finder<'static>,
}

impl EndTag {
    fn new(qname: &str) -> EndTag {
        EndTag { qname: qname.to_string(), finder: memchr::memmem::Finder::new(&format!("</{qname}")).into_owned() }
    }
}

/// An `xmlns:prefix="namespace"` declaration, with the patterns used to
/// look for the prefix in a metadata fragment.
struct Binding {
    prefix: String,
    /// `prefix:`
    usage: String,
    /// `xmlns:prefix=`
    declaration: String,
    /// ` xmlns:prefix="namespace"`, escaped, as [`declare`] inserts it.
    attribute: String,
}

impl<'a> Cursor<'a> {
    fn new(body: &'a str, origin: &'a Origin) -> Self {
        let mut reader = Reader::from_str(body);
        let config = reader.config_mut();
        // Text is concatenated from Text and GeneralRef events, so trimming
        // each piece would eat the spaces around `&amp;`.
        config.trim_text(false);
        config.allow_dangling_amp = true;
        // `<x/>` arrives as a start and an end, so every caller sees one shape.
        config.expand_empty_elements = true;
        Cursor { reader, body, origin, outer: Vec::new(), end_tag: None }
    }

    /// Remembers the `xmlns:p` declarations of a start tag.
    fn note_bindings(&mut self, e: &BytesStart<'_>) {
        for a in e.attributes().with_checks(false).flatten() {
            if let Some(prefix) = a.key.0.strip_prefix("xmlns:") {
                let namespace = a.normalized_value(XmlVersion::Implicit1_0).map(|v| v.into_owned()).unwrap_or_default();
                let escaped = namespace.replace('&', "&amp;").replace('"', "&quot;");
                self.outer.push(Binding {
                    prefix: prefix.to_string(),
                    usage: format!("{prefix}:"),
                    declaration: format!("xmlns:{prefix}="),
                    attribute: format!(" xmlns:{prefix}=\"{escaped}\""),
                });
            }
        }
    }

    fn malformed(&self, detail: impl Into<String>, truncated: bool) -> Error {
        Error::Malformed { origin: self.origin.clone(), offset: self.reader.buffer_position(), detail: detail.into(), truncated }
    }

    fn xml_error(&self, e: quick_xml::Error) -> Error {
        // A document that stops inside markup or an open element reaches the
        // end of the input before the error: that is a truncated body.
        let truncated = self.reader.buffer_position() as usize >= self.body.len();
        self.malformed(e.to_string(), truncated)
    }

    fn event(&mut self) -> Result<Event<'a>> {
        match self.reader.read_event() {
            Ok(Event::Eof) => Err(self.malformed("the document ends before its elements are closed", true)),
            Ok(e) => Ok(e),
            Err(e) => Err(self.xml_error(e)),
        }
    }

    /// The next child element's start tag, or `None` at the parent's end.
    fn next_child_start(&mut self) -> Result<Option<BytesStart<'a>>> {
        loop {
            match self.event()? {
                Event::Start(e) => return Ok(Some(e)),
                Event::End(_) => return Ok(None),
                _ => {}
            }
        }
    }

    /// Like [`Cursor::next_child_start`], giving only the local name.
    fn next_child(&mut self) -> Result<Option<String>> {
        Ok(self.next_child_start()?.map(|e| local(&e).to_string()))
    }

    /// After a start tag: the element's text content, entity and character
    /// references resolved, nested markup dropped, outer white space trimmed.
    fn text(&mut self) -> Result<String> {
        let mut out = String::new();
        let mut depth = 0u32;
        loop {
            match self.event()? {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => break,
                Event::End(_) => depth -= 1,
                Event::Text(t) => out.push_str(&t),
                Event::CData(t) => out.push_str(&t),
                Event::GeneralRef(r) => push_reference(&mut out, &r),
                _ => {}
            }
        }
        let trimmed = out.trim();
        Ok(if trimmed.len() == out.len() { out } else { trimmed.to_string() })
    }

    /// After a start tag: skips to the matching end tag.
    fn skip(&mut self) -> Result<()> {
        let mut depth = 0u32;
        loop {
            match self.event()? {
                Event::Start(_) => depth += 1,
                Event::End(_) if depth == 0 => return Ok(()),
                Event::End(_) => depth -= 1,
                _ => {}
            }
        }
    }

    fn header(&mut self, start: &BytesStart<'_>) -> Result<Header> {
        let mut h = Header { deleted: attr(start, "status").is_some_and(|s| s.trim() == "deleted"), ..Header::default() };
        while let Some(child) = self.next_child_start()? {
            match local(&child) {
                "identifier" => h.identifier = self.text()?,
                "datestamp" => h.datestamp = self.text()?,
                "setSpec" => h.sets.push(self.text()?),
                _ => self.skip()?,
            }
        }
        Ok(h)
    }

    fn record(&mut self, start: &BytesStart<'_>) -> Result<Record> {
        // Declarations on <record> hold only inside it.
        let depth = self.outer.len();
        self.note_bindings(start);
        let rec = self.record_content();
        self.outer.truncate(depth);
        rec
    }

    fn record_content(&mut self) -> Result<Record> {
        let mut rec = Record::default();
        let mut saw_header = false;
        while let Some(start) = self.next_child_start()? {
            match local(&start) {
                "header" => {
                    rec.header = self.header(&start)?;
                    saw_header = true;
                }
                "metadata" => rec.metadata = Some(self.metadata(&start)?),
                // Kept like metadata: a provenance container is what a
                // mirror of a mirror nests in its own.
                "about" => rec.about.push(self.metadata(&start)?),
                _ => self.skip()?,
            }
        }
        if !saw_header {
            return Err(self.malformed("a record without a header", false));
        }
        Ok(rec)
    }

    /// The bytes inside `<metadata>` (or `<about>`), as received, with surrounding white
    /// space trimmed. Prefixes that the fragment uses but an ancestor
    /// declared (Zenodo's `xsi:`, BnF's `dc:`) are declared again on its root
    /// element, so that the stored fragment is a well-formed document alone.
    fn metadata(&mut self, start: &BytesStart<'_>) -> Result<Vec<u8>> {
        let depth = self.outer.len();
        self.note_bindings(start);
        let from = self.reader.buffer_position() as usize;
        let qname = start.name().0;
        let end_tag = match self.end_tag.take() {
            Some(cached) if cached.qname == qname => cached,
            _ => EndTag::new(qname),
        };
        let len = content_len(&self.body[from..], &end_tag);
        self.end_tag = Some(end_tag);
        let span = match len {
            // Step over the content in one move; quick-xml then reads the
            // end tag and checks that it closes this element.
            Some(len) => {
                self.reader.stream().consume(len);
                match self.event()? {
                    Event::End(_) => from..from + len,
                    _ => return Err(self.malformed("the end of <metadata> was not where it was found", false)),
                }
            }
            None => match self.reader.read_to_end(start.name()) {
                Ok(span) => span.start as usize..span.end as usize,
                Err(e) => return Err(self.xml_error(e)),
            },
        };
        let fragment = self.body[span].trim();
        // Innermost declaration first: it is the one in force.
        let mut missing: Vec<&Binding> = Vec::new();
        for b in self.outer.iter().rev() {
            if !missing.iter().any(|m| m.prefix == b.prefix) && uses_prefix(fragment, &b.usage) && !fragment.contains(&b.declaration) {
                missing.push(b);
            }
        }
        let out = declare(fragment, &missing).into_bytes();
        self.outer.truncate(depth);
        Ok(out)
    }

    fn token(&mut self, start: &BytesStart<'_>) -> Result<ResumptionToken> {
        let number = |name| attr(start, name).and_then(|v| v.trim().parse().ok());
        Ok(ResumptionToken {
            complete_list_size: number("completeListSize"),
            cursor: number("cursor"),
            expiration_date: attr(start, "expirationDate"),
            value: self.text()?,
        })
    }
}

/// The length of an element's content, from just after its start tag to
/// its end tag, found by searching for the end tag instead of reading each
/// tag inside: metadata is kept as bytes, so its tags need not be read.
/// `None`, and the caller reads tag by tag, when the content holds
/// anything that could hide the end tag or nest another of the same name:
/// a comment, CDATA, a processing instruction or a start tag of that name.
fn content_len(rest: &str, end_tag: &EndTag) -> Option<usize> {
    let bytes = rest.as_bytes();
    let closing = end_tag.finder.needle().len();
    let mut end = 0;
    loop {
        end += end_tag.finder.find(&bytes[end..])?;
        if matches!(bytes.get(end + closing), Some(b'>' | b' ' | b'\t' | b'\n' | b'\r')) {
            break;
        }
        end += closing;
    }
    let inner = &bytes[..end];
    let qname = end_tag.qname.as_bytes();
    // One look at each `<`: `<!` and `<?` may hide the end tag, `<qname`
    // may nest another element of the same name.
    let misleading = memchr::memchr_iter(b'<', inner).any(|at| {
        let after = &inner[at + 1..];
        matches!(after.first(), Some(b'!' | b'?'))
            || after.strip_prefix(qname).is_some_and(|tail| matches!(tail.first(), None | Some(b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r')))
    });
    (!misleading).then_some(end)
}

fn local<'s>(e: &'s BytesStart<'_>) -> &'s str {
    let name = e.name().0;
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// An attribute's value, matched by its full name.
fn attr_exact(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find(|a| a.key.0 == name).map(|a| a.value.into_owned())
}

/// An attribute's unescaped value, matched by local name.
fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes().with_checks(false).flatten().find_map(|a| {
        let key = a.key.0;
        let key = key.rsplit_once(':').map_or(key, |(_, l)| l);
        (key == name).then(|| a.normalized_value(XmlVersion::Implicit1_0).map(|v| v.into_owned()).unwrap_or_else(|_| a.value.into_owned()))
    })
}

pub(crate) fn push_reference(out: &mut String, r: &str) {
    match r {
        "amp" => out.push('&'),
        "lt" => out.push('<'),
        "gt" => out.push('>'),
        "quot" => out.push('"'),
        "apos" => out.push('\''),
        _ => {
            let num = r.strip_prefix('#');
            let ch = num.and_then(|n| match n.strip_prefix('x').or_else(|| n.strip_prefix('X')) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => n.parse().ok(),
            });
            match ch.and_then(char::from_u32) {
                Some(c) => out.push(c),
                // An unknown entity is kept as written rather than dropped.
                None => {
                    out.push('&');
                    out.push_str(r);
                    out.push(';');
                }
            }
        }
    }
}

/// Whether `fragment` uses `usage` (`prefix:`) on an element or attribute
/// name: the pattern must follow `<`, `</` or white space. A false positive
/// (the pattern in text after a space) only adds an unused declaration.
fn uses_prefix(fragment: &str, usage: &str) -> bool {
    fragment.match_indices(usage).any(|(at, _)| at > 0 && matches!(fragment.as_bytes()[at - 1], b'<' | b'/' | b' ' | b'\t' | b'\n' | b'\r'))
}

/// Inserts namespace declarations into the first start tag of `fragment`.
fn declare(fragment: &str, bindings: &[&Binding]) -> String {
    if bindings.is_empty() {
        return fragment.to_string();
    }
    let Some(tag_start) = fragment.find('<').filter(|&i| !matches!(fragment.as_bytes().get(i + 1), Some(b'!' | b'?'))) else {
        return fragment.to_string();
    };
    let name_end = fragment[tag_start..].find(|c: char| c.is_whitespace() || c == '>' || c == '/').map_or(fragment.len(), |e| tag_start + e);
    let added: usize = bindings.iter().map(|b| b.attribute.len()).sum();
    let mut out = String::with_capacity(fragment.len() + added);
    out.push_str(&fragment[..name_end]);
    for b in bindings {
        out.push_str(&b.attribute);
    }
    out.push_str(&fragment[name_end..]);
    out
}

/// The start of a body, white space folded, for error messages.
pub fn snippet(body: &str) -> String {
    // Only the start is looked at: the body may be huge.
    let mut end = body.len().min(4096);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let folded: String = body[..end].split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &folded[..i]),
        None => folded,
    }
}

#[cfg(test)]
mod tests;
