//! The reader's pages: the list of wikis, a wiki's titles, a page (its
//! rendering, else its text), its history and older texts, and files.

use std::collections::HashMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use checkpoints::{Store, StoredPage};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::html as clean;
use super::links::{encode_title, page_url};

/// Every page of the reader: the bar with the search box, then `body`.
pub(super) fn shell(title: &str, wiki: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — oai-mirror reader" }
                link rel="stylesheet" href="/read/static/reader.css";
                script src="/read/static/reader.js" defer {}
            }
            body {
                header {
                    nav {
                        a href="/read/" { "Reader" }
                        @if let Some(w) = wiki { " › " a href=(format!("/read/{}/", encode_title(w))) { (w) } }
                    }
                    form.search action="/read/search" method="get" role="search" {
                        input type="search" name="q" placeholder="Search the copy" autocomplete="off" list="suggestions" aria-label="Search";
                        datalist #suggestions {}
                        @if let Some(w) = wiki { input type="hidden" name="wiki" value=(w); }
                        button type="submit" { "Search" }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A page saying one thing.
pub(super) fn message(title: &str, text: &str) -> Markup {
    shell(title, None, html! { h1 { (title) } p { (text) } })
}

pub(super) fn index(store: &Store) -> anyhow::Result<Markup> {
    let wikis = store.wiki_names()?;
    let mut rows = Vec::new();
    for w in &wikis {
        let (pages, rendered) = store.render_status(w)?;
        rows.push((w, pages, rendered));
    }
    Ok(shell(
        "Reader",
        None,
        html! {
            h1 { "The copies in this store" }
            @if rows.is_empty() { p { "No wiki is mirrored in this store yet: `oai-mirror mirror NAME` makes a copy." } }
            ul.wikis {
                @for (w, pages, rendered) in &rows {
                    li { a href=(format!("/read/{}/", encode_title(w))) { (w) } " — " (pages) " pages, " (rendered) " rendered" }
                }
            }
            p { a href="/read/records/" { "Harvested records" } }
        },
    ))
}

const TITLES_A_PAGE: usize = 200;

pub(super) fn wiki_index(store: &Store, wiki: &str, from: Option<&str>) -> anyhow::Result<(StatusCode, Markup)> {
    if !store.has_wiki(wiki)? {
        return Ok((StatusCode::NOT_FOUND, message("No such wiki", &format!("This store holds no wiki named {wiki:?}."))));
    }
    let mut titles = store.page_titles(wiki, from.unwrap_or(""), TITLES_A_PAGE + 1)?;
    // The one past this page is where the next begins.
    let next = if titles.len() > TITLES_A_PAGE { titles.pop() } else { None };
    Ok((
        StatusCode::OK,
        shell(
            wiki,
            Some(wiki),
            html! {
                h1 { (wiki) }
                ul.titles { @for t in &titles { li { a href=(page_url(wiki, t)) { (t) } } } }
                @if let Some(n) = next { p { a href=(format!("/read/{}/?from={}", encode_title(wiki), encode_title(&n))) { "Next pages from " (n) " ›" } } }
            },
        ),
    ))
}

/// A title as stored: as asked, else with its first letter upper case
/// (MediaWiki's default `$wgCapitalLinks`).
fn find(store: &Store, wiki: &str, title: &str) -> anyhow::Result<Option<StoredPage>> {
    let live = |t: &str| -> anyhow::Result<Option<StoredPage>> { Ok(store.wiki_page_by_title(wiki, t)?.filter(|p| !p.deleted && !p.displaced)) };
    if let Some(p) = live(title)? {
        return Ok(Some(p));
    }
    let mut chars = title.chars();
    match chars.next() {
        Some(c) if !c.is_uppercase() => live(&format!("{}{}", c.to_uppercase(), chars.as_str())),
        _ => Ok(None),
    }
}

pub(super) fn page(store: &Store, wiki: &str, title: &str, q: &HashMap<String, String>) -> anyhow::Result<(StatusCode, Markup)> {
    if !store.has_wiki(wiki)? {
        return Ok((StatusCode::NOT_FOUND, message("No such wiki", &format!("This store holds no wiki named {wiki:?}."))));
    }
    let Some(mut page) = find(store, wiki, title)? else {
        let body = html! {
            h1 { (title) }
            p.absent { "This page is not in this copy: the wiki does not have it, or it is outside what is mirrored." }
            p { a href=(format!("/read/search?wiki={}&q={}", encode_title(wiki), encode_title(title))) { "Search the copy for “" (title) "”" } }
        };
        return Ok((StatusCode::NOT_FOUND, shell(title, Some(wiki), body)));
    };
    if q.contains_key("history") {
        return Ok((StatusCode::OK, history(store, wiki, &page, q.get("before").and_then(|b| b.parse().ok()))?));
    }
    if let Some(oldid) = q.get("oldid").and_then(|o| o.parse::<u64>().ok()) {
        return old_text(store, wiki, &page, oldid);
    }
    // A redirect is followed once, and says so (as the wiki shows it).
    let mut from = None;
    if let Some(target) = page.redirect.clone().filter(|_| !q.contains_key("redirect"))
        && let Some(to) = find(store, wiki, &target)?
    {
        from = Some(page.title.clone());
        page = to;
    }
    let rendering = store.rendering(wiki, page.pageid)?;
    let revision = match page.rev_id {
        Some(r) => store.wiki_revision(wiki, r)?,
        None => None,
    };
    let heading = match &rendering {
        Some(r) => PreEscaped(clean::clean_inline(&r.display_title)),
        None => PreEscaped(maud::html! { (page.title) }.into_string()),
    };
    let content = match &rendering {
        Some(r) => {
            let present = store.present_titles(wiki, &clean::linked_titles(&r.html))?;
            PreEscaped(clean::clean(&r.html, wiki, present, clean::Addresses::Reader))
        }
        None => PreEscaped(
            html! {
                p.note { "This page is not rendered in the copy yet (the mirror renders pages with render = true); its wikitext:" }
                pre.wikitext { (revision.as_ref().map(|r| r.text.as_str()).unwrap_or_default()) }
            }
            .into_string(),
        ),
    };
    let body = html! {
        h1 #title { (heading) }
        @if let Some(f) = &from { p.redirected { "(Redirected from " a href=(format!("{}?redirect=no", page_url(wiki, f))) { (f) } ")" } }
        article { (content) }
        @if let Some(r) = &rendering {
            @if !r.categories.is_empty() {
                p.categories { "Categories: " @for (i, c) in r.categories.iter().enumerate() { @if i > 0 { " · " } a href=(page_url(wiki, &format!("Category:{c}"))) { (c) } } }
            }
        }
        footer {
            @if let Some(r) = &revision {
                "Revision " a href=(format!("{}?oldid={}", page_url(wiki, &page.title), r.revid)) { (r.revid) } " by " span.user { (r.user) } " at " (r.timestamp) " · "
            }
            a href=(format!("{}?history", page_url(wiki, &page.title))) { "History" }
        }
    };
    Ok((StatusCode::OK, shell(&page.title, Some(wiki), body)))
}

const REVISIONS_A_PAGE: usize = 100;

fn history(store: &Store, wiki: &str, page: &StoredPage, before: Option<u64>) -> anyhow::Result<Markup> {
    let mut revisions = store.revision_list(wiki, page.pageid, before, REVISIONS_A_PAGE + 1)?;
    let more = revisions.len() > REVISIONS_A_PAGE;
    revisions.truncate(REVISIONS_A_PAGE);
    let url = page_url(wiki, &page.title);
    Ok(shell(
        &format!("History of {}", page.title),
        Some(wiki),
        html! {
            h1 { "History of " a href=(url) { (page.title) } }
            table.history {
                thead { tr { th { "Revision" } th { "Time" } th { "Author" } th { "Summary" } } }
                tbody {
                    @for r in &revisions {
                        tr {
                            td { a href=(format!("{url}?oldid={}", r.revid)) { (r.revid) } @if r.minor { " m" } }
                            td { (r.timestamp) }
                            td.user { (r.user) }
                            td { (r.comment) }
                        }
                    }
                }
            }
            @if more { @if let Some(last) = revisions.last() { p { a href=(format!("{url}?history&before={}", last.revid)) { "Older revisions ›" } } } }
        },
    ))
}

fn old_text(store: &Store, wiki: &str, page: &StoredPage, oldid: u64) -> anyhow::Result<(StatusCode, Markup)> {
    let url = page_url(wiki, &page.title);
    let Some(r) = store
        .wiki_revision(wiki, oldid)?
        .filter(|_| store.revision_list(wiki, page.pageid, Some(oldid + 1), 1).is_ok_and(|l| l.first().is_some_and(|f| f.revid == oldid)))
    else {
        return Ok((
            StatusCode::NOT_FOUND,
            shell(&page.title, Some(wiki), html! { h1 { (page.title) } p.absent { "This copy has no revision " (oldid) " of this page." } }),
        ));
    };
    Ok((
        StatusCode::OK,
        shell(
            &page.title,
            Some(wiki),
            html! {
                h1 { a href=(url) { (page.title) } }
                p.revision { "Revision " (r.revid) " by " span.user { (r.user) } " at " (r.timestamp) @if !r.comment.is_empty() { ": " i { (r.comment) } } " · " a href=(format!("{url}?history")) { "History" } }
                pre.wikitext { (r.text) }
            },
        ),
    ))
}

/// A file's current stored version, streamed; in a sandbox of its own
/// (an SVG opened by itself runs nothing). `None`: the copy does not hold it.
pub(super) fn file(files_dir: Option<&std::path::Path>, store: &Store, wiki: &str, name: &str) -> anyhow::Result<Option<Response>> {
    let Some(page) = find(store, wiki, &format!("File:{name}"))? else { return Ok(None) };
    let versions = store.file_versions(wiki, page.pageid)?;
    let Some(current) = versions.iter().find(|v| v.version.state == checkpoints::FileState::Stored) else { return Ok(None) };
    let blobs = crate::mirror::files::blobs(store, files_dir)?;
    let path = blobs.path(&current.version.sha1)?;
    let Ok(f) = std::fs::File::open(&path) else { return Ok(None) };
    let stream = futures_util::stream::unfold(tokio::fs::File::from_std(f), |mut f| async move {
        let mut buf = vec![0u8; 64 * 1024];
        match tokio::io::AsyncReadExt::read(&mut f, &mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), f))
            }
            Err(e) => Some((Err(e), f)),
        }
    });
    let mime = HeaderValue::from_str(&current.version.mime).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut r = axum::body::Body::from_stream(stream).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, mime);
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(current.version.size));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(Some(r))
}
