//! What the latency examples share: a logged-in client, and a page's text.
//! Included by `latency.rs` and `group_latency.rs` with `#[path]`; not an
//! example of its own.

use oai_mirror::mediawiki::{PageRef, Secret, Wiki, WikiOptions};

/// A client of the wiki at `api`, logged in as `user`.
pub fn wiki(name: &str, api: &str, user: &str, password: &str) -> anyhow::Result<Wiki> {
    let mut o = WikiOptions::new(name, api);
    o.login = Some((user.to_string(), Secret::new(password)));
    Ok(Wiki::new(o)?)
}

/// The page's current text, if it has one (and the wiki answers).
pub async fn text_on(w: &Wiki, title: &str) -> Option<String> {
    let p = w.pages(&[PageRef::Title(title)]).await.ok()?.pop()?;
    p.revision.and_then(|r| r.text)
}
