//! The protocol's nouns: verbs, headers, records, resumption tokens and what
//! `Identify` says. Plain data, no I/O.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// The six OAI-PMH 2.0 verbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verb {
    Identify,
    ListMetadataFormats,
    ListSets,
    ListIdentifiers,
    ListRecords,
    GetRecord,
}

impl Verb {
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Identify => "Identify",
            Verb::ListMetadataFormats => "ListMetadataFormats",
            Verb::ListSets => "ListSets",
            Verb::ListIdentifiers => "ListIdentifiers",
            Verb::ListRecords => "ListRecords",
            Verb::GetRecord => "GetRecord",
        }
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The finest datestamp granularity a repository supports (Identify's
/// `<granularity>`). `from` and `until` must be sent at this granularity:
/// day-only repositories answer `badArgument` to a time part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Granularity {
    /// `YYYY-MM-DD`
    Day,
    /// `YYYY-MM-DDThh:mm:ssZ`
    #[default]
    Seconds,
}

impl Granularity {
    /// Reads Identify's granularity text. Anything that is not the day form
    /// is taken as seconds, the only other value the protocol allows.
    /// The granularity an Identify states. Seconds only when it says so:
    /// anything else (no element, an empty or misspelt one) gets the
    /// protocol's floor, `YYYY-MM-DD`, which every repository must accept.
    pub fn from_identify(text: &str) -> Granularity {
        if text.trim() == "YYYY-MM-DDThh:mm:ssZ" { Granularity::Seconds } else { Granularity::Day }
    }

    /// Formats a UTC instant for a `from` or `until` argument. At day
    /// granularity the time of day is dropped, so a `from` taken from a
    /// `responseDate` overlaps that whole day (the protocol's `from` is
    /// inclusive).
    pub fn format(self, at: DateTime<Utc>) -> String {
        match self {
            Granularity::Day => at.format("%Y-%m-%d").to_string(),
            Granularity::Seconds => at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "YYYY-MM-DD",
            Granularity::Seconds => "YYYY-MM-DDThh:mm:ssZ",
        }
    }
}

/// How a repository keeps track of deletions (Identify's `<deletedRecord>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletedRecord {
    No,
    Transient,
    Persistent,
}

impl DeletedRecord {
    pub fn parse(text: &str) -> Option<DeletedRecord> {
        match text.trim() {
            "no" => Some(DeletedRecord::No),
            "transient" => Some(DeletedRecord::Transient),
            "persistent" => Some(DeletedRecord::Persistent),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeletedRecord::No => "no",
            DeletedRecord::Transient => "transient",
            DeletedRecord::Persistent => "persistent",
        }
    }
}

/// What a repository says about itself.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Identify {
    pub repository_name: String,
    pub base_url: String,
    pub protocol_version: String,
    pub admin_emails: Vec<String>,
    pub earliest_datestamp: String,
    /// As written; `None` if the element was missing (it is mandatory).
    pub deleted_record: Option<DeletedRecord>,
    /// The raw text; see [`Identify::granularity`].
    pub granularity_text: String,
    pub compression: Vec<String>,
    /// The response's `responseDate`: the repository's clock when it answered.
    pub response_date: String,
}

impl Identify {
    pub fn granularity(&self) -> Granularity {
        Granularity::from_identify(&self.granularity_text)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetadataFormat {
    pub prefix: String,
    pub schema: String,
    pub namespace: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Set {
    pub spec: String,
    pub name: String,
}

/// A record header.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    pub identifier: String,
    /// As the repository wrote it (day or seconds form).
    pub datestamp: String,
    pub sets: Vec<String>,
    pub deleted: bool,
}

/// A record: its header and, unless deleted, the bytes inside `<metadata>`
/// exactly as received (after character repair, see [`crate::repair`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Record {
    pub header: Header,
    pub metadata: Option<Vec<u8>>,
    /// The content of each `<about>` container, as received (prefixes an
    /// ancestor declared declared again, as for metadata).
    pub about: Vec<Vec<u8>>,
}

/// A resumptionToken element. An empty `value` ends the list, even when the
/// element still carries attributes (NSDL does this).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ResumptionToken {
    pub value: String,
    pub complete_list_size: Option<u64>,
    pub cursor: Option<u64>,
    pub expiration_date: Option<String>,
}

impl Header {
    /// What makes the header unusable, if anything: a record needs an
    /// identifier to be stored under, and a datestamp to be compared with.
    pub fn problem(&self) -> Option<String> {
        if self.identifier.trim().is_empty() {
            return Some("a header without an identifier".into());
        }
        if self.datestamp.trim().is_empty() {
            return Some(format!("the header of {} has no datestamp", self.identifier));
        }
        None
    }
}

impl Record {
    /// The record, or why it cannot be stored (see [`Header::problem`]).
    pub fn checked(self) -> std::result::Result<Record, String> {
        match self.header.problem() {
            Some(why) => Err(why),
            None => Ok(self),
        }
    }
}

/// One page of a list response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page<T> {
    /// The server's clock when it answered (`responseDate`), as written.
    pub response_date: String,
    pub items: Vec<T>,
    /// The token element, if the page had one.
    pub token: Option<ResumptionToken>,
    /// Items left out of `items`, each with why: a record whose header has
    /// no identifier or no datestamp costs itself, not its page.
    pub skipped: Vec<String>,
}

impl<T> Page<T> {
    /// The token to send for the next page, or `None` when the list is
    /// complete: the element is absent or its value is empty.
    pub fn next_token(&self) -> Option<&str> {
        self.token.as_ref().map(|t| t.value.as_str()).filter(|v| !v.trim().is_empty())
    }
}

/// Parses an OAI-PMH datestamp: `YYYY-MM-DD` or `YYYY-MM-DDThh:mm:ssZ`.
/// Also tolerates fractional seconds and a missing `Z`, which real
/// repositories send; every datestamp is UTC by the protocol.
pub fn parse_datestamp(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    // The most common form first: it is read once per harvested record.
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return Some(Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0)?));
    }
    let t = t.trim_end_matches('Z');
    NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|n| Utc.from_utc_datetime(&n))
}

#[cfg(test)]
mod tests;
