//! Harvested records in the reader: the sources, and a record with its
//! Dublin Core fields shown as fields (any other format as indented XML).

use axum::http::StatusCode;
use checkpoints::Store;
use maud::{Markup, html};

use super::links::encode_title;
use super::pages::{message, shell};

/// The reader's address of a record.
pub fn record_url(source_id: i64, identifier: &str) -> String {
    format!("/read/records/{source_id}/{}", encode_title(identifier))
}

pub(super) fn sources(store: &Store) -> anyhow::Result<Markup> {
    let sources = store.sources()?;
    Ok(shell(
        "Harvested records",
        None,
        html! {
            h1 { "Harvested records" }
            @if sources.is_empty() { p { "No repository is harvested into this store yet." } }
            ul.sources {
                @for s in &sources {
                    li {
                        (s.key.base_url) " — " (s.key.metadata_prefix) @if let Some(set) = &s.key.set_spec { ", set " (set) }
                        " · " a href=(format!("/read/search?source={}", s.id)) { "search its records" }
                    }
                }
            }
        },
    ))
}

pub(super) fn record(store: &Store, source_id: i64, identifier: &str) -> anyhow::Result<(StatusCode, Markup)> {
    let Some(r) = store.record(identifier)?.into_iter().find(|r| r.source_id == source_id) else {
        return Ok((StatusCode::NOT_FOUND, message("No such record", "This store holds no record of this identifier from this source.")));
    };
    let source = store.sources()?.into_iter().find(|s| s.id == source_id);
    let fields = r.metadata.as_deref().and_then(oai::dc::dc_fields);
    let title = fields.as_ref().and_then(|f| f.iter().find(|(n, _)| n == "title")).map_or(identifier, |(_, t)| t.as_str());
    Ok((
        StatusCode::OK,
        shell(
            title,
            None,
            html! {
                h1 { (title) }
                dl.header {
                    dt { "Identifier" } dd { (r.identifier) }
                    dt { "Datestamp" } dd { (r.datestamp) }
                    @if let Some(s) = &source { dt { "Source" } dd { (s.key.base_url) " (" (s.key.metadata_prefix) ")" } }
                    @if !r.sets.is_empty() { dt { "Sets" } dd { (r.sets.join(", ")) } }
                }
                @if r.deleted {
                    p.absent { "The repository deleted this record." }
                } @else if let Some(fields) = &fields {
                    dl.fields { @for (name, value) in fields { dt { (name) } dd { (value) } } }
                } @else if let Some(m) = &r.metadata {
                    pre.metadata { (indented(m)) }
                }
            },
        ),
    ))
}

/// Metadata as indented XML, for a person to read; as it is if it does
/// not parse. Pure.
pub(super) fn indented(metadata: &[u8]) -> String {
    let text = String::from_utf8_lossy(metadata);
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut writer = quick_xml::Writer::new_with_indent(Vec::new(), b' ', 2);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            // White space between elements gives way to the indentation
            // (text is not trimmed: its spaces around references stay).
            Ok(quick_xml::events::Event::Text(t)) if t.trim().is_empty() => {}
            Ok(e) => {
                if writer.write_event(e).is_err() {
                    return text.into_owned();
                }
            }
            Err(_) => return text.into_owned(),
        }
    }
    String::from_utf8(writer.into_inner()).unwrap_or_else(|_| text.into_owned())
}
