//! Harvested records written out, as `oai-mirror cat` streams them: pure
//! rendering of one record in each format, and its file name in a
//! directory. Reading the store and writing are the CLI's.
//!
//! * `xml`: a document `<records>` of `<record>` elements as OAI-PMH sends
//!   them (header, then metadata), in the OAI-PMH namespace, so that an
//!   XML tool can read the stream as one document.
//! * `jsonl`: one JSON object per line, the header's fields and the
//!   metadata as a string.
//! * `payload`: the metadata alone, one record's after another; deleted
//!   records have none and are left out.

use std::io::{self, Write};

use checkpoints::StoredRecord;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Xml,
    Jsonl,
    Payload,
}

impl Format {
    /// The extension of a record's file in a directory.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Xml | Format::Payload => ".xml",
            Format::Jsonl => ".json",
        }
    }
}

pub const XML_START: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<records xmlns=\"http://www.openarchives.org/OAI/2.0/\">\n";
pub const XML_END: &str = "</records>\n";

/// One record as `<record>`, with a line end.
pub fn write_xml(out: &mut impl Write, r: &StoredRecord) -> io::Result<()> {
    out.write_all(if r.deleted { b"<record><header status=\"deleted\"><identifier>" } else { b"<record><header><identifier>" })?;
    out.write_all(crate::util::xml_escape(&r.identifier).as_bytes())?;
    out.write_all(b"</identifier><datestamp>")?;
    out.write_all(crate::util::xml_escape(&r.datestamp).as_bytes())?;
    out.write_all(b"</datestamp>")?;
    for set in &r.sets {
        out.write_all(b"<setSpec>")?;
        out.write_all(crate::util::xml_escape(set).as_bytes())?;
        out.write_all(b"</setSpec>")?;
    }
    out.write_all(b"</header>")?;
    // Metadata that is not one well-formed element (a broken origin's) is
    // left out, as serving leaves it out: the document stays well-formed.
    if let Some(m) = r.metadata.as_deref().filter(|m| !r.deleted && crate::util::well_formed_element(m)) {
        out.write_all(b"<metadata>")?;
        out.write_all(m)?;
        out.write_all(b"</metadata>")?;
    }
    out.write_all(b"</record>\n")
}

#[derive(serde::Serialize)]
struct JsonRecord<'a> {
    source: &'a str,
    identifier: &'a str,
    datestamp: &'a str,
    deleted: bool,
    sets: &'a [String],
    metadata: Option<std::borrow::Cow<'a, str>>,
}

/// One record as a JSON object on one line; `source` names where it came from.
pub fn write_json(out: &mut impl Write, r: &StoredRecord, source: &str) -> io::Result<()> {
    let record = JsonRecord {
        source,
        identifier: &r.identifier,
        datestamp: &r.datestamp,
        deleted: r.deleted,
        sets: &r.sets,
        metadata: r.metadata.as_deref().map(String::from_utf8_lossy),
    };
    serde_json::to_writer(&mut *out, &record)?;
    out.write_all(b"\n")
}

/// The metadata alone, with a line end; nothing for a deleted record.
pub fn write_payload(out: &mut impl Write, r: &StoredRecord) -> io::Result<()> {
    match r.metadata.as_deref().filter(|_| !r.deleted) {
        Some(m) => {
            out.write_all(m.trim_ascii())?;
            out.write_all(b"\n")
        }
        None => Ok(()),
    }
}

/// One record in `format`, as a stream line or a file's content.
pub fn write(out: &mut impl Write, format: Format, r: &StoredRecord, source: &str) -> io::Result<()> {
    match format {
        Format::Xml => write_xml(out, r),
        Format::Jsonl => write_json(out, r, source),
        Format::Payload => write_payload(out, r),
    }
}

/// A record's file: its content in `format` (a whole document for `xml`),
/// or `None` when the format has nothing for it (a deleted record's payload).
pub fn file_content(format: Format, r: &StoredRecord, source: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    if format == Format::Xml {
        out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        write_xml(&mut out, r).expect("writing to memory");
        // The lone record declares the namespace its elements are in.
        out.splice(XML_DECLARATION_LEN..XML_DECLARATION_LEN + "<record".len(), b"<record xmlns=\"http://www.openarchives.org/OAI/2.0/\"".iter().copied());
        return Some(out);
    }
    write(&mut out, format, r, source).expect("writing to memory");
    (!out.is_empty()).then_some(out)
}

const XML_DECLARATION_LEN: usize = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n".len();

#[cfg(test)]
mod tests;
