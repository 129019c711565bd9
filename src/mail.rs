//! What a MediaWiki notification mail is about: which wiki, which page.
//! Pure: the mail's bytes and the configured wikis in, an answer out.
//!
//! MediaWiki's notification mails (enotif: a watched page or a user talk
//! page changed) carry the page's URL in their text, first among the links
//! (`see http://HOST/wiki/TITLE for the current revision`); later ones are
//! diffs (`index.php?title=TITLE&diff=…`), the editor's pages and the
//! preferences. The subject is the wiki's own message, in its language, so
//! it is not read. The first link to a configured wiki's host that names a
//! page outside the Special namespace is the one: a wiki is matched by the
//! scheme, host and port of its `api` URL, and, where several wikis share
//! them, by the directory of its `api` path as well.

use std::borrow::Cow;

use reqwest::Url;

/// At most this much of a mail is read: a notification is a few kilobytes.
pub const MAX_MAIL: usize = 1 << 20;

/// What a mail is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The `[wiki.NAME]`s whose pages the link may be (one, unless several
    /// wikis share a host and directory).
    pub wikis: Vec<String>,
    pub title: String,
}

/// Why a mail names no configured wiki's page.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ignored {
    #[error("not a mail: {0}")]
    Malformed(String),
    #[error("the mail links to no page ({0})")]
    NoPage(String),
    #[error("the mail links to no configured wiki (hosts it links to: {}); add its [wiki.*], or stop sending its mail here", .0.join(", "))]
    UnknownWiki(Vec<String>),
}

/// The wiki and page `raw` is a notification of; `wikis` are the configured
/// ones, as (name, api URL).
pub fn page_of_mail(raw: &[u8], wikis: &[(String, String)]) -> Result<Found, Ignored> {
    let message = mail_parser::MessageParser::default().parse(raw).ok_or_else(|| Ignored::Malformed("no header and body".into()))?;
    if message.from().is_none() && message.subject().is_none() {
        return Err(Ignored::Malformed("it has neither From nor Subject".into()));
    }
    let body: Cow<'_, str> = message.body_text(0).ok_or_else(|| Ignored::NoPage("it has no text part".into()))?;
    let apis: Vec<(&str, Url)> = wikis.iter().filter_map(|(name, api)| Some((name.as_str(), Url::parse(api).ok()?))).collect();
    let mut hosts = Vec::new();
    for link in links(&body) {
        let Ok(url) = Url::parse(link) else { continue };
        let origin = url.origin().ascii_serialization();
        let same_host: Vec<&(&str, Url)> = apis.iter().filter(|(_, api)| api.origin().ascii_serialization() == origin).collect();
        if same_host.is_empty() {
            if !hosts.contains(&origin) {
                hosts.push(origin);
            }
            continue;
        }
        let Some(title) = title_of(&url) else { continue };
        if title.starts_with("Special:") {
            continue;
        }
        // Several wikis on one host: the one whose scripts' directory the link is in, if one is.
        let dir = |api: &Url| api.path().rsplit_once('/').map(|(d, _)| format!("{d}/")).unwrap_or_default();
        let in_dir: Vec<&str> = same_host.iter().filter(|(_, api)| url.path().starts_with(&dir(api))).map(|(n, _)| *n).collect();
        let wikis = if in_dir.len() == 1 { in_dir } else { same_host.iter().map(|(n, _)| *n).collect() };
        return Ok(Found { wikis: wikis.into_iter().map(str::to_string).collect(), title });
    }
    if hosts.is_empty() { Err(Ignored::NoPage("no link in its text".into())) } else { Err(Ignored::UnknownWiki(hosts)) }
}

/// The `http(s)://` links of a text, in order.
fn links(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"'))
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ')', ';']))
}

/// The page a wiki link names: its `title=` argument, else the path after
/// the article path's directory (`/wiki/A/B` is `A/B`), `_` read as a space.
fn title_of(url: &Url) -> Option<String> {
    let raw = match url.query_pairs().find(|(k, _)| k == "title") {
        Some((_, title)) => title.into_owned(),
        None => {
            let path = url.path().trim_start_matches('/');
            let rest = path.split_once('/').map_or(path, |(_, rest)| rest);
            percent_encoding::percent_decode_str(rest).decode_utf8().ok()?.into_owned()
        }
    };
    let title = raw.replace('_', " ").trim().to_string();
    (!title.is_empty() && !title.ends_with(".php")).then_some(title)
}

#[cfg(test)]
mod tests;
