//! The crate's one error type. Every variant says where it happened: the
//! URL, the verb and, for a follow-up page, the resumptionToken.

use std::fmt;
use std::time::Duration;

use crate::model::Verb;

/// Which request an error belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The full request URL, query included.
    pub url: String,
    pub verb: Verb,
    /// The resumptionToken sent, for a follow-up page.
    pub token: Option<String>,
}

impl Origin {
    /// The request in a few words, for a line per retry: the verb, the
    /// base URL without its query, and the start of the token.
    pub fn brief(&self) -> String {
        let base = self.url.split_once('?').map_or(self.url.as_str(), |(b, _)| b);
        let mut out = format!("{} {}", self.verb, shorten(base, 120));
        if let Some(t) = &self.token {
            out.push_str(&format!(" (token {})", shorten(t, 24)));
        }
        out
    }
}

impl fmt::Display for Origin {
    /// The URL and the token, each cut to a readable length: a log line
    /// never carries a megabyte of token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.verb, shorten(&self.url, 300))?;
        if let Some(t) = &self.token {
            write!(f, " (resumptionToken {:?})", shorten(t, 120))?;
        }
        Ok(())
    }
}

/// `text` if it is at most `max` bytes, else its start and how long it was.
pub fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..cut], text.len()).into()
}

/// The error codes of OAI-PMH 2.0 §3.6, plus whatever else a server invents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    BadArgument,
    BadResumptionToken,
    BadVerb,
    CannotDisseminateFormat,
    IdDoesNotExist,
    NoRecordsMatch,
    NoMetadataFormats,
    NoSetHierarchy,
    Other(String),
}

