//! The reader's search: a page of results (best first, each with the
//! words around its matches highlighted) and title suggestions as one
//! types (JSON, for the search box's list).

use std::collections::HashMap;

use checkpoints::Store;
use checkpoints::search::{MARK_END, MARK_START};
use maud::{Markup, html};

use super::links::{encode_title, page_url};
use super::pages::shell;

const RESULTS_A_PAGE: usize = 20;

pub(super) fn page(store: &Store, q: &HashMap<String, String>) -> anyhow::Result<Markup> {
    let typed = q.get("q").map(|s| s.trim()).unwrap_or_default();
    let wiki = q.get("wiki").map(String::as_str).filter(|w| !w.is_empty());
    let source: Option<i64> = q.get("source").and_then(|s| s.parse().ok());
    let start: usize = q.get("start").and_then(|s| s.parse().ok()).unwrap_or(0).min(10_000);
    // Pages unless a source is asked for; records unless a wiki is.
    let hits = if source.is_none() { store.search_pages(typed, wiki, RESULTS_A_PAGE + 1, start)? } else { Vec::new() };
    let records = if wiki.is_none() { store.search_records(typed, source, RESULTS_A_PAGE + 1, start)? } else { Vec::new() };
    let more_records = records.len() > RESULTS_A_PAGE;
    let more = hits.len() > RESULTS_A_PAGE;
    let wikis = store.wiki_names()?;
    let next = format!("/read/search?q={}&wiki={}&start={}", encode_title(typed), encode_title(wiki.unwrap_or("")), start + RESULTS_A_PAGE);
    Ok(shell(
        &format!("Search: {typed}"),
        wiki,
        html! {
            h1 { "Search" }
            form.filters action="/read/search" method="get" {
                input type="search" name="q" value=(typed) aria-label="Words";
                select name="wiki" aria-label="Wiki" {
                    option value="" { "All wikis" }
                    @for w in &wikis { option value=(w) selected[Some(w.as_str()) == wiki] { (w) } }
                }
                button type="submit" { "Search" }
            }
            @if typed.is_empty() {
                p { "Type words to find the pages that hold them all." }
            } @else if hits.is_empty() && records.is_empty() && start == 0 {
                p.none { "No page or record of the copy holds all of “" (typed) "”." }
            } @else if !hits.is_empty() || start > 0 {
                ol.results start=(start + 1) {
                    @for h in hits.iter().take(RESULTS_A_PAGE) {
                        li {
                            a.title href=(page_url(&h.wiki, &h.title)) { (h.title) }
                            @if wiki.is_none() { " " span.wiki { (h.wiki) } }
                            p.snippet { (highlight(&h.snippet)) }
                        }
                    }
                }
                @if more { p { a href=(next) { "More results ›" } } }
            }
            @if !records.is_empty() {
                h2 { "Records" }
                ol.records start=(start + 1) {
                    @for r in records.iter().take(RESULTS_A_PAGE) {
                        li {
                            a.title href=(super::records::record_url(r.source_id, &r.identifier)) { (r.title.as_deref().unwrap_or(&r.identifier)) }
                            " " span.wiki { (r.base_url) }
                            p.snippet { (highlight(&r.snippet)) }
                        }
                    }
                }
                @if more_records && hits.len() <= RESULTS_A_PAGE { p { a href=(format!("{next}&source={}", source.map(|s| s.to_string()).unwrap_or_default())) { "More records ›" } } }
            }
        },
    ))
}

/// A snippet with its matches in `<mark>`, everything else as text, the
/// wikitext's brackets and quote marks left out. Pure.
pub(super) fn highlight(snippet: &str) -> Markup {
    let mut tidy = snippet.to_string();
    for markup in ["[[", "]]", "{{", "}}", "'''", "''"] {
        tidy = tidy.replace(markup, "");
    }
    html! {
        @for (i, part) in tidy.split([MARK_START, MARK_END]).enumerate() {
            @if i % 2 == 1 { mark { (part) } } @else { (part) }
        }
    }
}

#[derive(serde::Serialize)]
pub(super) struct Suggested {
    title: String,
    wiki: String,
    url: String,
}

pub(super) fn suggest(store: &Store, q: &HashMap<String, String>) -> anyhow::Result<Vec<Suggested>> {
    let typed = q.get("q").map(String::as_str).unwrap_or_default();
    let wiki = q.get("wiki").map(String::as_str).filter(|w| !w.is_empty());
    Ok(store.suggest_titles(typed, wiki, 10)?.into_iter().map(|s| Suggested { url: page_url(&s.wiki, &s.title), title: s.title, wiki: s.wiki }).collect())
}
