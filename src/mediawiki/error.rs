//! The MediaWiki client's one error type. Every variant names the wiki
//! (its config name), and those about a request the action and the title.

use std::fmt;

/// MediaWiki's API error codes that the mirror treats distinctly; any other
/// code is kept as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiCode {
    BadToken,
    AssertUserFailed,
    EditConflict,
    PageDeleted,
    ArticleExists,
    MissingTitle,
    ProtectedPage,
    CascadeProtected,
    ProtectedTitle,
    PermissionDenied,
    Blocked,
    ReadOnly,
    Maxlag,
    RateLimited,
    SpamDetected,
    ContentTooBig,
    NoSuchRevid,
    InvalidTitle,
    Other(String),
}

impl ApiCode {
    pub fn parse(code: &str) -> ApiCode {
        match code {
            "badtoken" => ApiCode::BadToken,
            "assertuserfailed" | "assertbotfailed" => ApiCode::AssertUserFailed,
            "editconflict" => ApiCode::EditConflict,
            "pagedeleted" => ApiCode::PageDeleted,
            "articleexists" => ApiCode::ArticleExists,
            "missingtitle" | "nocreate-missing" => ApiCode::MissingTitle,
            "protectedpage" => ApiCode::ProtectedPage,
            "cascadeprotected" => ApiCode::CascadeProtected,
            "protectedtitle" => ApiCode::ProtectedTitle,
            "permissiondenied" | "cantcreate" | "noedit" | "cantmove" | "cantdelete" | "cantundelete" | "permissions" => ApiCode::PermissionDenied,
            "blocked" | "autoblocked" => ApiCode::Blocked,
            "readonly" => ApiCode::ReadOnly,
            "maxlag" => ApiCode::Maxlag,
            "ratelimited" => ApiCode::RateLimited,
            "spamdetected" | "abusefilter-disallowed" => ApiCode::SpamDetected,
            "contenttoobig" => ApiCode::ContentTooBig,
            "nosuchrevid" => ApiCode::NoSuchRevid,
            "invalidtitle" => ApiCode::InvalidTitle,
            other => ApiCode::Other(other.to_string()),
        }
    }
}

impl fmt::Display for ApiCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            ApiCode::BadToken => "badtoken",
            ApiCode::AssertUserFailed => "assertuserfailed",
            ApiCode::EditConflict => "editconflict",
            ApiCode::PageDeleted => "pagedeleted",
            ApiCode::ArticleExists => "articleexists",
            ApiCode::MissingTitle => "missingtitle",
            ApiCode::ProtectedPage => "protectedpage",
            ApiCode::CascadeProtected => "cascadeprotected",
            ApiCode::ProtectedTitle => "protectedtitle",
            ApiCode::PermissionDenied => "permissiondenied",
            ApiCode::Blocked => "blocked",
            ApiCode::ReadOnly => "readonly",
            ApiCode::Maxlag => "maxlag",
            ApiCode::RateLimited => "ratelimited",
            ApiCode::SpamDetected => "spamdetected",
            ApiCode::ContentTooBig => "contenttoobig",
            ApiCode::NoSuchRevid => "nosuchrevid",
            ApiCode::InvalidTitle => "invalidtitle",
            ApiCode::Other(s) => s,
        };
        f.write_str(s)
    }
}

fn on(title: &Option<String>) -> String {
    title.as_ref().map(|t| format!(" on [[{t}]]")).unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum MwError {
    /// No connection could be made, or it broke (after bounded retries).
    #[error("wiki {wiki}: cannot reach {url}")]
    Unreachable {
        wiki: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// The URL answers, but not as a MediaWiki action API.
    #[error("wiki {wiki}: {url} is not a MediaWiki API (HTTP {status}): {snippet:?}")]
    NotApi { wiki: String, url: String, status: u16, snippet: String },

    /// `action=login` said something other than Success.
    #[error("wiki {wiki}: login as {user} failed ({result}): {reason}")]
    LoginFailed { wiki: String, user: String, result: String, reason: String },

    /// The account lacks rights the mirror needs.
    #[error("wiki {wiki}: the account {user} lacks the right(s) {}", missing.join(", "))]
    MissingRights { wiki: String, user: String, missing: Vec<String> },

    /// No user or password configured, but the action needs a login.
    #[error("wiki {wiki}: no credentials configured ({detail})")]
    NoCredentials { wiki: String, detail: String },

    /// An API error that is not an expected outcome of the action.
    #[error("wiki {wiki}: {action}{} failed: {code}: {info}", on(title))]
    Api { wiki: String, action: String, title: Option<String>, code: ApiCode, info: String },

    /// An answer larger than the body limit, as sent or decompressed.
    #[error(
        "wiki {wiki}: the answer from {url} is larger than the body limit of {limit} bytes; refused (raise [http] max_body_mb if the wiki really sends answers this big)"
    )]
    TooLarge { wiki: String, url: String, limit: u64 },

    /// The API answered with a redirect, which is not followed: a login
    /// would carry the password along.
    #[error(
        "wiki {wiki}: {url} answered HTTP {status}, a redirect to {to}; not followed (credentials stay with the configured origin): put the API's final URL in the config"
    )]
    Redirected { wiki: String, url: String, status: u16, to: String },

    /// The response had an unexpected shape.
    #[error("wiki {wiki}: unexpected answer to {action}{}: {detail}", on(title))]
    Protocol { wiki: String, action: String, title: Option<String>, detail: String },

    /// maxlag, rate limits, 429 and 503 persisted past the retry bounds.
    #[error("wiki {wiki}: {action}{} still refused after {attempts} attempt(s): {last}", on(title))]
    RetriesExhausted { wiki: String, action: String, title: Option<String>, attempts: u32, last: String },
}

impl MwError {
    pub fn code(&self) -> Option<&ApiCode> {
        match self {
            MwError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

pub type MwResult<T> = Result<T, MwError>;
