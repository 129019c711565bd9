//! The Dublin Core fields of a record's metadata that a person searches
//! by: titles, creators, subjects and descriptions. Read from the
//! elements of the DC elements namespace (`http://purl.org/dc/elements/1.1/`)
//! wherever they stand, so `oai_dc` and any format that embeds DC elements
//! give them, whatever prefix they use. Bounded: at most [`MAX_VALUES`]
//! values, each cut to [`MAX_VALUE`] bytes. Pure.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

pub const DC_NAMESPACE: &str = "http://purl.org/dc/elements/1.1/";
pub const MAX_VALUES: usize = 64;
pub const MAX_VALUE: usize = 4096;

/// The searchable DC fields of one record, each value as text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DcText {
    pub title: Vec<String>,
    pub creator: Vec<String>,
    pub subject: Vec<String>,
    pub description: Vec<String>,
}

impl DcText {
    pub fn is_empty(&self) -> bool {
        self.title.is_empty() && self.creator.is_empty() && self.subject.is_empty() && self.description.is_empty()
    }
}

/// The DC fields of `metadata` (the bytes inside `<metadata>`) that search
/// finds a record by; `None` if it holds none, or is not well-formed
/// enough to read.
pub fn dc_text(metadata: &[u8]) -> Option<DcText> {
    let mut out = DcText::default();
    for (name, value) in dc_fields(metadata)? {
        match name.as_str() {
            "title" => out.title.push(value),
            "creator" => out.creator.push(value),
            "subject" => out.subject.push(value),
            "description" => out.description.push(value),
            _ => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Every element of the DC elements namespace in `metadata`, in order:
/// its local name and its text (white space collapsed); `None` if there
/// is none, or the metadata is not well-formed enough to read.
pub fn dc_fields(metadata: &[u8]) -> Option<Vec<(String, String)>> {
    let mut reader = NsReader::from_str(std::str::from_utf8(metadata).ok()?);
    let mut out = Vec::new();
    // The element being read, its text so far, and the depth inside it.
    let mut current: Option<(String, String, u32)> = None;
    loop {
        let (ns, event) = reader.read_resolved_event().ok()?;
        match (event, &mut current) {
            (Event::Eof, _) => break,
            (Event::Start(e), None) => {
                if matches!(ns, ResolveResult::Bound(n) if n.as_ref() == DC_NAMESPACE) {
                    current = Some((e.local_name().as_ref().to_string(), String::new(), 0));
                }
            }
            (Event::Start(_), Some((_, _, depth))) => *depth += 1,
            (Event::End(_), Some((_, _, depth))) if *depth > 0 => *depth -= 1,
            (Event::End(_), Some(_)) => {
                let (name, text, _) = current.take()?;
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if !text.is_empty() && out.len() < MAX_VALUES {
                    out.push((name, text));
                }
            }
            (Event::Text(t), Some((_, text, _))) if text.len() < MAX_VALUE => push_cut(text, &t),
            (Event::CData(t), Some((_, text, _))) if text.len() < MAX_VALUE => push_cut(text, &t),
            (Event::GeneralRef(r), Some((_, text, _))) if text.len() < MAX_VALUE => {
                let mut one = String::new();
                crate::parse::push_reference(&mut one, &r);
                push_cut(text, &one);
            }
            _ => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Appends `more`, keeping `text` within [`MAX_VALUE`] bytes (on a
/// character boundary).
fn push_cut(text: &mut String, more: &str) {
    let room = MAX_VALUE.saturating_sub(text.len());
    let mut end = more.len().min(room);
    while !more.is_char_boundary(end) {
        end -= 1;
    }
    text.push_str(&more[..end]);
}

#[cfg(test)]
mod tests;