impl ErrorCode {
    pub fn parse(code: &str) -> ErrorCode {
        match code {
            "badArgument" => ErrorCode::BadArgument,
            "badResumptionToken" => ErrorCode::BadResumptionToken,
            "badVerb" => ErrorCode::BadVerb,
            "cannotDisseminateFormat" => ErrorCode::CannotDisseminateFormat,
            "idDoesNotExist" => ErrorCode::IdDoesNotExist,
            "noRecordsMatch" => ErrorCode::NoRecordsMatch,
            "noMetadataFormats" => ErrorCode::NoMetadataFormats,
            "noSetHierarchy" => ErrorCode::NoSetHierarchy,
            other => ErrorCode::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::BadArgument => "badArgument",
            ErrorCode::BadResumptionToken => "badResumptionToken",
            ErrorCode::BadVerb => "badVerb",
            ErrorCode::CannotDisseminateFormat => "cannotDisseminateFormat",
            ErrorCode::IdDoesNotExist => "idDoesNotExist",
            ErrorCode::NoRecordsMatch => "noRecordsMatch",
            ErrorCode::NoMetadataFormats => "noMetadataFormats",
            ErrorCode::NoSetHierarchy => "noSetHierarchy",
            ErrorCode::Other(s) => s,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `<error code="…">message</error>` element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OaiError {
    pub code: ErrorCode,
    pub message: String,
}

fn join_errors(errors: &[OaiError]) -> String {
    errors.iter().map(|e| if e.message.is_empty() { e.code.to_string() } else { format!("{}: {}", e.code, e.message) }).collect::<Vec<_>>().join("; ")
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The base URL could not be used to build a request.
    #[error("invalid base URL {url:?}: {detail}")]
    BadUrl { url: String, detail: String },

    /// Connecting, sending or reading the body failed (timeouts, resets,
    /// a host name that does not resolve). The message says why, down to
    /// the innermost cause, so that a retry warning is worth reading.
    /// (`cause` is not a `#[source]`: the message holds its chain already.)
    #[error("{origin}: request failed: {}", http_cause(cause))]
    Http { origin: Origin, cause: reqwest::Error },

    /// An HTTP status that carried no OAI-PMH answer (a 503 page, a 404).
    #[error("{origin}: HTTP {status}{}: {snippet:?}", retry_after.map(|d| format!(" (Retry-After {}s)", d.as_secs())).unwrap_or_default())]
    Status { origin: Origin, status: u16, retry_after: Option<Duration>, snippet: String },

    /// A body that is not an OAI-PMH response: an HTML page, plain text.
    #[error("{origin}: HTTP {status} answered with something that is not OAI-PMH: {snippet:?}")]
    NotOaiPmh { origin: Origin, status: u16, snippet: String },

    /// An OAI-PMH response that breaks the XML or the protocol's structure.
    /// `truncated` is set when the document simply stops, which a retry may mend.
    #[error("{origin}: malformed OAI-PMH response at byte {offset}: {detail}")]
    Malformed { origin: Origin, offset: u64, detail: String, truncated: bool },

    /// The body was compressed and could not be decompressed.
    #[error("{origin}: could not decompress the body ({encoding})")]
    Decompress {
        origin: Origin,
        encoding: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// With strict checking: the body held invalid UTF-8 or characters XML forbids.
    #[error("{origin}: {count} invalid character(s) in the body, the first at byte {first_offset} (not repaired: strict mode)")]
    InvalidCharacters { origin: Origin, count: u64, first_offset: u64 },

    /// The repository answered with OAI-PMH error elements.
    #[error("{origin}: OAI-PMH error {}", join_errors(errors))]
    Oai { origin: Origin, errors: Vec<OaiError> },

    /// The repository handed back a token it had already given in this list:
    /// following it would loop for ever.
    #[error("{origin}: the repository repeated a resumptionToken; stopping instead of looping")]
    TokenLoop { origin: Origin },

    /// Too many pages in a row without a record.
    #[error("{origin}: {pages} pages in a row held no record; stopping instead of looping")]
    EmptyPages { origin: Origin, pages: u32 },

    /// A body larger than the limit (as sent, decompressed, decoded or
    /// repaired): refused for good, since asking again brings the same.
    #[error(
        "{origin}: the answer is larger than the body limit of {limit} bytes ({stage}); raise [http] max_body_mb if the repository really sends pages this big"
    )]
    TooLarge { origin: Origin, limit: u64, stage: &'static str },

    /// A resumptionToken too long to be sent in a URL.
    #[error("{origin}: the resumptionToken is {len} bytes long, more than a URL can carry ({max} at most)")]
    TokenTooLong { origin: Origin, len: usize, max: usize },

    /// Retries were bounded and have run out. `elapsed` is the whole time
    /// spent on the request, attempts and waits.
    #[error("gave up after {attempts} attempt(s) over {}s", elapsed.as_secs())]
    RetriesExhausted {
        attempts: u32,
        elapsed: Duration,
        #[source]
        last: Box<Error>,
    },
}

/// A reqwest error and its causes, most specific last, without repeats:
/// "error sending request …: client error (Connect): dns error: failed to
/// lookup address information: Name or service not known". reqwest's own
/// message names the URL; the origin already does, so it is left out.
fn http_cause(e: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let top = e.without_url_string();
    parts.push(top);
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = cause.source();
    }
    parts.join(": ")
}

trait WithoutUrl {
    fn without_url_string(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_string(&self) -> String {
        let kind = if self.is_timeout() {
            "timed out"
        } else if self.is_connect() {
            "could not connect"
        } else if self.is_redirect() {
            "redirect refused"
        } else if self.is_body() || self.is_decode() {
            "reading the body failed"
        } else {
            "error sending the request"
        };
        kind.to_string()
    }
}

/// Whether a request failed because its host name does not exist (not a
/// resolver that is down for a moment): asking again cannot help.
fn is_unknown_host(e: &reqwest::Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = next {
        if says_unknown_host(&cause.to_string()) {
            return true;
        }
        next = cause.source();
    }
    false
}

/// Whether a resolver's message says the name does not exist: glibc's
/// EAI_NONAME and EAI_NODATA, and macOS's wording of them. Not
/// EAI_AGAIN ("Temporary failure in name resolution"): that one passes.
fn says_unknown_host(text: &str) -> bool {
    ["Name or service not known", "No address associated with hostname", "nodename nor servname provided"].iter().any(|m| text.contains(m))
}

impl Error {
    /// True when the same request may succeed later: timeouts, resets, 429,
    /// 5xx, a body that stops in the middle.
    pub fn is_retryable(&self) -> bool {
        match self {
            // A redirect loop, a request that cannot be built or a host
            // that does not exist is the same next time.
            Error::Http { cause, .. } => !(cause.is_redirect() || cause.is_builder() || is_unknown_host(cause)),
            Error::Status { status, .. } => matches!(status, 408 | 425 | 429 | 500..=599),
            Error::Malformed { truncated, .. } => *truncated,
            Error::Decompress { .. } => true,
            _ => false,
        }
    }

    /// Whether running the harvest again later may get further: the
    /// failure was one a retry can mend (retries ran out), not an answer
    /// that will be the same next time (an OAI-PMH error, HTTP 404 or 413,
    /// a page that is not OAI-PMH, a host that does not exist).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::RetriesExhausted { last, .. } => last.is_retryable(),
            other => other.is_retryable(),
        }
    }

    /// The OAI-PMH error code, when the repository sent exactly one kind.
    pub fn oai_code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Oai { errors, .. } => errors.first().map(|e| &e.code),
            Error::RetriesExhausted { last, .. } => last.oai_code(),
            _ => None,
        }
    }

    /// Where the error happened, if it belongs to one request.
    /// What went wrong, in a few words, without where (the origin) or the
    /// start of the body: a retry's line says where once, and this says why.
    pub fn cause(&self) -> String {
        match self {
            Error::Http { cause, .. } => shorten(&format!("request failed: {}", http_cause(cause)), 160).into_owned(),
            Error::Status { status, retry_after, .. } => {
                format!("HTTP {status}{}", retry_after.map(|d| format!(" (Retry-After {}s)", d.as_secs())).unwrap_or_default())
            }
            Error::NotOaiPmh { status, .. } => format!("HTTP {status}, not an OAI-PMH answer"),
            Error::Malformed { offset, truncated: true, .. } => format!("the body stops at byte {offset}"),
            Error::Malformed { offset, detail, .. } => shorten(&format!("malformed at byte {offset}: {detail}"), 160).into_owned(),
            Error::Decompress { encoding, .. } => format!("could not decompress ({encoding})"),
            Error::RetriesExhausted { last, .. } => last.cause(),
            other => {
                let text = other.to_string();
                let brief = other.origin().and_then(|o| text.strip_prefix(&format!("{o}: ")).map(str::to_string)).unwrap_or_else(|| text.clone());
                shorten(&brief, 160).into_owned()
            }
        }
    }

    pub fn origin(&self) -> Option<&Origin> {
        match self {
            Error::Http { origin, .. }
            | Error::Status { origin, .. }
            | Error::NotOaiPmh { origin, .. }
            | Error::Malformed { origin, .. }
            | Error::Decompress { origin, .. }
            | Error::InvalidCharacters { origin, .. }
            | Error::Oai { origin, .. }
            | Error::TokenLoop { origin }
            | Error::TooLarge { origin, .. }
            | Error::TokenTooLong { origin, .. }
            | Error::EmptyPages { origin, .. } => Some(origin),
            Error::RetriesExhausted { last, .. } => last.origin(),
            Error::BadUrl { .. } => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests;
